"""The shop as two gunicorn servers of two workers each on one database, sharing Redis, as several hosts run it.

Twelve shoppers race for five lanterns across both servers; Stripe's signed webhooks pay the five,
each event delivered to both servers at once and then again; the workers' own email senders and
two `send-emails` sweeps deliver at the same time; wrong passwords spread over both servers trip one
limit; a login, a cart and the owner's settings made on one server are there on the other's very
next request. Needs Redis on 127.0.0.1:6379 (it skips, saying so, without it).
"""
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order, OrderStatus, OutboxEmail, PaymentEvent, PaymentStatus, StockMovement
from shop.services.mail import deliver_pending
from shop.services.store_settings import SHARED_KEY
from tests.concurrency import all_at_once
from tests.conftest import POSTGRES_URL
from tests.factories import DEFAULT_PASSWORD, make_product, make_user, stock
from tests.plugins.stripe import SECRET_KEY, WEBHOOK_SECRET, signed_webhook
from tests.shopper_http import HttpShopper, hidden_fields

REDIS_URL = "redis://127.0.0.1:6379/11"
STOCK = 5
SHOPPERS = 12
SWEEPS = 2  # `send-emails` run beside the servers' own senders
SETTINGS = {
    "shop_name": "Trail & Tide", "contact_email": "help@trail.example", "address": "12 Harbour Street",
    "order_notify_emails": "orders@trail.example", "reservation_minutes": "45", "staff_refund_limit_cents": "100.00",
    "low_stock_threshold": "2", "low_stock_notify_emails": "stock@trail.example",
}
TIMEOUT = 30

# Two servers stand for two hosts, which can only share a Postgres database; SQLite's processes on one
# host share its file, as tests/integration/test_checkout_under_load.py shows.
pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="several hosts share a Postgres database, not SQLite")


@pytest.fixture
def shared_redis():
    """Return (the SHOP_* settings keeping limits and caches in the local Redis, a function listing its limit keys)."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({error}); start redis-server to run this test")
    prefix = f"shop-test-{uuid.uuid4().hex}"
    settings_key = "shop:" + SHARED_KEY
    client.delete(settings_key)
    settings = {"SHOP_RATELIMIT_STORAGE_URI": REDIS_URL, "SHOP_RATELIMIT_KEY_PREFIX": prefix,
                "SHOP_CACHE_URL": REDIS_URL}
    yield settings, lambda: [key.decode() for key in client.scan_iter(match=f"*{prefix}*")]
    for key in [*client.scan_iter(match=f"*{prefix}*"), settings_key]:
        client.delete(key)
    client.close()


@pytest.fixture
def two_servers(app, gunicorn_shop, stripe_api, shared_redis):
    """Start two gunicorn servers of two workers each on the test database, in Stripe mode, sharing Redis."""
    settings, _ = shared_redis
    env = {**settings, "SHOP_STRIPE_SECRET_KEY": SECRET_KEY, "SHOP_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
           "SHOP_STRIPE_API_BASE": stripe_api.url,
           # Without the shared cache each process would keep its copy of the settings this long.
           "SHOP_SETTINGS_CACHE_SECONDS": "300"}
    with ThreadPoolExecutor(2) as starting:  # side by side, as each waits for its workers to load the app
        one, two = starting.map(lambda _: gunicorn_shop(workers=2, env=env), range(2))
    yield one, two
    with ThreadPoolExecutor(2) as stopping:  # and stopped side by side, before gunicorn_shop would, one by one
        list(stopping.map(lambda server: server.stop(), (one, two)))


def log_in(http: requests.Session, base_url: str, email: str, password: str = DEFAULT_PASSWORD) -> int:
    fields = hidden_fields(http.get(base_url + "/auth/login", timeout=TIMEOUT).text, "/auth/login")
    return http.post(base_url + "/auth/login", data={**fields, "email": email, "password": password},
                     allow_redirects=False, timeout=TIMEOUT).status_code


def unsent() -> int:
    db.session.commit()  # a fresh snapshot: the servers and the sweeps wrote
    return db.session.scalar(sa.select(sa.func.count()).where(OutboxEmail.sent_at.is_(None))) or 0


def test_two_servers_keep_every_guarantee_between_them(app, two_servers, shared_redis, stripe_api, shipping_methods,
                                                       mail_outbox):
    lantern = make_product("Storm Lantern", price_cents=3500, stock=STOCK)
    wick = make_product("Spare Wick", price_cents=500, stock=50)
    for email in ("ann@example.com", "victim@example.com"):
        make_user(email)
    make_user("owner@example.com", is_admin=True)
    db.session.commit()
    lantern_id, wick_id = lantern.variants[0].id, wick.variants[0].id
    one, two = two_servers
    _, limit_keys = shared_redis

    # A login and a cart made on one server hold on the other: the session is the signed cookie.
    ann = HttpShopper(one.url, "ann@example.com")
    assert log_in(ann.http, one.url, "ann@example.com") == 302
    ann.add_to_cart(wick.slug, wick_id, 2)
    account = ann.http.get(two.url + "/account", allow_redirects=False, timeout=TIMEOUT)
    assert account.status_code == 200 and "ann@example.com" in account.text
    cart = ann.http.get(two.url + "/cart", timeout=TIMEOUT).text
    assert f'id="quantity-{wick_id}" type="number" name="quantity" value="2"' in cart

    # The owner saves the settings on one server; the other shows them on its very next requests
    # (each of its workers), though it had read the old ones and SETTINGS_CACHE_SECONDS is 300.
    visitor = requests.Session()
    assert "<h2>Shop</h2>" in visitor.get(two.url + "/", timeout=TIMEOUT).text
    owner = requests.Session()
    assert log_in(owner, one.url, "owner@example.com") == 302
    form = hidden_fields(owner.get(one.url + "/admin/settings", timeout=TIMEOUT).text)
    saved = owner.post(one.url + "/admin/settings", data={**form, **SETTINGS}, allow_redirects=False, timeout=TIMEOUT)
    assert saved.status_code == 302, saved.text
    for _ in range(4):
        assert "<h2>Trail &amp; Tide</h2>" in visitor.get(two.url + "/", timeout=TIMEOUT).text

    # Twelve shoppers, half on each server, place their orders for the five lanterns at one moment.
    shoppers = [HttpShopper((one, two)[index % 2].url, f"buyer{index}@example.com") for index in range(SHOPPERS)]

    def buy(index: int, together) -> str:
        shopper = shoppers[index]
        shopper.add_to_cart(lantern.slug, lantern_id, 1)
        together()
        placed = shopper.place_order()
        location = placed.headers.get("Location", "")
        if placed.status_code == 303 and location.startswith(stripe_api.url + "/c/pay/"):
            return location.rsplit("/", 1)[1]
        return "refused" if placed.status_code == 302 else f"error {placed.status_code}"

    outcomes = all_at_once(SHOPPERS, buy)
    sessions = [outcome for outcome in outcomes if str(outcome).startswith("cs_")]
    assert len(sessions) == STOCK and outcomes.count("refused") == SHOPPERS - STOCK, outcomes

    # Stripe says each is paid: every event goes to both servers at the same moment, and once more.
    deliveries = []
    for index, session_id in enumerate(sessions):
        stripe_api.mark_paid(session_id)
        body, headers = signed_webhook(stripe_api.event(session_id, "checkout.session.completed"))
        first, second = (one, two) if index % 2 else (two, one)
        deliveries += [(first, body, headers), (second, body, headers), (second, body, headers)]
    webhooks_done = threading.Event()

    def sweep(index: int, together) -> int:
        with app.app_context():
            together()
            sent = 0
            try:
                while True:
                    finished = webhooks_done.is_set()  # one more run after the last webhook
                    sent += deliver_pending()[0]
                    if finished:
                        return sent
                    time.sleep(0.05)
            finally:
                db.session.remove()

    swept: list = []
    sweeps = threading.Thread(target=lambda: swept.extend(all_at_once(SWEEPS, sweep)))
    sweeps.start()

    def deliver(index: int, together) -> int:
        server, body, headers = deliveries[index]
        together()
        return requests.post(server.url + "/checkout/webhook", data=body, headers=headers, timeout=TIMEOUT).status_code

    answers = all_at_once(len(deliveries), deliver)
    webhooks_done.set()
    sweeps.join(timeout=TIMEOUT)
    assert answers == [200] * len(deliveries), f"{answers}\n{one.log()[-3000:]}\n{two.log()[-3000:]}"
    assert not sweeps.is_alive() and all(isinstance(sent, int) for sent in swept), swept

    # Exactly five paid, the stock never below nothing, each event applied once.
    db.session.commit()
    orders = db.session.scalars(sa.select(Order).execution_options(populate_existing=True)).all()
    paid = sorted(order.payment_reference for order in orders if order.payment_status == PaymentStatus.PAID)
    assert paid == sorted(sessions)
    assert all(order.status == OrderStatus.PAID for order in orders if order.payment_reference in sessions)
    assert stock(lantern_id) == 0
    moves = db.session.scalars(sa.select(StockMovement.delta).where(StockMovement.variant_id == lantern_id)
                               .order_by(StockMovement.id)).all()
    levels = [STOCK + sum(moves[:count]) for count in range(1, len(moves) + 1)]
    assert moves == [-1] * STOCK and min(levels) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PaymentEvent)) == STOCK

    # Every email went exactly once, whichever sender took it: the SMTP server saw each row once.
    deadline = time.monotonic() + TIMEOUT  # a worker's sender may still be at it
    while unsent() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert unsent() == 0
    queued = Counter((email.recipient, email.subject) for email in db.session.scalars(sa.select(OutboxEmail)))
    assert Counter((message["To"], message["Subject"]) for message in mail_outbox) == queued
    paid_orders = [order for order in orders if order.payment_reference in sessions]
    confirmations = sorted((to, subject) for to, subject in queued.elements() if subject.startswith("Your order"))
    assert confirmations == sorted((order.email, f"Your order {order.number}") for order in paid_orders)
    notices = sorted(subject.split(":")[0] for to, subject in queued.elements() if to == "orders@trail.example")
    assert notices == sorted(f"New order {order.number}" for order in paid_orders)

    # Wrong passwords for one account, alternating between the servers, trip one shared limit.
    guesser = requests.Session()
    answers = [log_in(guesser, (one, two)[attempt % 2].url, "victim@example.com", "wrong guess!")
               for attempt in range(8)]
    assert answers == [200] * 5 + [429] * 3, "LOGIN_LIMIT_PER_ACCOUNT is 5 a minute, whichever server counts"
    # The other forms' limits count in Redis too (the checkout's were counted by the race above).
    for path in ("/auth/reset", "/auth/register"):
        fields = hidden_fields(guesser.get(one.url + path, timeout=TIMEOUT).text, path)
        guesser.post(two.url + path, data={**fields, "email": "nobody@example.com"}, timeout=TIMEOUT)
    scopes = ("login-account", "login-ip", "checkout-ip", "checkout-email", "reset-ip", "reset-account", "register-ip")
    assert [scope for scope in scopes if not any(scope in key for key in limit_keys())] == [], limit_keys()

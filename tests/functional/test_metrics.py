"""/metrics: off without SHOP_METRICS_TOKEN, then only for its bearer; request counts and the shop's figures."""
from datetime import timedelta

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from shop.extensions import db
from shop.models import Order, OutboxEmail
from shop.models.base import now_utc
from shop.services.mail import MAX_ATTEMPTS, deliver_pending
from shop.services.orders import expire_order, place_order, record_payment
from tests.factories import make_order, make_product

TOKEN = "metrics-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def app_overrides():
    return {"METRICS_TOKEN": TOKEN}


def scrape(client) -> dict[tuple, float]:
    """Return every sample of /metrics as {(name, sorted labels): value}, parsed as Prometheus parses it."""
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200, response.get_data(as_text=True)
    families = list(text_string_to_metric_families(response.get_data(as_text=True)))
    names = [family.name for family in families]
    assert len(names) == len(set(names)), "a metric family appears twice"
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in families for sample in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.parametrize("app_overrides", [{}])
def test_metrics_are_off_without_a_token(client):
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 404
    assert response.get_data() == client.get("/no-such-page").get_data(), "it looks like any missing page"


@pytest.mark.parametrize("headers, status", [
    ({}, 401),
    ({"Authorization": f"Basic {TOKEN}"}, 401),
    ({"Authorization": "Bearer "}, 401),
    ({"Authorization": "Bearer not-the-token"}, 403),
    ({"Authorization": f"Bearer {TOKEN}x"}, 403),
    ({"Authorization": "Bearer caf\u00e9"}, 403),  # Latin-1 in a header: refused, not a 500
])
def test_metrics_need_the_bearer_token(client, headers, status):
    response = client.get("/metrics", headers=headers)
    assert response.status_code == status
    assert "shop_http_requests_total" not in response.get_data(as_text=True)
    if status == 401:
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_metrics_answer_the_bearer_in_prometheus_text_uncached_and_without_a_cookie(client):
    response = client.get("/metrics", headers={"Authorization": f"bearer  {TOKEN} "})
    assert response.status_code == 200
    assert response.mimetype == "text/plain" and "version=0.0.4" in response.headers["Content-Type"]
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert "# TYPE shop_http_request_duration_seconds histogram" in response.get_data(as_text=True)


def test_requests_are_counted_per_endpoint_method_and_status_class(client):
    make_product("Mug")
    db.session.commit()
    before = scrape(client)
    client.get("/")
    client.get("/")
    client.get("/no-such-page")
    client.get("/another/missing/page?x=1")
    client.open("/", method="BREW")
    client.post("/checkout/webhook", data=b"{}", headers={"Stripe-Signature": "t=1,v1=forged"}, csrf=False)
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("shop_http_requests_total", endpoint="catalog.home", method="GET", status="2xx") == 2
    assert moved("shop_http_request_duration_seconds_count", endpoint="catalog.home", method="GET") == 2
    assert moved("shop_http_request_duration_seconds_bucket", endpoint="catalog.home", method="GET", le="+Inf") == 2
    assert moved("shop_http_request_duration_seconds_sum", endpoint="catalog.home", method="GET") > 0
    # Every unknown path shares one label: a scanner cannot grow the metrics without bound.
    assert moved("shop_http_requests_total", endpoint="unmatched", method="GET", status="4xx") == 2
    assert moved("shop_http_requests_total", endpoint="unmatched", method="other", status="4xx") == 1
    assert moved("shop_http_requests_total", endpoint="checkout.webhook", method="POST", status="4xx") == 1
    assert moved("shop_webhook_failures_total", outcome="rejected") == 1
    assert moved("shop_webhook_failures_total", outcome="error") == 0
    assert moved("shop_http_requests_total", endpoint="metrics", method="GET", status="2xx") == 1
    assert not [key for key in after if "no-such-page" in str(key) or "missing" in str(key)]


@pytest.fixture
def lamp(app, shipping_methods):
    variant = make_product("Desk Lamp", price_cents=4500, stock=20).variants[0]
    db.session.commit()
    return variant.id


def place(lamp, details, quantity: int, email: str) -> tuple[int, int]:
    order = place_order({lamp: quantity}, details(email=email), user_id=None)
    return order.id, order.total_cents


def pay(order_id: int, total: int) -> None:
    record_payment(order_id, amount_cents=total, currency="usd", reference=f"test_{order_id}", provider="test")


def queue_email(created_minutes_ago: int, due_minutes_ago: int, attempts: int = 0) -> None:
    now = now_utc()
    db.session.add(OutboxEmail(recipient="shopper@example.com", subject="Your order", body_text="", body_html="",
                               created_at=now - timedelta(minutes=created_minutes_ago),
                               next_attempt_at=now - timedelta(minutes=due_minutes_ago), attempts=attempts))
    db.session.commit()


def test_the_shops_figures_come_from_the_database_exactly_in_four_statements(
        app, client, admin, lamp, details, count_queries):
    prometheus = app.test_client()  # no cookie, as a scraper
    with count_queries() as statements:
        empty = scrape(prometheus)
    assert len(statements) == 4, statements
    assert value(empty, "shop_orders_paid_total", currency="usd") == 0
    assert value(empty, "shop_outbox_oldest_queued_age_seconds") == 0

    one, one_total = place(lamp, details, 1, "one@example.com")  # 45.00 + 5.99 shipping
    two, two_total = place(lamp, details, 2, "two@example.com")  # 90.00, free shipping over 75.00
    assert (one_total, two_total) == (5099, 9000)
    pay(one, one_total)
    pay(two, two_total)
    refund = client.post(f"/admin/orders/{two}/refund",
                         data={"amount": "12.50", "reason": "Scratched", "token": "refund-1", "confirmed": "yes"})
    assert refund.status_code == 302
    make_order(status="paid", payment_status="paid", currency="eur")  # 19.99, from before a change of currency
    place(lamp, details, 3, "holding@example.com")
    overdue, _ = place(lamp, details, 1, "overdue@example.com")
    expired, _ = place(lamp, details, 4, "expired@example.com")
    expire_order(expired)
    db.session.execute(sa.update(Order).where(Order.id == overdue).values(reserved_until=now_utc() - timedelta(1)))
    db.session.commit()
    deliver_pending()  # the confirmations go; only the emails below wait
    assert db.session.scalar(sa.select(sa.func.count()).where(OutboxEmail.sent_at.is_(None))) == 0
    queue_email(created_minutes_ago=180, due_minutes_ago=120)  # stuck
    queue_email(created_minutes_ago=10, due_minutes_ago=0)
    queue_email(created_minutes_ago=3000, due_minutes_ago=2000, attempts=MAX_ATTEMPTS)  # given up: not queued

    with count_queries() as statements:
        figures = scrape(prometheus)
    assert len(statements) == 4, statements
    assert value(figures, "shop_orders_paid_total", currency="usd") == 2
    assert value(figures, "shop_revenue_minor_units_total", currency="usd") == 5099 + 9000
    assert value(figures, "shop_orders_paid_total", currency="eur") == 1
    assert value(figures, "shop_revenue_minor_units_total", currency="eur") == 1999
    assert value(figures, "shop_refunds_total", currency="usd") == 1
    assert value(figures, "shop_refunded_minor_units_total", currency="usd") == 1250
    assert value(figures, "shop_refunds_total", currency="eur") == 0
    assert value(figures, "shop_outbox_emails_queued") == 2
    assert value(figures, "shop_outbox_emails_given_up") == 1
    assert 180 * 60 <= value(figures, "shop_outbox_oldest_queued_age_seconds") < 181 * 60
    assert value(figures, "shop_reservations_held", state="active") == 1
    assert value(figures, "shop_reserved_units", state="active") == 3
    assert value(figures, "shop_reservations_held", state="overdue") == 1
    assert value(figures, "shop_reserved_units", state="overdue") == 1

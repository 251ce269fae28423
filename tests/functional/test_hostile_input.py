"""Every route, fed hostile input by every kind of visitor, answers with a page or a 4xx: never a 500.

The sweep walks app.url_map, so a new route is covered the day it is added. It fills URL
parameters with hostile values and other shoppers' ids, and sends junk query strings and form
bodies (every field name of every form in shop/*/forms.py) as an anonymous visitor, a logged-in
shopper and an admin. Failures are collected and reported together, one line per request.
"""
import html
import importlib
import io
import logging
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from wtforms.fields.core import UnboundField

import shop
from shop.checkout.views import PLACED_ORDERS_KEY
from shop.extensions import db
from shop.models import Category, Coupon, Product, ProductImage, SavedItem, ShippingMethod, WishlistItem
from shop.services import passwords
from shop.services.accounts import make_reset_token
from shop.services.cart import write_cart
from tests import factories
from tests.factories import (
    DEFAULT_PASSWORD,
    make_address,
    make_brand,
    make_category,
    make_order,
    make_product,
    make_user,
)
from tests.images import png_bomb, png_bytes
from tests.plugins.stripe import WEBHOOK_SECRET, signed_webhook

PERSONAS = ["anonymous", "shopper", "admin"]
WEBHOOK = "/checkout/webhook"

# What a URL segment can be made to say; each is percent-encoded into the path as a browser would.
PATH_VALUES = [
    "0", "-1", str(2**31), str(2**63), str(-(2**63) - 1), "9" * 4400, "1e309", "NaN", "x" * 300, "../../etc/passwd",
    "\x00", "%00", "²", "💥", "' OR '1'='1", "<script>alert(1)</script>",
]

# Junk for every query and form field.
JUNK = [
    "", "x" * 100_000, "9" * 4400, "1e309", "-0", "NaN", "-1", "0", str(2**63), "\x00", "<script>alert(1)</script>",
    "' OR '1'='1'; --", "²", "💥", "../../etc/passwd", "//evil.example/",
]
# Front-end servers refuse request lines much over 4 KB (gunicorn: 4094 bytes), so a query
# string never carries the 100 KB values a form body can.
QUERY_JUNK = ["", "x" * 4000, "9" * 4400, "1e309", "-1", "0", str(2**63), "\x00", "²", "💥",
              "<script>alert(1)</script>", "' OR '1'='1'; --", "//evil.example/", "\\evil.example"]
# The values that have broken parsers and databases before, for one-field-at-a-time bodies.
SHARP_JUNK = ["x" * 100_000, str(2**63), "9" * 4400, "\x00", "²", "💥"]

# Names the views read from request.args, besides the form fields.
QUERY_NAMES = ["page", "sort", "q", "variant", "next", "session_id", "token", "attention"]


def _form_modules():
    """Yield every forms module: shop/<blueprint>/forms.py and each module of a forms package."""
    for module in pkgutil.walk_packages(shop.__path__, "shop."):
        parts = module.name.split(".")
        if parts[-1] == "forms" or (len(parts) > 1 and parts[-2] == "forms"):
            yield importlib.import_module(module.name)


def _form_field_names() -> list[str]:
    """Return every field name declared by a form class in the shop's forms modules."""
    names = {"csrf_token"}
    for module in _form_modules():
        for value in vars(module).values():
            if isinstance(value, type):
                names.update(name for name in dir(value) if isinstance(getattr(value, name, None), UnboundField))
    names.discard("csrf_token")  # the client sends a valid one; the CSRF test sends none
    return sorted(names)


FIELD_NAMES = _form_field_names()
PARAMETER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
DESTRUCTIVE = ("delete", "remove", "clear", "logout", "move_to_cart", "save_for_later")


@pytest.fixture
def app_overrides():
    # The sweep sends hundreds of failed logins; it tests the handlers, test_auth tests the limits.
    return {"LOGIN_LIMIT_PER_IP": "10000 per minute", "LOGIN_LIMIT_PER_ACCOUNT": "10000 per minute",
            "PASSWORD_RESET_LIMIT": "10000 per hour", "REGISTER_LIMIT": "10000 per hour"}


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Hash at argon2's lowest cost: the sweep posts hundreds of password forms to test their handling."""
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", hasher.hash("no account has this password"))
    monkeypatch.setattr(factories, "_default_hash", hasher.hash(DEFAULT_PASSWORD))


@pytest.fixture
def errors(app):
    """Collect the exceptions the 500 handler logs, to say what broke."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Collect(logging.ERROR)
    app.logger.addHandler(handler)
    yield records
    app.logger.removeHandler(handler)


@dataclass
class World:
    """Rows the sweep aims at: the persona's own and another shopper's."""

    owner_email: str
    product_slug: str
    category_slug: str
    variant_ids: list[int]
    product_id: int
    shipping_method_id: int
    own_address_id: int
    other_address_id: int
    own_order_id: int
    other_order_id: int
    own_order_number: str
    other_order_number: str
    own_reference: str
    other_reference: str
    own_saved_id: int
    other_saved_id: int
    own_wish_id: int
    other_wish_id: int
    reset_token: str
    media_file: str

    def path_values(self, endpoint: str, argument: str) -> list[str]:
        """Return real values for a URL parameter, the most useful first."""
        by_argument = {
            "address_id": [self.own_address_id, self.other_address_id],
            "order_id": [self.own_order_id, self.other_order_id],
            "saved_id": [self.own_saved_id, self.other_saved_id],
            "item_id": [self.own_wish_id, self.other_wish_id],
            "slug": ([self.category_slug, self.product_slug] if endpoint == "catalog.category"
                     else [self.product_slug, self.category_slug]),
            "number": [self.own_order_number, self.other_order_number],
            "reference": [self.own_reference, self.other_reference],
            "token": [self.reset_token],
            "filename": [self.media_file],
            "import_token": ["A" * 32],  # well formed, names no kept file: the import pages answer 404
            "variant_id": self.variant_ids,
            "product_id": [self.product_id],
            "category_id": [db.session.scalar(sa.select(Category.id).where(Category.slug == self.category_slug))],
            # The sweep's product's brand, once it has one; "1" finds nothing.
            "brand_id": [db.session.scalar(sa.select(Product.brand_id).where(Product.id == self.product_id)) or 1],
            "image_id": db.session.scalars(sa.select(ProductImage.id)
                                           .where(ProductImage.product_id == self.product_id)).all() or [1],
        }
        return [str(value) for value in by_argument.get(argument, ["1"])]

    def valid_bodies(self) -> dict[str, dict]:
        """Return a form body each key route accepts, to corrupt one field at a time."""
        address = {"full_name": "Sam Shopper", "line1": "1 High Street", "line2": "", "city": "Bristol",
                   "region": "", "region_other": "Avon", "postal_code": "BS1 4DJ", "country": "GB",
                   "phone": "0117 123", "is_default": "y"}
        return {
            "checkout.start": {"email": "sam@example.com", "name": "Sam Shopper", "line1": "1 High Street",
                               "line2": "", "city": "Bristol", "region": "", "region_other": "Avon",
                               "postal_code": "BS1 4DJ", "country": "GB", "phone": "",
                               "shipping_method": str(self.shipping_method_id), "coupon": "SAVE10",
                               "place": "Place order and pay"},
            "account.add_address": address,
            "account.edit_address": address,
            "account.index": {"name": "Sam Shopper", "email": self.owner_email, "current_password": ""},
            "account.password": {"current_password": "wrong password here", "password": "plum tangerine orbit",
                                 "confirm": "plum tangerine orbit"},
            "auth.register": {"email": "new@example.com", "name": "Nora New", "password": "plum tangerine orbit",
                              "confirm": "plum tangerine orbit"},
            "auth.login": {"email": "other@example.com", "password": "wrong password here", "remember": "y"},
            "auth.reset_request": {"email": "nobody@example.com"},
            "cart.add": {"variant_id": str(self.variant_ids[0]), "quantity": "1", "next": "/cart"},
            "cart.update": {"variant_id": str(self.variant_ids[0]), "quantity": "2"},
            "cart.remove": {"variant_id": str(self.variant_ids[1])},
            "cart.save_for_later": {"variant_id": str(self.variant_ids[1])},
            "cart.wishlist_add": {"product_id": str(self.product_id), "next": "/cart"},
            "checkout.test_payment": {"decline": "Decline"},
            "admin.inventory_adjust": {"mode": "delta", "quantity": "-1", "reason": "other", "note": "Shelf check",
                                       "next": "/admin/inventory?stock=low"},
            "admin.product_images_upload": {"alt": "Green tent, door open"},
            "admin.product_image_alt": {"alt": "Green tent, door open"},
            "admin.product_image_move": {"direction": "down"},
        }


def _persona_account(request, persona: str):
    if persona == "anonymous":
        owner = make_user("owner@example.com", name="Owen Owner")
        db.session.commit()
        return owner
    return request.getfixturevalue("user" if persona == "shopper" else "admin")


@pytest.fixture(params=PERSONAS)
def persona(request, app, client):
    """Log in as the persona (or not) and build the rows the sweep aims at; return (name, World)."""
    owner = _persona_account(request, request.param)
    category = make_category("Tents")
    product = make_product("Alpine Tent", category=category, stock=1000, brand=make_brand("Acme"),
                           variants=[{"size": "2P"}, {"size": "4P", "price_cents": 2999}])
    variant_ids = [variant.id for variant in product.variants]
    shipping = ShippingMethod(name="Standard", price_cents=599, position=0)
    db.session.add_all([shipping, Coupon(code="SAVE10", kind="percent", value=10)])
    other = make_user("other@example.com", name="Olga Other")
    other_address = make_address(other, is_default=True)
    other_order = make_order(other, product.variants[0])
    other_order.payment_reference = "test_other-order-reference"
    own_address = make_address(owner, is_default=True)
    own_order = make_order(owner, product.variants[0])
    own_order.payment_reference = "test_own-order-reference"
    lists = [SavedItem(user_id=owner.id, variant_id=variant_ids[0], quantity=1),
             SavedItem(user_id=other.id, variant_id=variant_ids[1], quantity=1),
             WishlistItem(user_id=owner.id, product_id=product.id),
             WishlistItem(user_id=other.id, product_id=product.id)]
    db.session.add_all(lists)
    db.session.flush()
    world = World(
        owner_email=owner.email, product_slug=product.slug, category_slug=category.slug,
        variant_ids=variant_ids, product_id=product.id, shipping_method_id=shipping.id,
        own_address_id=own_address.id, other_address_id=other_address.id,
        own_order_id=own_order.id, other_order_id=other_order.id,
        own_order_number=own_order.number, other_order_number=other_order.number,
        own_reference=own_order.payment_reference, other_reference=other_order.payment_reference,
        own_saved_id=lists[0].id, other_saved_id=lists[1].id, own_wish_id=lists[2].id, other_wish_id=lists[3].id,
        reset_token=make_reset_token(other), media_file="test/photo.png",
    )
    db.session.commit()
    media_file = Path(app.config["MEDIA_PATH"]) / world.media_file
    media_file.parent.mkdir(parents=True, exist_ok=True)
    media_file.write_bytes(b"\x89PNG\r\n")
    with client.session_transaction() as session:
        session[PLACED_ORDERS_KEY] = [own_order.id]
    return request.param, world


def _short(data) -> str:
    """Describe a request body or query briefly, abbreviating the huge values."""
    def brief(value):
        if isinstance(value, list):
            return [brief(item) for item in value]
        if isinstance(value, (str, bytes)) and len(value) > 60:
            return f"{value[:12]!r}…({len(value)} chars)"
        return value
    if isinstance(data, dict) and len(data) > 1 and len({repr(value) for value in data.values()}) == 1:
        return f"every field={brief(next(iter(data.values())))!r}"
    if isinstance(data, dict):
        return repr({key: brief(value) for key, value in data.items() if key != "csrf_token"})
    return repr(brief(data))


class Sweep:
    """Send requests as one persona and remember every one that answered with a 5xx."""

    def __init__(self, client, persona: str, world: World, errors: list):
        self.client, self.persona, self.world, self.errors = client, persona, world, errors
        self.failures: list[str] = []
        self.sent = 0
        with client.session_transaction() as session:
            write_cart(session, {world.variant_ids[0]: 1, world.variant_ids[1]: 1})
            self._session = dict(session)

    def send(self, method: str, url: str, data=None, query=None, **kwargs):
        self.sent += 1
        logged = len(self.errors)
        if query is not None:
            kwargs["query_string"] = query
        if method == "POST":
            response = self.client.post(url, data=data, **kwargs)
        else:
            response = self.client.open(url, method=method, **kwargs)
        # /readyz answers 503 by design: the test database is made by create_all, never "migrated to head".
        not_ready = url.startswith("/readyz") and response.status_code == 503
        if response.status_code >= 500 and not not_ready:
            cause = ""
            if len(self.errors) > logged and self.errors[-1].exc_info:
                kind, error, _ = self.errors[-1].exc_info
                cause = f" [{kind.__name__}: {str(error).splitlines()[0][:160]}]"
            self.failures.append(f"{self.persona}: {method} {url} query={_short(query)} data={_short(data)} "
                                 f"-> {response.status_code}{cause}")
        return response

    def restore_session(self):
        """Be the persona again, with a full cart: a request may have logged in, out, or emptied the cart."""
        with self.client.session_transaction() as session:
            session.clear()
            session.update(self._session)

    def report(self) -> str:
        return f"{len(self.failures)} of {self.sent} requests answered 5xx:\n" + "\n".join(self.failures)


def swept_rules(app):
    """Return (rule, methods) for every route but static, state-destroying ones last, logouts at the very end.

    A logout ends the login on the server, so the saved cookie cannot bring it back: routes swept
    after one would only ever see an anonymous visitor.
    """
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]
    rules.sort(key=lambda rule: ("logout" in rule.endpoint, any(word in rule.endpoint for word in DESTRUCTIVE),
                                 rule.rule))
    return [(rule, sorted(rule.methods - {"HEAD", "OPTIONS"})) for rule in rules]


def fill(rule, value_for) -> str:
    """Return the rule's URL with each parameter replaced by value_for(converter, argument), percent-encoded."""
    def replace(match):
        converter, argument = match.group(1) or "default", match.group(2)
        safe = "/" if converter == "path" else ""
        return quote(value_for(converter, argument), safe=safe)
    return PARAMETER.sub(replace, rule.rule)


def real_url(rule, world: World) -> str:
    return fill(rule, lambda converter, argument: world.path_values(rule.endpoint, argument)[0])


@pytest.fixture
def sweep(client, persona, errors):
    name, world = persona
    return Sweep(client, name, world, errors)


def test_hostile_url_parameters_never_cause_a_server_error(app, sweep):
    for rule, methods in swept_rules(app):
        if not rule.arguments:
            continue
        argument = next(iter(rule.arguments))
        sweep.restore_session()
        for value in PATH_VALUES + sweep.world.path_values(rule.endpoint, argument):
            url = fill(rule, lambda converter, name, value=value: value)
            for method in methods:
                sweep.send(method, url)
        if rule.rule.endswith("<path:filename>"):
            for raw in ("../../etc/passwd", "test/../../../etc/passwd", "..%2f..%2fetc%2fpasswd", "test/%00.png"):
                sweep.send("GET", rule.rule.replace("<path:filename>", raw))
    assert not sweep.failures, sweep.report()


def test_hostile_query_strings_never_cause_a_server_error(app, sweep):
    names = QUERY_NAMES + ["email", "variant_id", "quantity"]
    for rule, methods in swept_rules(app):
        if "GET" not in methods:
            continue  # the views read the query string only on routes that also answer GET
        url = real_url(rule, sweep.world)
        sweep.restore_session()
        for method in methods:
            for junk in QUERY_JUNK:
                sweep.send(method, url, query={name: junk for name in names})
            sweep.send(method, url, query={name: ["1", "x", ""] for name in names})
            sweep.send(method, url, query_string="page=%ff%fe&q=%ff&next=%00&sort=%c0%af&variant=%e2%82")
    assert not sweep.failures, sweep.report()


def test_hostile_form_bodies_never_cause_a_server_error(app, sweep):
    for rule, methods in swept_rules(app):
        if "POST" not in methods:
            continue
        url = real_url(rule, sweep.world)
        sweep.restore_session()
        for junk in JUNK:
            sweep.send("POST", url, data={name: junk for name in FIELD_NAMES})
        sweep.send("POST", url, data={name: ["1", "x", ""] for name in FIELD_NAMES})
        sweep.send("POST", url, data={name: ["2", "1"] for name in FIELD_NAMES})
        # Bytes that are not UTF-8, with a valid token, and a JSON body where a form is expected.
        token = sweep.client.csrf_token().encode()
        sweep.send("POST", url, data=b"csrf_token=" + token + b"&email=%ff%fe&quantity=%c0&variant_id=%e2%82",
                   content_type="application/x-www-form-urlencoded")
        sweep.send("POST", url, json={"variant_id": [1], "quantity": {"a": 1}, "email": None})
    assert not sweep.failures, sweep.report()


def test_valid_forms_with_one_hostile_field_never_cause_a_server_error(app, sweep):
    bodies = sweep.world.valid_bodies()
    for rule, methods in swept_rules(app):
        body = bodies.get(rule.endpoint)
        if body is None or "POST" not in methods:
            continue
        url = real_url(rule, sweep.world)
        sweep.restore_session()
        for field in body:
            for junk in SHARP_JUNK:
                sweep.send("POST", url, data={**body, field: junk})
            sweep.send("POST", url, data={**body, field: [body[field], "x"]})
    assert not sweep.failures, sweep.report()


def test_a_nul_byte_in_a_url_finds_nothing(client, persona):
    name, world = persona
    for url, status in ((f"/products/{world.product_slug}%00", 404), ("/orders/%00", 404),
                        (f"/orders/{world.own_order_number}%00", 404), ("/checkout/test-payment/test_%00", 404),
                        ("/checkout/success?session_id=%00", 404), ("/checkout/cancel?session_id=%00", 302)):
        assert client.get(url).status_code == status, f"{name}: {url}"
    page = client.get("/search?q=Alp%00ine").get_data(as_text=True)
    assert "Alpine Tent" in page, f"{name}: the search ignores the NUL and finds the tent"


def test_a_nul_byte_in_a_form_gets_a_message_and_stores_nothing(client, persona):
    name, world = persona
    before = _snapshot()
    checkout = world.valid_bodies()["checkout.start"]
    with client.session_transaction() as session:
        write_cart(session, {world.variant_ids[0]: 1})

    page = client.post("/checkout", data={**checkout, "line1": "1 High\x00Street"}).get_data(as_text=True)
    assert "This contains characters we cannot store." in page, name
    page = client.post("/checkout", data={**checkout, "coupon": "SAVE\x0010"}).get_data(as_text=True)
    assert "is not valid" in page, name
    assert client.post("/auth/reset", data={"email": "other@example.com\x00"}).status_code == 302
    assert _snapshot() == before, f"{name}: a form with a NUL byte changed the database"

    client.post("/auth/logout")
    page = client.post("/auth/login", data={"email": "\x00other@example.com", "password": DEFAULT_PASSWORD})
    assert "Incorrect email or password." in page.get_data(as_text=True), name


def test_any_page_number_shows_a_page(client, persona):
    name, world = persona
    for page in ("²", "٣", "9" * 4400, "-5", "1e309"):
        for url in ("/search?q=Tent", f"/categories/{world.category_slug}?x=1", "/account/orders?x=1",
                    "/admin/orders?x=1"):
            response = client.get(f"{url}&page={quote(page)}")
            assert response.status_code in (200, 302, 403), f"{name}: {url} page={_short(page)}"


def test_admin_order_ids_beyond_the_id_column_are_not_found(client, admin):
    for url in (f"/admin/orders/{2**31}", f"/admin/orders/{2**63}"):
        assert client.get(url).status_code == 404
        assert client.post(url + "/refund").status_code == 404
        assert client.post(url + "/fulfil").status_code == 404


def _snapshot() -> dict[str, list]:
    """Return every row of every table, to prove a request changed nothing."""
    db.session.commit()
    snapshot = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(sa.select(table)).all()
        snapshot[table.name] = sorted(repr(tuple(row)) for row in rows)
    return snapshot


def _session_state(client) -> dict:
    with client.session_transaction() as session:
        return {key: session.get(key) for key in ("_user_id", "cart", "cart_prices", PLACED_ORDERS_KEY)}


def test_posts_without_a_csrf_token_are_refused_and_change_nothing(app, client, persona):
    name, world = persona
    bodies = world.valid_bodies()
    with client.session_transaction() as session:
        write_cart(session, {world.variant_ids[0]: 1, world.variant_ids[1]: 1})
    before, session_before = _snapshot(), _session_state(client)
    accepted = []
    for rule, methods in swept_rules(app):
        if "POST" not in methods or rule.rule == WEBHOOK:
            continue
        url = real_url(rule, world)
        data = bodies.get(rule.endpoint, {"password": DEFAULT_PASSWORD})
        response = client.post(url, data=data, csrf=False)
        if response.status_code != 400:
            accepted.append(f"{name}: POST {url} without a CSRF token -> {response.status_code}")
        assert _snapshot() == before, f"{name}: POST {url} without a CSRF token changed the database"
        assert _session_state(client) == session_before, f"{name}: POST {url} without a CSRF token changed the session"
    assert not accepted, "\n".join(accepted)


def test_a_post_with_a_forged_csrf_token_is_refused(client, persona):
    name, world = persona
    before = _snapshot()
    for token in ("", "x" * 100_000, "\x00", "💥", "forged.token.value"):
        response = client.post("/cart/add", data={"csrf_token": token, "variant_id": world.variant_ids[0],
                                                   "quantity": 1})
        assert response.status_code == 400, f"{name}: csrf_token={_short(token)}"
    assert _snapshot() == before


WEBHOOK_BODIES = [
    b"", b"{}", b"null", b"[]", b"not json", b"\x00\xff\xfe", b'{"id": "evt_1", "type": "checkout.session.completed"}',
    b"x" * 100_000, '{"id": "💥"}'.encode(), b'{"id": 1e309}',
]
WEBHOOK_SIGNATURES = [
    None, "", "t=1,v1=abc", "t=-1,v1=" + "0" * 64, "t=99999999999999999999,v1=", "v1=abc", "t=abc,v1=abc",
    "\x00", "💥", "x" * 10_000, "t=1,v0=" + "0" * 64, ",,,=,=",
]


# Signed as Stripe signs, so only the event's shape is junk; each has its own id so none is a duplicate.
JUNK_EVENTS = [
    {"id": ["evt"], "type": ["checkout.session.completed"]},
    {"id": "evt_2", "type": "checkout.session.completed", "data": "not an object"},
    {"id": "evt_3", "type": "checkout.session.completed", "data": ["list"]},
    {"id": "evt_4", "type": "checkout.session.expired", "data": {"object": "not an object"}},
    {"id": "evt_5", "type": "checkout.session.async_payment_failed", "data": {"object": ["list"]}},
    {"id": "evt_6", "type": "checkout.session.completed", "data": {"object": {"id": 5, "metadata": "junk"}}},
    {"id": "evt_7", "type": "checkout.session.completed", "data": {"object": {
        "id": "cs_" + "x" * 300, "status": "complete", "payment_status": "paid", "amount_total": "1e309",
        "currency": None, "metadata": {"order_id": "\x00"}}}},
]


class TestWebhook:
    """The Stripe webhook answers junk with 400 and records nothing."""

    @pytest.fixture
    def app_overrides(self, stripe_api):
        return stripe_api.config

    def test_junk_bodies_and_signatures_are_refused_with_400(self, client):
        answers = []
        for body in WEBHOOK_BODIES:
            for signature in WEBHOOK_SIGNATURES:
                headers = {} if signature is None else {"Stripe-Signature": signature}
                try:
                    response = client.post(WEBHOOK, data=body, headers=headers, content_type="application/json",
                                           csrf=False)
                except ValueError:  # the client itself will not send a NUL in a header
                    continue
                if response.status_code != 400:
                    answers.append(f"body={_short(body)} Stripe-Signature={_short(signature)} "
                                   f"-> {response.status_code}")
        event = {"id": "evt_1", "type": "checkout.session.completed"}
        for body, headers in (signed_webhook(event, timestamp=1), signed_webhook(event, secret="whsec_forged")):
            if client.post(WEBHOOK, data=body, headers=headers, csrf=False).status_code != 400:
                answers.append(f"stale or forged signature {headers['Stripe-Signature']} was accepted")
        assert not answers, "\n".join(answers)
        assert _snapshot()["payment_events"] == []

    def test_signed_events_without_a_usable_id_are_refused_with_400(self, client):
        for payload in ({"type": "checkout.session.completed"}, {"id": "", "type": "checkout.session.completed"},
                        {"id": "x" * 300, "type": "checkout.session.completed"}, [], None, "evt_1", 5):
            body, headers = signed_webhook(payload)
            assert client.post(WEBHOOK, data=body, headers=headers, csrf=False).status_code == 400, payload
        assert _snapshot()["payment_events"] == []

    def test_signed_events_with_a_junk_session_never_cause_a_server_error(self, client, errors):
        for event in JUNK_EVENTS:
            body, headers = signed_webhook(event)
            response = client.post(WEBHOOK, data=body, headers=headers, csrf=False)
            assert response.status_code < 500, (event, errors[-1].exc_info if errors else None)


def test_the_webhook_without_a_secret_configured_refuses_junk_with_400(client):
    body, headers = signed_webhook({"id": "evt_1", "type": "checkout.session.completed"}, secret=WEBHOOK_SECRET)
    for data, extra in ((body, headers), (b"junk", {"Stripe-Signature": "t=1,v1=abc"}), (b"", {})):
        assert client.post(WEBHOOK, data=data, headers=extra, csrf=False).status_code == 400


def test_hostile_uploads_get_a_message_naming_the_file_and_leave_no_file(app, client, admin):
    product = make_product("Alpine Tent", images=0)
    db.session.commit()
    url = f"/admin/products/{product.id}/images"
    media = Path(app.config["MEDIA_PATH"])
    hostile = [(b"", "empty.jpg", "the file is empty"),
               (b"#!/bin/sh\nrm -rf /\n", "script.sh.png", "it is not a JPEG, PNG or WebP image"),
               (png_bomb(10_000, 6_000), "60-megapixels.png", "the image has too many pixels")]
    for content, filename, reason in hostile:
        response = client.post(url, data={"photos": [(io.BytesIO(content), filename)], "alt": "Tent"},
                               content_type="multipart/form-data")
        assert response.status_code == 422, filename
        assert f"“{filename}” was not saved: {reason}" in html.unescape(response.get_data(as_text=True))
        assert not [path for path in media.rglob("*") if path.is_file()], f"{filename} left a file behind"

    response = client.post(url, data={"photos": [(io.BytesIO(png_bytes()), "../../etc/passwd.png")], "alt": "Tent"},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    stored = [str(path.relative_to(media)) for path in media.rglob("*") if path.is_file()]
    assert len(stored) == 6 and all(re.fullmatch(r"uploads/[0-9a-f]{2}/[0-9a-f]{32}-\d+x\d+-\w+\.\w+", name)
                                    for name in stored), stored
    assert not (media.parent / "etc").exists()


HOSTILE_CATALOGUES = [
    (b"", "empty.csv"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "photo.csv"),
    ("sku,product_name\nA,B\n".encode("utf-16"), "utf16.csv"),
    (b"sku,product_slug\n\"never closed,x\n", "../../etc/passwd.csv"),
    (b"sku\n" + b"x" * 200_000 + b"\n", "one-huge-cell.csv"),
    (b",".join([b"c"] * 5000) + b"\n", "wide.csv"),
    (b"\xef\xbb\xbf" + ";".join(factories.CSV_ROW_DEFAULTS).encode() + b"\n" + b";".join([b"\x00"] * 20) + b"\n",
     "nul.csv"),
]


def test_hostile_catalogue_files_get_a_preview_or_a_message_never_a_server_error(client, admin, errors):
    junk_rows = [factories.csv_row(**{column: junk for column in factories.CSV_ROW_DEFAULTS})
                 for junk in JUNK if junk]
    junk_rows += [factories.csv_row(sku=f"J-{number}", stock=junk, price=junk, compare_at_price=junk,
                                    option1_value=f"{number}", product_slug="junk")
                  for number, junk in enumerate(["1e309", "NaN", str(2**63), "9" * 4400, "-0", "²", "٣"])]
    failures = []
    for content, name in [*HOSTILE_CATALOGUES, (factories.csv_file(junk_rows), "junk.csv")]:
        response = client.post("/admin/import-export/import", data={"file": (io.BytesIO(content), name)},
                               content_type="multipart/form-data")
        responses = [response]
        if response.status_code == 302:
            responses += [client.get(response.headers["Location"]), client.post(response.headers["Location"])]
        if any(answer.status_code >= 500 for answer in responses):
            failures.append(f"{name}: {[answer.status_code for answer in responses]} "
                            f"{errors[-1].exc_info if errors else ''}")
    assert not failures, "\n".join(failures)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) == 0

"""Every response carries the protective headers; every page keeps to a strict content security policy.

The sweep walks app.url_map, so a new page is covered the day it is added (and the test asks for
sample values when the new route has a URL parameter it does not know yet).
"""
import re
from pathlib import Path

import pytest
from flask import url_for

from shop.extensions import db
from shop.models import ContentPage, Coupon, ShippingMethod, TaxRate
from shop.services.accounts import make_reset_token
from shop.services.cart import write_cart
from shop.services.orders import order_token
from tests.factories import make_address, make_brand, make_category, make_order, make_product, make_user

PERSONAL_BLUEPRINTS = {"account", "auth", "cart", "checkout", "admin"}
REQUIRED_DIRECTIVES = {
    "default-src": "'self'", "object-src": "'none'", "base-uri": "'self'", "form-action": "'self'",
    "frame-ancestors": "'none'",
}
INLINE_CODE = [
    # JSON-LD is data the browser never runs, so the policy need not (and does not) allow it.
    (re.compile(r'<script(?![^>]*\b(?:src=|type="application/ld\+json"))[^>]*>', re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"<[^>]*\sstyle\s*=", re.I), "style= attribute"),
    (re.compile(r"<[^>]*\son[a-z]+\s*=", re.I), "inline event handler"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def policy(response) -> dict[str, str]:
    """Parse the Content-Security-Policy header into {directive: sources}."""
    header = response.headers.get("Content-Security-Policy", "")
    directives = (part.strip().split(None, 1) for part in header.split(";") if part.strip())
    return {parts[0]: parts[1] if len(parts) > 1 else "" for parts in directives}


def header_problems(response, blueprint: str | None) -> list[str]:
    """Say what is missing or weak in one response's headers and page."""
    problems = []
    csp = policy(response)
    for directive, source in REQUIRED_DIRECTIVES.items():
        if source not in csp.get(directive, "").split():
            problems.append(f"CSP {directive} lacks {source}: {csp.get(directive)!r}")
    header = response.headers.get("Content-Security-Policy", "")
    if "unsafe-inline" in header or "unsafe-eval" in header:
        problems.append(f"CSP allows unsafe code: {header}")
    expected = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}
    for name, value in expected.items():
        if response.headers.get(name) != value:
            problems.append(f"{name} is {response.headers.get(name)!r}")
    if response.headers.get("Referrer-Policy") not in ("strict-origin-when-cross-origin", "same-origin", "no-referrer"):
        problems.append(f"Referrer-Policy is {response.headers.get('Referrer-Policy')!r}")
    if "camera=()" not in response.headers.get("Permissions-Policy", ""):
        problems.append(f"Permissions-Policy is {response.headers.get('Permissions-Policy')!r}")
    if blueprint in PERSONAL_BLUEPRINTS and "no-store" not in response.headers.get("Cache-Control", ""):
        problems.append(f"personal page without Cache-Control: no-store ({response.headers.get('Cache-Control')!r})")
    if response.mimetype == "text/html":
        page = response.get_data(as_text=True)
        problems += [f"{what}: {match.group(0)[:80]!r}" for pattern, what in INLINE_CODE
                     for match in [pattern.search(page)] if match]
    return problems


@pytest.fixture
def world(app, client, admin):
    """A logged-in admin with an address, an order of their own, a filled cart and a product image."""
    category = make_category("Tents")
    product = make_product("Alpine Tent", category=category, stock=50, images=0)  # placeholders in the cart
    stove = make_product("Camp Stove", category=category, brand=make_brand("Acme"), images=1)
    method = ShippingMethod(name="Standard", price_cents=599, position=0)
    coupon = Coupon(code="SAVE10", kind="percent", value=10)
    rate = TaxRate(country="US", region="CA", rate_bp=725)
    page = ContentPage(slug="care-guide", title="Care guide", body="Wash **cold**.", is_published=True)
    db.session.add_all([method, coupon, rate, page])
    address = make_address(admin)
    order = make_order(variant=product.variants[0], email="admin@example.com")
    order.user_id = admin.id
    order.payment_reference = "test_own-order-reference"
    db.session.commit()
    media = Path(app.config["MEDIA_PATH"]) / "test" / "photo.png"
    media.parent.mkdir(parents=True, exist_ok=True)
    media.write_bytes(b"\x89PNG\r\n")
    with client.session_transaction() as session:
        write_cart(session, {product.variants[0].id: 1})
    return {
        "slug": {"catalog.category": category.slug, "catalog.product": product.slug, "pages.page": page.slug},
        "address_id": address.id, "order_id": order.id, "number": order.number,
        "reference": order.payment_reference,
        "filename": {"core.media": "test/photo.png", "static": "css/shop.css"},
        "token": make_reset_token(make_user("reset@example.com")),
        "category_id": category.id, "brand_id": stove.brand_id, "product_id": stove.id,
        "image_id": stove.images[0].id, "variant_id": product.variants[0].id, "import_token": "0" * 32,
        "file_number": 1, "review_id": 1, "user_id": admin.id, "role": "staff",
        "coupon_id": coupon.id, "method_id": method.id, "rate_id": rate.id, "page_id": page.id,
        "query": {"checkout.order_detail": {"token": order_token(order.number)},
                  "checkout.success": {"session_id": order.payment_reference}},
    }


def sample_url(app, rule, world) -> tuple[str, dict | None]:
    """Return a URL for the rule with this test's sample values, and its query string if it needs one.

    A static file's URL already carries its version (`?v=`).
    """
    values = {}
    for argument in rule.arguments:
        sample = world.get(argument)
        assert sample is not None, f"{rule.rule}: give test_security_headers a sample value for <{argument}>"
        values[argument] = sample[rule.endpoint] if isinstance(sample, dict) else sample
    with app.test_request_context():
        return url_for(rule.endpoint, **values), world["query"].get(rule.endpoint)


def test_every_page_sends_the_security_headers_and_keeps_to_the_policy(app, client, world):
    visitor = app.test_client()
    problems, pages = [], set()
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if "GET" not in rule.methods:
            continue
        url, query = sample_url(app, rule, world)
        blueprint = rule.endpoint.rpartition(".")[0] or None
        for who, browser in (("visitor", visitor), ("admin", client)):
            response = browser.get(url, query_string=query)
            problems += [f"GET {url} as {who} ({response.status_code}): {problem}"
                         for problem in header_problems(response, blueprint)]
            if response.mimetype == "text/html" and response.status_code == 200:
                pages.add(rule.endpoint)
    assert problems == []
    assert len(pages) >= 20, f"the sweep should see most pages rendered, saw only {sorted(pages)}"


def test_error_pages_and_refused_requests_send_the_headers_too(client):
    assert header_problems(client.get("/no-such-page"), None) == []
    assert header_problems(client.post("/auth/login", data={}, csrf=False), "auth") == []


def cart_with_a_mug(client, checkout_cart):
    variant_id = make_product("Mug", price_cents=1250, stock=5).variants[0].id
    db.session.add(ShippingMethod(name="Standard", price_cents=599, position=0))
    db.session.commit()
    checkout_cart({variant_id: 1})


@pytest.mark.parametrize("app_overrides", [{"STRIPE_SECRET_KEY": "sk_test_headers"}])
def test_in_stripe_mode_the_checkout_form_may_go_on_to_stripe_checkout(client, checkout_cart):
    cart_with_a_mug(client, checkout_cart)
    assert policy(client.get("/checkout"))["form-action"] == "'self' https://checkout.stripe.com"
    assert policy(client.get("/cart"))["form-action"] == "'self'"


def test_in_test_payment_mode_every_form_stays_on_the_shop(client, checkout_cart):
    cart_with_a_mug(client, checkout_cart)
    assert policy(client.get("/checkout"))["form-action"] == "'self'"


def test_an_order_link_with_its_token_is_not_handed_to_other_sites(client):
    # same-origin rather than no-referrer: over HTTPS, Flask-WTF refuses a form (the header's
    # logout button) posted without a Referer.
    order = make_order()
    db.session.commit()
    number, token = order.number, order_token(order.number)
    assert client.get(f"/orders/{number}?token={token}").headers["Referrer-Policy"] == "same-origin"
    assert client.get("/").headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_strict_transport_security_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.parametrize("app_overrides", [{"PROXY_FIX": True}])
def test_behind_the_proxy_https_is_recognised_from_x_forwarded_proto(client):
    secure = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_public_catalogue_pages_stay_cacheable(client):
    make_product("Mug")
    db.session.commit()
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
    assert "no-store" in client.get("/cart").headers["Cache-Control"]

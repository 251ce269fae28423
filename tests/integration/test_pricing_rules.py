"""Checkout's money rules against the database: coupon scope and per-customer limits, shipping zones, tax."""
import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Coupon, CouponKind, Order, Product, ShippingMethod, ShippingZone, TaxRate
from shop.services import ShopError
from shop.services.checkout import quote_cart, shipping_methods_for, tax_rule
from shop.services.lifecycle import SYSTEM
from shop.services.orders import expire_order, place_order, record_payment
from shop.services.refunds import cancel
from shop.services.stripe_gateway import checkout_session_params, expected_total
from tests.concurrency import all_at_once
from tests.factories import make_category, make_product, make_user


def pay(order_id: int) -> bool:
    order = db.session.get(Order, order_id)
    return record_payment(order_id, amount_cents=order.total_cents, currency=order.currency,
                          reference=f"test_{order_id}", provider="test")


def add_coupon(**fields) -> Coupon:
    values = {"code": "SAVE", "kind": CouponKind.PERCENT, "value": 10}
    values.update(fields)
    coupon = Coupon(**values)
    db.session.add(coupon)
    db.session.commit()
    return coupon


@pytest.fixture
def wardrobe(app):
    """A Clothing > Scarves tree with a scarf, and a mug outside it."""
    clothing = make_category("Clothing")
    scarves = make_category("Scarves", parent=clothing)
    kitchen = make_category("Kitchen")
    scarf = make_product("Scarf", category=scarves, price_cents=3000, stock=50).variants[0]
    mug = make_product("Mug", category=kitchen, price_cents=5000, stock=50).variants[0]
    db.session.commit()
    return clothing, scarf, mug


# Coupons restricted to categories or products.

def test_category_coupon_discounts_only_items_under_that_category_or_below(wardrobe, shipping_methods):
    clothing, scarf, mug = wardrobe
    add_coupon(categories=[clothing])
    quote = quote_cart({scarf.id: 2, mug.id: 1}, shipping_methods[1].id, "save", "GB")
    assert quote.coupon_error is None
    assert quote.discount_cents == 600  # 10 % of the two scarves, nothing off the mug
    assert quote.total_cents == 6000 + 5000 - 600 + 1499


def test_product_coupon_discounts_only_that_product(wardrobe, shipping_methods):
    _, scarf, mug = wardrobe
    add_coupon(kind=CouponKind.FIXED, value=10_000, products=[db.session.get(Product, mug.product_id)])
    quote = quote_cart({scarf.id: 1, mug.id: 1}, shipping_methods[1].id, "SAVE", "GB")
    assert quote.discount_cents == 5000  # never more than the mug it covers


def test_restricted_coupon_with_nothing_eligible_in_the_cart_is_refused(wardrobe, shipping_methods):
    clothing, _, mug = wardrobe
    add_coupon(categories=[clothing])
    quote = quote_cart({mug.id: 1}, shipping_methods[0].id, "save", "GB")
    assert quote.discount_cents == 0
    assert quote.coupon_error == "The coupon SAVE does not apply to anything in your cart."


def test_minimum_subtotal_of_a_restricted_coupon_counts_only_the_items_it_covers(wardrobe, shipping_methods):
    clothing, scarf, mug = wardrobe
    add_coupon(categories=[clothing], min_subtotal_cents=5000)
    short = quote_cart({scarf.id: 1, mug.id: 2}, shipping_methods[0].id, "save", "GB")
    assert short.coupon_error == "The coupon SAVE needs at least $50.00 of the items it applies to."
    enough = quote_cart({scarf.id: 2}, shipping_methods[0].id, "save", "GB")
    assert enough.coupon_error is None and enough.discount_cents == 600


def test_free_shipping_coupon_makes_shipping_free(wardrobe, shipping_methods):
    _, scarf, _ = wardrobe
    add_coupon(code="SHIPFREE", kind=CouponKind.FIXED, value=0, free_shipping=True)
    quote = quote_cart({scarf.id: 1}, shipping_methods[1].id, "shipfree", "GB")
    assert (quote.discount_cents, quote.shipping_cents, quote.total_cents) == (0, 0, 3000)


# Per-customer limits.

def test_per_customer_limit_counts_paid_and_held_orders_by_email_for_guests(wardrobe, details):
    _, scarf, _ = wardrobe
    add_coupon(per_customer_limit=2)
    first = place_order({scarf.id: 1}, details(coupon_code="save"), None)
    assert pay(first.id)
    place_order({scarf.id: 1}, details(coupon_code="SAVE"), None)  # unpaid, still holding stock
    with pytest.raises(ShopError, match="can be used 2 times per customer"):
        place_order({scarf.id: 1}, details(coupon_code="SAVE"), None)
    # Another shopper is not limited by this one's uses.
    assert place_order({scarf.id: 1}, details(email="other@example.com", coupon_code="SAVE"), None).discount_cents


def test_an_order_that_no_longer_holds_its_coupon_frees_the_shoppers_use(wardrobe, details):
    _, scarf, _ = wardrobe
    add_coupon(per_customer_limit=1)
    held = place_order({scarf.id: 1}, details(coupon_code="SAVE"), None)
    with pytest.raises(ShopError, match="once per customer"):
        place_order({scarf.id: 1}, details(coupon_code="SAVE"), None)
    assert expire_order(held.id)
    paid = place_order({scarf.id: 1}, details(coupon_code="SAVE"), None)
    assert pay(paid.id)
    assert "once per customer" in quote_cart({scarf.id: 1}, None, "save", "GB", email="guest@example.com").coupon_error
    # Cancelling the paid order before it ships gives the use back, to the shop and to the shopper.
    cancel(paid.id, SYSTEM, "changed my mind")
    assert quote_cart({scarf.id: 1}, None, "save", "GB", email="guest@example.com").coupon_error is None


def test_per_customer_limit_follows_the_account_whatever_email_is_typed(wardrobe, details):
    _, scarf, _ = wardrobe
    shopper = make_user("shopper@example.com")
    add_coupon(per_customer_limit=1)
    assert pay(place_order({scarf.id: 1}, details(email="work@example.com", coupon_code="SAVE"), shopper.id).id)
    with pytest.raises(ShopError, match="already used it"):
        place_order({scarf.id: 1}, details(email="home@example.com", coupon_code="SAVE"), shopper.id)
    # Logging out and typing the same email as a guest is the same shopper.
    with pytest.raises(ShopError, match="already used it"):
        place_order({scarf.id: 1}, details(email="work@example.com", coupon_code="SAVE"), None)


def test_one_shopper_racing_checkouts_never_passes_the_per_customer_limit(app, wardrobe, details):
    _, scarf, _ = wardrobe
    add_coupon(per_customer_limit=1)
    scarf_id = scarf.id

    def shop(index: int, together) -> bool:
        with app.app_context():
            together()
            try:
                return place_order({scarf_id: 1}, details(coupon_code="save"), None).id > 0
            finally:
                db.session.remove()

    results = all_at_once(6, shop)
    assert results.count(True) == 1, results
    assert all(isinstance(result, ShopError) and "once per customer" in str(result)
               for result in results if result is not True)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Order.id)).where(Order.coupon_code == "SAVE")) == 1


# Shipping zones.

@pytest.fixture
def zoned_methods(app):
    """Everywhere (no zones), US only, Oregon only, Canada only, and an inactive US method."""
    everywhere = ShippingMethod(name="Everywhere", price_cents=1500, position=0)
    us = ShippingMethod(name="US Ground", price_cents=500, position=1, zones=[ShippingZone(country="US")])
    oregon = ShippingMethod(name="Portland courier", price_cents=300, position=2,
                            zones=[ShippingZone(country="US", region="OR")])
    canada = ShippingMethod(name="Canada Post", price_cents=700, position=3, zones=[ShippingZone(country="CA")])
    retired = ShippingMethod(name="Old US", price_cents=100, position=4, is_active=False,
                             zones=[ShippingZone(country="US")])
    db.session.add_all([everywhere, us, oregon, canada, retired])
    db.session.commit()
    return everywhere, us, oregon, canada


def names(methods) -> list[str]:
    return [method.name for method in methods]


def test_only_methods_whose_zones_match_the_address_are_offered(zoned_methods):
    assert names(shipping_methods_for("US", "OR")) == ["Everywhere", "US Ground", "Portland courier"]
    assert names(shipping_methods_for("US", "CA")) == ["Everywhere", "US Ground"]
    assert names(shipping_methods_for("us")) == ["Everywhere", "US Ground"]
    assert names(shipping_methods_for("CA", "ON")) == ["Everywhere", "Canada Post"]
    assert names(shipping_methods_for("FR")) == ["Everywhere"]
    # Before the country is known, every active method is listed.
    assert names(shipping_methods_for("")) == ["Everywhere", "US Ground", "Portland courier", "Canada Post"]


def test_a_method_not_offered_for_the_address_is_refused_by_name(wardrobe, zoned_methods, details):
    _, scarf, _ = wardrobe
    _, _, oregon, canada = zoned_methods
    with pytest.raises(ShopError, match="Canada Post is not offered for this address"):
        quote_cart({scarf.id: 1}, canada.id, "", "US", region="OR")
    with pytest.raises(ShopError, match="Portland courier is not offered for this address"):
        place_order({scarf.id: 1}, details(country="US", region="WA", city="Seattle", shipping_method_id=oregon.id),
                    None)
    order = place_order({scarf.id: 1}, details(country="US", region="OR", city="Portland",
                                               shipping_method_id=oregon.id), None)
    assert (order.shipping_method_name, order.shipping_cents) == ("Portland courier", 300)


# Tax.

@pytest.fixture
def us_rates(app):
    db.session.add_all([
        TaxRate(country="US", rate_bp=500, label="Sales tax"),
        TaxRate(country="US", region="CA", rate_bp=825, label="CA sales tax"),
        TaxRate(country="US", region="NY", rate_bp=888, label="NY sales tax", is_active=False),
        TaxRate(country="GB", rate_bp=2000, label="VAT"),
    ])
    db.session.commit()


def test_a_regions_rate_replaces_the_countrys_and_falls_back_to_it(us_rates):
    assert (tax_rule("US", "CA").rate_bp, tax_rule("US", "CA").label) == (825, "CA sales tax")
    assert (tax_rule("US", "OR").rate_bp, tax_rule("US", "OR").label) == (500, "Sales tax")
    assert tax_rule("US", "NY").rate_bp == 500  # the region's rate is switched off
    assert tax_rule("US").rate_bp == 500
    assert tax_rule("DE", "").rate_bp == 0


def test_order_stores_the_tax_added_to_prices_that_exclude_it(app, wardrobe, us_rates, details):
    _, scarf, _ = wardrobe
    order = place_order({scarf.id: 2}, details(country="US", region="CA", city="Fresno"), None)
    # 6000 of goods + 599 shipping (taxed by default) at 8.25 %: 544.4175 -> 544.
    assert (order.tax_rate_bp, order.tax_label, order.tax_included) == (825, "CA sales tax", False)
    assert order.tax_cents == 544
    assert order.total_cents == 6000 + 599 + 544


def test_untaxed_shipping_and_prices_including_tax(app, wardrobe, us_rates, details, monkeypatch):
    _, scarf, _ = wardrobe
    monkeypatch.setitem(app.config, "PRICES_INCLUDE_TAX", True)
    monkeypatch.setitem(app.config, "TAX_SHIPPING", False)
    order = place_order({scarf.id: 2}, details(), None)  # GB, 20 % VAT within the prices
    assert (order.tax_label, order.tax_included) == ("VAT", True)
    assert order.tax_cents == 1000  # 6000 / 1.2 = 5000 + 1000 of VAT; shipping untaxed
    assert order.total_cents == 6000 + 599


def test_changing_a_rate_never_changes_a_placed_order(app, wardrobe, us_rates, details):
    _, scarf, _ = wardrobe
    order = place_order({scarf.id: 1}, details(), None)
    before = (order.tax_rate_bp, order.tax_label, order.tax_cents, order.total_cents)
    db.session.execute(sa.update(TaxRate).where(TaxRate.country == "GB").values(rate_bp=2500, label="New VAT"))
    db.session.commit()
    assert pay(order.id)
    paid = db.session.get(Order, order.id, populate_existing=True)
    assert (paid.tax_rate_bp, paid.tax_label, paid.tax_cents, paid.total_cents) == before == (2000, "VAT", 720, 4319)


@pytest.mark.parametrize("prices_include_tax, tax_line", [(False, True), (True, False)])
def test_stripe_charges_the_order_total_whether_or_not_prices_include_tax(app, wardrobe, us_rates, details,
                                                                          monkeypatch, prices_include_tax, tax_line):
    _, scarf, _ = wardrobe
    monkeypatch.setitem(app.config, "PRICES_INCLUDE_TAX", prices_include_tax)
    order = place_order({scarf.id: 2}, details(), None)
    with app.test_request_context():
        params = checkout_session_params(order, None)
    names = [item["price_data"]["product_data"]["name"] for item in params["line_items"]]
    assert ("Tax" in names) is tax_line
    charged = sum(item["price_data"]["unit_amount"] * item["quantity"] for item in params["line_items"])
    assert charged + order.shipping_cents == expected_total(order) == order.total_cents

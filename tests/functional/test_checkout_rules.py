"""Checkout pages under the shop's money rules: shipping zones, coupon limits and tax, as a shopper sees them."""
import html
import re
from collections import namedtuple

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Coupon, CouponKind, Order, ShippingMethod, ShippingZone, TaxRate
from shop.services.orders import order_token, place_order, record_payment
from tests.factories import make_category, make_product
from tests.plugins.checkout import payment_reference_of

VariantRef = namedtuple("VariantRef", "id sku")
OREGON = {"country": "US", "region": "US-OR", "region_other": "", "city": "Portland", "postal_code": "97201"}
CALIFORNIA = {"country": "US", "region": "US-CA", "region_other": "", "city": "Fresno", "postal_code": "93650"}
UPDATE = {"place": None, "update": "Update summary"}


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def orders() -> list[Order]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(Order).order_by(Order.id)))


def summary_rows(page: str) -> dict[str, str]:
    """Return the checkout summary's footer rows as {heading: amount}."""
    footer = page.split('<section class="summary"')[1].split("</tfoot>")[0].split("<tfoot>")[1]
    rows = re.findall(r"<th>(.*?)</th>\s*<td[^>]*>(.*?)</td>", footer, re.S)
    return {re.sub(r"<[^>]+>", "", heading).strip(): re.sub(r"<[^>]+>", "", amount).strip()
            for heading, amount in rows}


def offered(page: str) -> list[str]:
    """Return the names of the shipping methods the page offers, in order."""
    fieldset = page.split('<fieldset class="field shipping-methods')[1].split("</fieldset>")[0]
    return [name.strip() for name in re.findall(r'name="shipping_method"[^>]*>\s*([^·<]+?)\s·', fieldset)]


@pytest.fixture
def scarf(app, shipping_methods):
    variant = make_product("Scarf", category=make_category("Scarves"), price_cents=3000, stock=20).variants[0]
    db.session.commit()
    return VariantRef(variant.id, variant.sku)


@pytest.fixture
def zoned(shipping_methods):
    """Add a US-only method and an Oregon-only one to Standard and Express (offered everywhere)."""
    us = ShippingMethod(name="US Ground", price_cents=400, position=2, zones=[ShippingZone(country="US")])
    oregon = ShippingMethod(name="Portland courier", price_cents=250, position=3,
                            zones=[ShippingZone(country="US", region="OR")])
    db.session.add_all([us, oregon])
    db.session.commit()
    return us.id, oregon.id


# Shipping zones.

def test_update_summary_offers_the_methods_of_the_address_typed(client, scarf, zoned, checkout_cart, checkout_form):
    checkout_cart({scarf: 1})
    oregon = text(client.post("/checkout", data=checkout_form(**OREGON, **UPDATE)))
    assert offered(oregon) == ["Standard", "Express", "US Ground", "Portland courier"]
    washington = text(client.post("/checkout", data=checkout_form(
        **{**OREGON, "region": "US-WA", "city": "Seattle"}, **UPDATE)))
    assert offered(washington) == ["Standard", "Express", "US Ground"]
    britain = text(client.post("/checkout", data=checkout_form(**UPDATE)))
    assert offered(britain) == ["Standard", "Express"]
    assert orders() == []


def test_a_method_not_offered_for_the_address_is_refused_when_placing(client, scarf, zoned, checkout_cart,
                                                                     checkout_form):
    checkout_cart({scarf: 1})
    us_ground, _ = zoned
    response = client.post("/checkout", data=checkout_form(shipping_method=str(us_ground)))
    assert response.status_code == 200
    page = text(response)
    assert "US Ground is not offered for this address. Please choose one of the shipping methods shown." in page
    assert 'href="#shipping_method-0">US Ground is not offered' in page  # in the error summary
    assert orders() == []


def test_updating_to_an_address_a_chosen_method_does_not_reach_picks_one_that_does(client, scarf, zoned,
                                                                                  checkout_cart, checkout_form):
    checkout_cart({scarf: 1})
    _, courier = zoned
    page = text(client.post("/checkout", data=checkout_form(shipping_method=str(courier), **UPDATE)))
    assert "The shipping method you chose is not offered for this address, so Standard is chosen instead." in page
    assert re.search(r'value="\d+" checked>\s*Standard', page)
    assert summary_rows(page)["Shipping"] == "$5.99"


def test_an_address_no_method_reaches_cannot_be_placed(client, scarf, shipping_methods, checkout_cart, checkout_form):
    db.session.add_all(ShippingZone(shipping_method_id=method.id, country="US") for method in shipping_methods)
    db.session.commit()
    checkout_cart({scarf: 1})
    page = text(client.post("/checkout", data=checkout_form()))
    assert "We do not ship to United Kingdom yet." in page
    assert offered(page) == []
    assert orders() == []
    assert offered(text(client.post("/checkout", data=checkout_form(**OREGON, **UPDATE)))) == ["Standard", "Express"]


# Coupons.

def test_a_shopper_who_used_up_their_coupon_is_told_beside_the_coupon_field(client, user, scarf, checkout_cart,
                                                                           checkout_form, details):
    db.session.add(Coupon(code="ONCE", kind=CouponKind.PERCENT, value=10, per_customer_limit=1))
    db.session.commit()
    first = place_order({scarf.id: 1}, details(email="elsewhere@example.com", coupon_code="once"), user.id)
    assert record_payment(first.id, amount_cents=first.total_cents, currency="usd", reference="t1", provider="test")
    checkout_cart({scarf: 1})
    page = text(client.post("/checkout", data=checkout_form(email=user.email, coupon="once", **UPDATE)))
    assert "The coupon ONCE can be used once per customer, and you have already used it." in page
    assert "Discount" not in summary_rows(page)
    client.post("/checkout", data=checkout_form(email=user.email, coupon="once"))
    assert len(orders()) == 1


def test_coming_back_from_the_payment_page_keeps_a_once_per_customer_coupon(client, scarf, checkout_cart,
                                                                           checkout_form):
    db.session.add(Coupon(code="ONCE", kind=CouponKind.PERCENT, value=10, per_customer_limit=1))
    db.session.commit()
    checkout_cart({scarf: 1})
    client.post("/checkout", data=checkout_form(coupon="once"))
    # Back on the checkout page, the unpaid order this browser placed does not use up the coupon...
    page = text(client.post("/checkout", data=checkout_form(coupon="once", **UPDATE)))
    assert "already used it" not in page and summary_rows(page)["Discount (ONCE)"] == "-$3.00"
    # ...because placing again replaces it.
    assert client.post("/checkout", data=checkout_form(coupon="once")).status_code == 303
    assert [(order.status, order.discount_cents) for order in orders()] == [("cancelled", 300), ("pending", 300)]
    # Another browser typing the same email is another checkout by the same shopper.
    stranger = client.application.test_client()
    checkout_cart({scarf: 1}, on=stranger)
    assert "already used it" in text(stranger.post("/checkout", data=checkout_form(coupon="once", **UPDATE)))


def test_a_free_shipping_coupon_shows_in_the_summary(client, scarf, checkout_cart, checkout_form):
    db.session.add(Coupon(code="SHIPFREE", kind=CouponKind.FIXED, value=0, free_shipping=True))
    db.session.commit()
    checkout_cart({scarf: 1})
    rows = summary_rows(text(client.post("/checkout", data=checkout_form(coupon="shipfree", **UPDATE))))
    assert rows["Shipping (free with SHIPFREE)"] == "$0.00" and rows["Total"] == "$30.00"


# Tax.

@pytest.fixture
def rates(app):
    db.session.add_all([TaxRate(country="US", rate_bp=500, label="Sales tax"),
                        TaxRate(country="US", region="CA", rate_bp=825, label="CA sales tax"),
                        TaxRate(country="GB", rate_bp=2000, label="VAT")])
    db.session.commit()


def test_tax_excluded_from_prices_is_added_and_kept_on_the_order_its_email_page_and_invoice(
        client, scarf, rates, checkout_cart, checkout_form, mail_outbox, admin):
    checkout_cart({scarf: 2})
    rows = summary_rows(text(client.post("/checkout", data=checkout_form(**CALIFORNIA, **UPDATE))))
    # 6000 + 599 shipping, taxed at 8.25 %: 544.4175 -> $5.44.
    assert rows["CA sales tax (8.25%)"] == "$5.44" and rows["Total"] == "$71.43"
    assert not any(heading.startswith("Includes") for heading in rows)
    oregon_rows = summary_rows(text(client.post("/checkout", data=checkout_form(**OREGON, **UPDATE))))
    assert oregon_rows["Sales tax (5%)"] == "$3.30"  # Oregon has no rate of its own: the country's applies

    reference = payment_reference_of(client.post("/checkout", data=checkout_form(**CALIFORNIA)))
    assert client.post(f"/checkout/test-payment/{reference}", data={"pay": "Pay"}).status_code == 303
    [order] = orders()
    assert (order.tax_rate_bp, order.tax_label, order.tax_included, order.tax_cents, order.total_cents) == \
        (825, "CA sales tax", False, 544, 7143)
    body = mail_outbox[0].get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "CA sales tax (8.25%): $5.44\nTotal paid: $71.43" in body

    # A later rate change leaves the placed order as it was.
    db.session.execute(sa.update(TaxRate).where(TaxRate.region == "CA").values(rate_bp=1000, label="New tax"))
    db.session.commit()
    page = text(client.get(f"/orders/{order.number}?token={order_token(order.number)}"))
    assert re.search(r"CA sales tax \(8\.25%\)</th><td[^>]*>\$5\.44<", page)
    assert "New tax" not in page and "$71.43" in page
    invoice = text(client.get(f"/admin/orders/{order.id}/invoice"))
    assert re.search(r"CA sales tax \(8\.25%\)</th><td[^>]*>\$5\.44<", invoice)
    assert "$71.43" in invoice and "Includes" not in invoice


def test_tax_included_in_prices_is_shown_as_included_and_not_added(app, client, scarf, rates, checkout_cart,
                                                                   checkout_form, mail_outbox, admin, monkeypatch):
    monkeypatch.setitem(app.config, "PRICES_INCLUDE_TAX", True)
    monkeypatch.setitem(app.config, "TAX_SHIPPING", False)
    checkout_cart({scarf: 2})
    rows = summary_rows(text(client.post("/checkout", data=checkout_form(**UPDATE))))
    assert rows["Total"] == "$65.99" and rows["Includes VAT (20%)"] == "$10.00"  # 6000 / 1.2; shipping untaxed
    assert "VAT (20%)" not in rows

    reference = payment_reference_of(client.post("/checkout", data=checkout_form()))
    client.post(f"/checkout/test-payment/{reference}", data={"pay": "Pay"})
    [order] = orders()
    assert (order.tax_included, order.tax_cents, order.total_cents) == (True, 1000, 6599)
    body = mail_outbox[0].get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "Total paid: $65.99\nIncludes VAT (20%): $10.00" in body
    page = text(client.get(f"/orders/{order.number}?token={order_token(order.number)}"))
    assert re.search(r"Includes VAT \(20%\)</th><td[^>]*>\$10\.00<", page)
    invoice = text(client.get(f"/admin/orders/{order.id}/invoice"))
    assert re.search(r"Includes VAT \(20%\)</th><td[^>]*>\$10\.00<", invoice)


def test_the_checkout_summary_runs_the_same_statements_for_any_cart(client, scarf, zoned, rates, checkout_cart,
                                                                   checkout_form, count_queries):
    clothing = make_category("Clothing")
    coupon = Coupon(code="WARM", kind=CouponKind.PERCENT, value=10, per_customer_limit=2, categories=[clothing])
    db.session.add(coupon)
    many = {make_product(f"Hat {n}", category=clothing, stock=5).variants[0]: 1 for n in range(12)}
    db.session.commit()
    form = checkout_form(**CALIFORNIA, coupon="warm", **UPDATE)
    checkout_cart({scarf: 1, next(iter(many)): 1})
    with count_queries() as small:
        assert "Discount (WARM)" in text(client.post("/checkout", data=form))
    checkout_cart({scarf: 1, **many})
    with count_queries() as large:
        assert "Discount (WARM)" in text(client.post("/checkout", data=form))
    assert len(small) == len(large) <= 7

"""Pricing rules: shipping thresholds, coupons, tax, rounding, all in integer cents."""
from datetime import timedelta

import pytest

from shop.extensions import db
from shop.models import Coupon, CouponKind, ShippingMethod, TaxRate
from shop.models.base import now_utc
from shop.services import ShopError
from shop.services.checkout import (
    CouponUse,
    PricedLine,
    TaxRule,
    apply_coupon,
    coupon_discount,
    find_coupon,
    percent,
    price_lines,
    quote_cart,
    round_half_up,
    shipping_cost,
    tax_due,
)
from tests.factories import make_product


def line(unit_cents: int, quantity: int = 1, variant_id: int = 1) -> PricedLine:
    return PricedLine(variant_id=variant_id, product_name="Mug", variant_name="Default", sku="MUG",
                      unit_price_cents=unit_cents, quantity=quantity, stock=100, product_id=variant_id)


def added(rate_bp: int, shipping_taxed: bool = True) -> TaxRule:
    return TaxRule(rate_bp, "VAT", included=False, shipping_taxed=shipping_taxed)


def included(rate_bp: int, shipping_taxed: bool = True) -> TaxRule:
    return TaxRule(rate_bp, "VAT", included=True, shipping_taxed=shipping_taxed)


STANDARD = ShippingMethod(name="Standard", price_cents=599, free_over_cents=7500)
EXPRESS = ShippingMethod(name="Express", price_cents=1499, free_over_cents=None)


@pytest.mark.parametrize("numerator, denominator, expected", [
    (0, 100, 0), (149, 100, 1), (150, 100, 2), (151, 100, 2), (250, 100, 3), (5, 10_000, 0), (5000, 10_000, 1),
])
def test_round_half_up(numerator, denominator, expected):
    assert round_half_up(numerator, denominator) == expected


def test_shipping_is_free_from_the_threshold_and_never_for_methods_without_one():
    assert shipping_cost(STANDARD, 7499) == 599
    assert shipping_cost(STANDARD, 7500) == 0
    assert shipping_cost(EXPRESS, 1_000_000) == 1499


def test_percent_coupon_rounds_half_up_and_fixed_coupon_never_exceeds_the_subtotal():
    ten_percent = Coupon(code="TEN", kind=CouponKind.PERCENT, value=10)
    assert coupon_discount(ten_percent, 1995) == 200  # 199.5 rounds up
    assert coupon_discount(ten_percent, 1994) == 199
    five_off = Coupon(code="FIVE", kind=CouponKind.FIXED, value=500)
    assert coupon_discount(five_off, 300) == 300
    assert coupon_discount(Coupon(code="ALL", kind=CouponKind.PERCENT, value=150), 999) == 999


def test_totals_apply_discount_then_shipping_on_discounted_goods_then_tax():
    coupon = Coupon(code="TEN", kind=CouponKind.PERCENT, value=10)
    quote = price_lines([line(4000, 2)], STANDARD, CouponUse(coupon), added(2000), currency="usd")
    # 8000 - 800 = 7200 goods, below the 7500 free threshold once discounted.
    assert (quote.subtotal_cents, quote.discount_cents, quote.shipping_cents) == (8000, 800, 599)
    assert quote.tax_cents == round_half_up((7200 + 599) * 2000, 10_000) == 1560
    assert quote.total_cents == 7200 + 599 + 1560


def test_no_tax_and_no_shipping_for_an_empty_cart():
    quote = price_lines([], STANDARD, None, added(0), currency="usd")
    assert quote.total_cents == 0 and quote.shipping_cents == 0


def test_zero_decimal_currency_amounts_are_not_multiplied():
    quote = price_lines([line(1200, 3)], EXPRESS, None, added(1000), currency="jpy")
    assert quote.subtotal_cents == 3600
    assert quote.total_cents == 3600 + 1499 + 510


def _coupon(**fields) -> Coupon:
    values = {"code": "SAVE", "kind": CouponKind.FIXED, "value": 500}
    values.update(fields)
    coupon = Coupon(**values)
    db.session.add(coupon)
    db.session.commit()
    return coupon


def test_coupon_codes_are_case_insensitive(app):
    _coupon(code="WELCOME10", kind=CouponKind.PERCENT, value=10)
    assert find_coupon("  welcome10 ").code == "WELCOME10"


@pytest.mark.parametrize("fields, code, subtotal, message", [
    ({}, "NOPE", 5000, "is not valid"),
    ({"is_active": False}, "SAVE", 5000, "is not valid"),
    ({"starts_at": now_utc() + timedelta(days=1)}, "SAVE", 5000, "not valid yet"),
    ({"ends_at": now_utc() - timedelta(seconds=1)}, "SAVE", 5000, "has expired"),
    ({"usage_limit": 3, "times_used": 3}, "SAVE", 5000, "used up"),
    ({"min_subtotal_cents": 3000}, "SAVE", 2999, r"at least \$30\.00"),
])
def test_unusable_coupons_say_why(app, fields, code, subtotal, message):
    _coupon(**fields)
    mug = make_product("Mug").variants[0]
    with pytest.raises(ShopError, match=message):
        apply_coupon(code, [line(subtotal, variant_id=mug.id)])


def test_coupon_within_its_dates_and_limit_applies(app):
    _coupon(starts_at=now_utc() - timedelta(days=1), ends_at=now_utc() + timedelta(days=1),
            usage_limit=3, times_used=2, min_subtotal_cents=3000)
    assert apply_coupon("save", [line(1000, 3)]).coupon.value == 500


def test_quote_prices_from_the_database_and_taxes_only_configured_countries(app):
    mug = make_product("Mug", price_cents=1250).variants[0]
    hidden = make_product("Gone", is_active=False).variants[0]
    db.session.add_all([ShippingMethod(name="Standard", price_cents=599, free_over_cents=7500),
                        TaxRate(country="DE", rate_bp=1900), TaxRate(country="FR", rate_bp=2000, is_active=False)])
    db.session.commit()
    method_id = db.session.scalar(db.select(ShippingMethod.id))

    quote = quote_cart({mug.id: 2, hidden.id: 1}, method_id, "", "DE")
    assert [(item.product_name, item.quantity) for item in quote.lines] == [("Mug", 2)]
    assert quote.unavailable == [hidden.id]
    assert quote.tax_cents == round_half_up((2500 + 599) * 1900, 10_000)
    assert quote_cart({mug.id: 2}, method_id, "", "FR").tax_cents == 0
    assert quote_cart({mug.id: 2}, method_id, "", "US").tax_cents == 0
    with pytest.raises(ShopError, match="shipping methods"):
        quote_cart({mug.id: 2}, method_id + 999, "", "DE")


@pytest.mark.parametrize("rate_bp, shown", [(0, "0"), (2000, "20"), (825, "8.25"), (750, "7.5"), (5, "0.05")])
def test_rates_show_as_percent_without_trailing_zeros(rate_bp, shown):
    assert percent(rate_bp) == shown


def test_tax_added_on_goods_and_shipping_rounds_half_up_once():
    assert tax_due(1000, 599, added(825)) == round_half_up(1599 * 825, 10_000) == 132  # 131.9175
    assert tax_due(200, 0, added(2500)) == 50
    assert tax_due(2, 0, added(2500)) == 1  # 0.5 rounds up


def test_untaxed_shipping_stays_out_of_the_tax_base():
    assert tax_due(1000, 599, added(1000, shipping_taxed=False)) == 100
    assert tax_due(1200, 500, included(2000, shipping_taxed=False)) == 200


def test_tax_included_in_prices_is_the_rate_over_one_plus_the_rate():
    # 12.00 at 20 % holds 2.00 of tax; 10.00 at 19 % holds 1.5966 -> 1.60.
    assert tax_due(1200, 0, included(2000)) == 200
    assert tax_due(1000, 0, included(1900)) == 160
    assert tax_due(1000, 200, included(2000)) == 200


def test_prices_including_tax_do_not_raise_the_total():
    quote = price_lines([line(1000, 2)], STANDARD, None, included(2000), currency="usd")
    assert (quote.subtotal_cents, quote.shipping_cents, quote.tax_cents) == (2000, 599, 433)  # 2599 / 6
    assert quote.total_cents == 2599
    assert quote.tax.included


def test_prices_excluding_tax_add_it_to_the_total():
    quote = price_lines([line(1000, 2)], STANDARD, None, added(2000, shipping_taxed=False), currency="usd")
    assert quote.tax_cents == 400
    assert quote.total_cents == 2000 + 599 + 400


def test_restricted_coupon_discounts_only_its_lines_and_shipping_follows_the_discounted_goods():
    coupon = Coupon(code="SCARF", kind=CouponKind.PERCENT, value=50)
    scarf, mug = line(3000, 1, variant_id=1), line(5000, 1, variant_id=2)
    quote = price_lines([scarf, mug], STANDARD, CouponUse(coupon, frozenset({1})), added(1000), currency="usd")
    assert quote.discount_cents == 1500  # half of the scarf, nothing off the mug
    assert quote.shipping_cents == 599  # 6500 of goods is below the 7500 threshold
    assert quote.tax_cents == round_half_up((6500 + 599) * 1000, 10_000)
    assert quote.total_cents == 6500 + 599 + quote.tax_cents


def test_fixed_restricted_coupon_never_takes_more_than_its_lines():
    coupon = Coupon(code="TENOFF", kind=CouponKind.FIXED, value=1000)
    quote = price_lines([line(400, 1, variant_id=1), line(5000, 1, variant_id=2)], EXPRESS,
                        CouponUse(coupon, frozenset({1})), added(0), currency="usd")
    assert quote.discount_cents == 400


def test_free_shipping_coupon_zeroes_shipping_and_its_tax():
    coupon = Coupon(code="SHIPFREE", kind=CouponKind.FIXED, value=0, free_shipping=True)
    quote = price_lines([line(1000)], EXPRESS, CouponUse(coupon), added(2000), currency="usd")
    assert (quote.discount_cents, quote.shipping_cents, quote.tax_cents, quote.total_cents) == (0, 0, 200, 1200)

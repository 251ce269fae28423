"""Amounts, minimums and names as Stripe takes them: the gateway's conversions at the border."""
import pytest

from shop.config import ConfigurationError, checked_currency
from shop.services.stripe_gateway import (
    from_stripe_amount,
    minimum_charge_cents,
    refund_in_shop_units,
    session_amount,
    shortened,
    stripe_metadata,
    to_stripe_amount,
)


@pytest.mark.parametrize(("cents", "currency", "stripe_amount"), [
    (1999, "usd", 1999), (1999, "USD", 1999), (1500, "jpy", 1500), (700, "krw", 700), (5000, "ugx", 5000),
    (12345, "huf", 12345), (9900, "twd", 9900),
    # ISK: whole krónur in the shop, two decimals of 00 at Stripe.
    (1500, "isk", 150000), (1, "isk", 100), (0, "isk", 0),
])
def test_amounts_cross_to_stripe_and_back_unchanged_in_value(cents, currency, stripe_amount):
    assert to_stripe_amount(cents, currency) == stripe_amount
    assert from_stripe_amount(stripe_amount, currency) == cents


def test_an_isk_amount_from_stripe_that_is_not_whole_kronur_is_refused_not_rounded():
    with pytest.raises(ValueError, match="not a whole number"):
        from_stripe_amount(150050, "isk")


@pytest.mark.parametrize("currency", ["kwd", "BHD", "jod", "omr", "tnd"])
def test_three_decimal_currencies_never_reach_stripe_as_two_decimal_amounts(currency):
    with pytest.raises(ValueError, match="three decimals"):
        to_stripe_amount(5125, currency)


def test_a_sessions_total_is_read_back_in_the_shops_units():
    assert session_amount({"amount_total": 150000, "currency": "isk"}) == 1500
    assert session_amount({"amount_total": 3000, "currency": "jpy"}) == 3000
    assert session_amount({"amount_total": 3735, "currency": "usd"}) == 3735
    assert session_amount({"amount_total": None, "currency": "usd"}) == 0


def test_a_refunds_amount_is_read_back_in_the_shops_units():
    refund = {"id": "re_1", "amount": 50000, "currency": "isk", "status": "pending"}
    assert refund_in_shop_units(refund, "isk") == {**refund, "amount": 500}
    assert refund_in_shop_units({"id": "re_2", "amount": 250}, "usd")["amount"] == 250


@pytest.mark.parametrize(("currency", "minimum"), [
    ("usd", 50), ("EUR", 50), ("gbp", 30), ("jpy", 50), ("huf", 17500), ("mxn", 1000), ("hkd", 400), ("dkk", 250),
    # Not a settlement currency: 50 of its minor units.
    ("isk", 50), ("thb", 50),
])
def test_minimum_charge_per_currency_in_the_shops_units(currency, minimum):
    assert minimum_charge_cents(currency) == minimum


@pytest.mark.parametrize(("text", "limit", "expected"), [
    ("Standard post", 100, "Standard post"),
    ("Discount " + "X" * 31, 40, "Discount " + "X" * 31),
    ("Discount " + "X" * 40, 40, "Discount " + "X" * 30 + "…"),
    ("Express courier with signature on delivery and a phone call before", 40, "Express courier with signature on…"),
])
def test_names_are_shortened_at_a_word_when_one_is_near(text, limit, expected):
    assert shortened(text, limit) == expected
    assert len(shortened(text, limit)) <= limit


def test_metadata_values_are_cut_to_stripes_limit_and_bad_keys_refused():
    assert stripe_metadata({"note": "x" * 600, "order_id": "7"}) == {"note": "x" * 500, "order_id": "7"}
    with pytest.raises(ValueError, match="at most 40 characters"):
        stripe_metadata({"k" * 41: "v"})
    with pytest.raises(ValueError, match="at most 50 keys"):
        stripe_metadata({f"key{n}": "v" for n in range(51)})


@pytest.mark.parametrize(("setting", "currency"), [("USD", "usd"), (" jpy ", "jpy"), ("isk", "isk")])
def test_shop_currency_is_read_lower_case(setting, currency):
    assert checked_currency(setting) == currency


@pytest.mark.parametrize(("setting", "message"), [
    ("KWD", "SHOP_CURRENCY is KWD, which has three decimal places; the shop does not support BHD, JOD, KWD, OMR, "
            "TND. Set SHOP_CURRENCY to a currency with two decimal places or none."),
    ("tnd", "SHOP_CURRENCY is TND, which has three decimal places"),
    ("dollars", "SHOP_CURRENCY is 'dollars'; set it to a three-letter ISO 4217 code"),
    ("", "SHOP_CURRENCY is ''; set it to a three-letter ISO 4217 code"),
])
def test_a_currency_the_shop_cannot_charge_in_is_refused_with_how_to_fix_it(setting, message):
    with pytest.raises(ConfigurationError) as refused:
        checked_currency(setting)
    assert str(refused.value).startswith(message)

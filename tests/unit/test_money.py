"""Money formatting in integer minor units."""
import pytest

from shop.money import format_money, minor_units_per_major, parse_money


@pytest.mark.parametrize("amount, currency, expected", [
    (0, "usd", "$0.00"), (5, "usd", "$0.05"), (123456, "usd", "$1,234.56"), (-250, "eur", "-€2.50"),
    (1500, "jpy", "¥1,500"), (999, "sek", "SEK 9.99"), (None, "usd", ""), (1500, "isk", "ISK 1,500"),
    (12345, "huf", "HUF 123.45"), (5125, "kwd", "KWD 5.125"),
])
def test_format_money(amount, currency, expected):
    assert format_money(amount, currency) == expected


@pytest.mark.parametrize(("currency", "minor_units"), [
    ("JPY", 1), ("usd", 100), ("isk", 1), ("ugx", 1), ("huf", 100), ("twd", 100), ("kwd", 1000),
])
def test_each_currency_has_its_iso_minor_unit(currency, minor_units):
    # ISK has no minor unit (whole krónur); HUF and TWD keep two decimals, as Stripe charges them.
    assert minor_units_per_major(currency) == minor_units


@pytest.mark.parametrize(("typed", "currency", "cents"), [
    ("19.99", "usd", 1999), ("1,234.5", "usd", 123450), ("$7", "usd", 700), (" 0.1 ", "usd", 10), (".5", "usd", 50),
    ("1250", "jpy", 1250), ("€3.20", "eur", 320), ("1,500", "isk", 1500), ("5.125", "kwd", 5125),
])
def test_typed_amounts_become_minor_units(typed, currency, cents):
    assert parse_money(typed, currency) == cents


@pytest.mark.parametrize(("typed", "currency", "message"), [
    ("", "usd", "Enter an amount like 12.50."), ("-1", "usd", "Enter an amount like 12.50."),
    ("1e5", "usd", "Enter an amount like 12.50."), ("NaN", "usd", "Enter an amount like 12.50."),
    ("²", "usd", "Enter an amount like 12.50."), ("1.2.3", "usd", "Enter an amount like 12.50."),
    ("1.234", "usd", "USD amounts have at most 2 decimal places."), ("12.5", "jpy", "JPY amounts are whole numbers."),
    ("99.50", "isk", "ISK amounts are whole numbers."),
    ("9" * 4400, "usd", "That amount is too large."), ("10000001", "usd", "That amount is too large."),
])
def test_amounts_a_person_cannot_mean_are_refused_with_a_reason(typed, currency, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        parse_money(typed, currency)

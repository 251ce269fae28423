"""Money formatting in integer minor units."""
import pytest

from shop.money import format_money, minor_units_per_major, parse_money


@pytest.mark.parametrize("amount, currency, expected", [
    (0, "usd", "$0.00"), (5, "usd", "$0.05"), (123456, "usd", "$1,234.56"), (-250, "eur", "-€2.50"),
    (1500, "jpy", "¥1,500"), (999, "sek", "SEK 9.99"), (None, "usd", ""),
])
def test_format_money(amount, currency, expected):
    assert format_money(amount, currency) == expected


def test_zero_decimal_currencies_have_no_minor_unit():
    assert minor_units_per_major("JPY") == 1
    assert minor_units_per_major("usd") == 100



@pytest.mark.parametrize(("typed", "currency", "cents"), [
    ("19.99", "usd", 1999), ("1,234.5", "usd", 123450), ("$7", "usd", 700), (" 0.1 ", "usd", 10), (".5", "usd", 50),
    ("1250", "jpy", 1250), ("€3.20", "eur", 320),
])
def test_typed_amounts_become_minor_units(typed, currency, cents):
    assert parse_money(typed, currency) == cents


@pytest.mark.parametrize(("typed", "currency", "message"), [
    ("", "usd", "Enter an amount like 12.50."), ("-1", "usd", "Enter an amount like 12.50."),
    ("1e5", "usd", "Enter an amount like 12.50."), ("NaN", "usd", "Enter an amount like 12.50."),
    ("²", "usd", "Enter an amount like 12.50."), ("1.2.3", "usd", "Enter an amount like 12.50."),
    ("1.234", "usd", "USD amounts have at most 2 decimal places."), ("12.5", "jpy", "JPY amounts are whole numbers."),
    ("9" * 4400, "usd", "That amount is too large."), ("10000001", "usd", "That amount is too large."),
])
def test_amounts_a_person_cannot_mean_are_refused_with_a_reason(typed, currency, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        parse_money(typed, currency)

"""Money formatting and parsing in integer minor units."""
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


@pytest.mark.parametrize("text, currency, expected", [
    ("12", "usd", 1200), ("12.5", "usd", 1250), ("0.07", "usd", 7), ("1,234.56", "usd", 123456),
    ("1500", "jpy", 1500), ("-3.10", "usd", -310),
])
def test_parse_money(text, currency, expected):
    assert parse_money(text, currency) == expected


@pytest.mark.parametrize("text, currency", [("", "usd"), ("abc", "usd"), ("1.234", "usd"), ("1.5", "jpy"), ("1e3", "usd")])
def test_parse_money_rejects_nonsense(text, currency):
    with pytest.raises(ValueError):
        parse_money(text, currency)

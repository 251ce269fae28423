"""Money formatting in integer minor units."""
import pytest

from shop.money import format_money, minor_units_per_major


@pytest.mark.parametrize("amount, currency, expected", [
    (0, "usd", "$0.00"), (5, "usd", "$0.05"), (123456, "usd", "$1,234.56"), (-250, "eur", "-€2.50"),
    (1500, "jpy", "¥1,500"), (999, "sek", "SEK 9.99"), (None, "usd", ""),
])
def test_format_money(amount, currency, expected):
    assert format_money(amount, currency) == expected


def test_zero_decimal_currencies_have_no_minor_unit():
    assert minor_units_per_major("JPY") == 1
    assert minor_units_per_major("usd") == 100


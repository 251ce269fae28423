"""Reading the cart and redirect targets from input an attacker controls."""
import pytest

from shop.core.redirects import safe_local_path
from shop.services.cart import MAX_LINES, item_count, parse_id, read_cart, write_cart


@pytest.mark.parametrize("raw, expected", [
    ({"1": 2, "30": 99}, {1: 2, 30: 99}),
    ({"1": 0, "2": 100, "3": -1, "4": 10**9}, {}),
    ({"1": "2", "2": 2.0, "3": True, "4": None, "5": [1], "6": {"a": 1}}, {}),
    ({"abc": 1, "-1": 1, "0": 1, "²": 1, "١": 1, " 7": 1, "9" * 40: 1, "": 1}, {}),
    ({"2147483647": 1, "2147483648": 1}, {2147483647: 1}),
])
def test_read_cart_keeps_only_sound_lines(raw, expected):
    assert read_cart({"cart": raw}) == expected


@pytest.mark.parametrize("raw", [None, "cart", 42, ["1", 2], [[1, 2]], True])
def test_read_cart_treats_a_non_dict_as_empty(raw):
    assert read_cart({"cart": raw}) == {}
    assert item_count({"cart": raw}) == 0


def test_read_cart_never_returns_more_than_the_line_limit():
    raw = {str(n): 1 for n in range(1, MAX_LINES + 20)}
    assert len(read_cart({"cart": raw})) == MAX_LINES


def test_write_cart_round_trips_and_drops_prices_of_removed_lines():
    session = {"cart_prices": {"1": 500, "2": 700}}
    write_cart(session, {1: 3})
    assert session == {"cart": {"1": 3}, "cart_prices": {"1": 500}}
    assert read_cart(session) == {1: 3}


@pytest.mark.parametrize("value, expected", [
    ("12", 12), (12, 12), ("0", None), ("-5", None), (True, None), ("1.0", None), ("²", None), (None, None),
    ("99999999999", None), (2**31, None),
])
def test_parse_id(value, expected):
    assert parse_id(value) == expected


@pytest.mark.parametrize("target", ["/cart", "/products/tent?variant=3", "/search?q=a%2Fb"])
def test_local_paths_are_safe(target):
    assert safe_local_path(target) == target


@pytest.mark.parametrize("target", [
    None, "", "https://evil.example/", "//evil.example", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
    "/\n/evil.example", "javascript:alert(1)", "http:/evil.example", "cart", "/" + "a" * 3000,
])
def test_anything_that_could_leave_the_site_is_refused(target):
    assert safe_local_path(target) is None

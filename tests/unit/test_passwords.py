"""Password rules and hashing."""
import pytest

from shop.core.redirects import safe_local_path
from shop.services import ShopError
from shop.services.passwords import check_new_password, common_passwords, hash_password, verify_password


def test_the_common_password_list_has_3000_lowercase_entries():
    passwords = common_passwords()
    assert len(passwords) == 3000
    assert all(password == password.lower() for password in passwords)
    for classic in ("password123", "qwertyuiop", "1234567890", "iloveyou12"):
        assert classic in passwords


@pytest.mark.parametrize("password", ["Password123", "QwErTyUiOp", "ILOVEYOU12"])
def test_common_passwords_are_refused_whatever_their_case(password):
    with pytest.raises(ShopError, match="most common passwords"):
        check_new_password(password)


@pytest.mark.parametrize("password", ["a" * 9, "a" * 129, ""])
def test_passwords_outside_10_to_128_characters_are_refused(password):
    with pytest.raises(ShopError, match="10 to 128 characters"):
        check_new_password(password)


@pytest.mark.parametrize("password", ["a" * 10, "é" * 128, "plum tangerine orbit"])
def test_uncommon_passwords_of_fitting_length_pass(password):
    check_new_password(password)


def test_hashes_are_argon2id_and_verify_only_the_right_password():
    stored = hash_password("plum tangerine orbit")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "plum tangerine orbit")
    assert not verify_password(stored, "plum tangerine orbit ")
    assert not verify_password("not a hash", "anything")


@pytest.mark.parametrize("target, expected", [
    ("/account", "/account"), ("/p/shoe?size=9#top", "/p/shoe?size=9#top"),
    ("//evil.example", None), ("/\\evil.example", None), ("https://evil.example", None),
    ("javascript:alert(1)", None), ("/\r\n/evil.example", None), ("", None), (None, None),
])
def test_only_paths_on_this_site_are_safe_redirect_targets(target, expected):
    assert safe_local_path(target) == expected

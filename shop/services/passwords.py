"""Password hashing with argon2id, and the rules a new password must follow."""
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from werkzeug.security import check_password_hash

from shop.services import ShopError

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common_passwords.txt"
# Hashes from before argon2 (werkzeug's generate_password_hash); accepted once, then upgraded.
LEGACY_PREFIXES = ("scrypt:", "pbkdf2:")

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile
# Verified when no account matches, so a wrong email costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("no account has this password")


def hash_password(password: str) -> str:
    """Return an argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return whether the password matches the hash, never raising on a malformed hash."""
    if password_hash.startswith(LEGACY_PREFIXES):
        try:
            return check_password_hash(password_hash, password)
        except (ValueError, TypeError):
            return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def spend_verification_time(password: str) -> None:
    """Take as long as a real verification, for the case where there is no hash to check."""
    verify_password(_DUMMY_HASH, password)


def needs_rehash(password_hash: str) -> bool:
    """Return whether the hash was made with weaker settings than today's and should be redone."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """Return the shipped list of the most common passwords, lower-cased."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip())


def check_new_password(password: str) -> None:
    """Raise ShopError unless the password is long enough, not too long and not a common one."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise ShopError(
            f"The password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long."
        )
    if password.lower() in common_passwords():
        raise ShopError("That password is one of the most common passwords. Please choose another.")

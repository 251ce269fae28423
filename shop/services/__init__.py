"""Use cases: one function each, owning its transaction."""
from flask import current_app


class ShopError(Exception):
    """A business rule said no; the message is safe to show to the user."""


def secret_key() -> bytes:
    """Return the app's secret key, which signs sessions and every link the shop hands out."""
    key = current_app.secret_key
    if not key:
        raise RuntimeError("SECRET_KEY is not set; create_app always sets one")
    return key.encode() if isinstance(key, str) else key


class NotFound(ShopError):
    """What the use case was asked to act on does not exist (or is not the caller's): a 404 page."""

"""Use cases: one function each, owning its transaction."""


class ShopError(Exception):
    """A business rule said no; the message is safe to show to the user."""


class NotFound(ShopError):
    """What the use case was asked to act on does not exist (or is not the caller's): a 404 page."""

"""Use cases: one function each, owning its transaction."""


class ShopError(Exception):
    """A business rule said no; the message is safe to show to the user."""

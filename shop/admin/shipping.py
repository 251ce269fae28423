"""Admin pages: shipping (being built)."""
from shop.admin import bp  # noqa: F401

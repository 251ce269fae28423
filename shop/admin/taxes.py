"""Admin pages: taxes (being built)."""
from shop.admin import bp  # noqa: F401

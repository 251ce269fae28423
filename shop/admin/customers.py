"""Admin pages: customers (being built)."""
from shop.admin import bp  # noqa: F401

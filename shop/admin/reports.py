"""Admin pages: reports (being built)."""
from shop.admin import bp  # noqa: F401

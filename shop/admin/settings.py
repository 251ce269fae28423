"""Admin pages: settings (being built)."""
from shop.admin import bp  # noqa: F401

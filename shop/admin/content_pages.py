"""Admin pages: content_pages (being built)."""
from shop.admin import bp  # noqa: F401

"""Admin pages: audit_log (being built)."""
from shop.admin import bp  # noqa: F401

"""Admin pages: coupons (being built)."""
from shop.admin import bp  # noqa: F401

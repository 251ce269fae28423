"""Admin pages; every route here is for staff and owners only (shop/admin/permissions.py says which)."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The route modules register their views on bp.
from shop.admin import (  # noqa: E402,F401
    audit_log,
    brands,
    categories,
    content_pages,
    coupons,
    customers,
    images,
    inventory,
    order_detail,
    order_documents,
    orders,
    permissions,
    products,
    reports,
    reviews,
    settings,
    shipping,
    taxes,
    transfer,
    views,
)

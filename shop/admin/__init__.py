"""Admin pages; every route here is for is_admin users only."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The route modules register their views on bp.
from shop.admin import (  # noqa: E402,F401
    brands,
    categories,
    images,
    inventory,
    order_detail,
    order_documents,
    orders,
    products,
    reviews,
    transfer,
    views,
)

"""The session cart, save for later and the wishlist pages."""
from flask import Blueprint

bp = Blueprint("cart", __name__)

# The route modules register their views on bp.
from shop.cart import views  # noqa: E402,F401

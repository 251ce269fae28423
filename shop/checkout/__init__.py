"""Checkout, payment, the payment provider's webhook and the shopper's order pages."""
from flask import Blueprint

bp = Blueprint("checkout", __name__)

# The route modules register their views on bp.
from shop.checkout import recovery, views, webhook  # noqa: E402,F401

"""Shoppers' catalogue pages: home, categories, search, product pages."""
from flask import Blueprint

bp = Blueprint("catalog", __name__)

# The route modules register their views on bp.
from shop.catalog import reviews, views  # noqa: E402,F401

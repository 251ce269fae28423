"""The footer's information pages: shipping and returns, privacy, terms, contact.

Each is a template the owner can replace by a file of the same path under instance/templates/.
"""
from flask import Blueprint

bp = Blueprint("pages", __name__)

# The route modules register their views on bp.
from shop.pages import views  # noqa: E402,F401

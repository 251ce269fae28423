"""The shopper's account pages: profile, password, address book and account deletion."""
from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

# The route modules register their views on bp.
from shop.account import views  # noqa: E402,F401

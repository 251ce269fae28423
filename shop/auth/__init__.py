"""Registration, login, logout and password reset."""
from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

# The route modules register their views on bp.
from shop.auth import views  # noqa: E402,F401

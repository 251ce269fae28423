"""Health check, product media, error pages, template helpers and protective headers."""
from flask import Blueprint

bp = Blueprint("core", __name__)

# The route modules register their views on bp.
from shop.core import health, views  # noqa: E402,F401

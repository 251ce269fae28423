"""The admin gate and the landing page."""
from flask import abort, render_template
from flask_login import current_user

from shop.admin import bp
from shop.extensions import login_manager
from shop.services.admin_overview import low_stock_threshold, overview


@bp.before_request
def require_admin():
    """Send anonymous visitors to log in and refuse everyone who is not an admin."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403)
    return None


@bp.get("/")
def index():
    """Show today's orders, what needs a person, and what is running out."""
    return render_template("admin/index.html", overview=overview(), threshold=low_stock_threshold())


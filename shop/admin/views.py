"""Admin pages; every route here is for is_admin users only."""
from flask import abort, render_template
from flask_login import current_user

from shop.admin import bp
from shop.extensions import login_manager


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
    """Show the admin landing page."""
    return render_template("admin/index.html")


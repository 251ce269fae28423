"""Who may open which admin page: the one place the back office's roles are enforced."""
from flask import abort
from flask_login import current_user

from shop.admin import bp
from shop.extensions import login_manager


@bp.before_request
def require_admin():
    """Send anonymous visitors to log in and refuse everyone who is not staff or an owner."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403)
    return None

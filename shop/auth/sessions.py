"""Login sessions: a fresh session at login, idle and absolute time limits, safe `next` targets."""
import time

from flask import current_app, flash, g, session
from flask_login import current_user, login_user, logout_user

from shop.models import User
from shop.services.accounts import password_fingerprint
from shop.services.cart import CART_SESSION_KEYS

STARTED_KEY = "_auth_started"
SEEN_KEY = "_auth_seen"
FINGERPRINT_KEY = "_auth_pw"
# Writing the last-seen time on every request would re-send the cookie each time.
SEEN_RESOLUTION_SECONDS = 60


def start_session(user: User, remember: bool) -> None:
    """Log the user in on a fresh session that keeps only the shopper's cart."""
    cart = _cart_entries()
    session.clear()
    # A new CSRF token is made for the new session on the next form.
    g.pop("csrf_token", None)
    session.update(cart)
    # Remembered sessions outlive the browser (up to SESSION_LIFETIME_DAYS) and skip the idle limit.
    session.permanent = remember
    login_user(user, remember=False)
    now = int(time.time())
    session[STARTED_KEY] = now
    session[SEEN_KEY] = now
    session[FINGERPRINT_KEY] = password_fingerprint(user)


def end_session(keep_cart: bool = False) -> None:
    """Log out and clear the session, keeping the cart only when asked."""
    cart = _cart_entries()
    logout_user()
    session.clear()
    g.pop("csrf_token", None)
    if keep_cart:
        session.update(cart)


def _cart_entries() -> dict:
    return {key: session[key] for key in CART_SESSION_KEYS if key in session}


def refresh_fingerprint(user: User) -> None:
    """Keep this session valid after the user changed their own password."""
    session[FINGERPRINT_KEY] = password_fingerprint(user)


def enforce_session_limits() -> None:
    """Log out a session that is idle too long, too old, or from before a password change."""
    if "_user_id" not in session:
        return
    now = int(time.time())
    started, seen = session.get(STARTED_KEY), session.get(SEEN_KEY)
    if not isinstance(started, int) or not isinstance(seen, int):
        end_session(keep_cart=True)
        return
    lifetime = int(current_app.config["SESSION_LIFETIME_DAYS"]) * 86400
    idle = int(current_app.config["SESSION_IDLE_MINUTES"]) * 60
    if now - started > lifetime or (not session.permanent and now - seen > idle):
        end_session(keep_cart=True)
        flash("Your session expired. Please log in again.", "info")
        return
    if not current_user.is_authenticated:  # the account was deleted meanwhile
        end_session(keep_cart=True)
        return
    if session.get(FINGERPRINT_KEY) != password_fingerprint(current_user):
        end_session(keep_cart=True)
        flash("Your password was changed. Please log in again.", "info")
        return
    if now - seen >= SEEN_RESOLUTION_SECONDS:
        session[SEEN_KEY] = now

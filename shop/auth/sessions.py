"""Login sessions: a fresh session at login, ended on the server at logout, idle and absolute time limits.

Each login has a row in user_sessions whose id the signed cookie carries; the user is loaded
together with that row, so deleting it (logout, "log out everywhere", a password change) ends
the login even for a copy of the cookie taken before.
"""
import time

from flask import current_app, flash, g, redirect, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from shop.catalog.suggestions import RECENTLY_VIEWED_KEY
from shop.models import User
from shop.services import accounts
from shop.services.accounts import password_fingerprint
from shop.services.cart import CART_SESSION_KEYS, merge_saved_cart

STARTED_KEY = "_auth_started"
SEEN_KEY = "_auth_seen"
FINGERPRINT_KEY = "_auth_pw"
SESSION_ID_KEY = "_auth_sid"
PASSWORD_CHANGED = "Your password was changed. Please log in again."
ENDED_ELSEWHERE = "You have been logged out. Please log in again."
DISABLED = "You have been logged out: your account has been disabled."
# Writing the last-seen time on every request would re-send the cookie each time.
SEEN_RESOLUTION_SECONDS = 60


def start_session(user: User, remember: bool) -> None:
    """Log the user in on a fresh session that keeps only the shopper's cart, merged into the account's,
    and the products they were looking at."""
    kept = _cart_entries()
    if RECENTLY_VIEWED_KEY in session:
        kept[RECENTLY_VIEWED_KEY] = session[RECENTLY_VIEWED_KEY]
    session.clear()
    # A new CSRF token is made for the new session on the next form.
    g.pop("csrf_token", None)
    session.update(kept)
    for change in merge_saved_cart(session, user.id):
        flash(change.message, "warning" if change.adjusted else "info")
    # Remembered sessions outlive the browser (up to SESSION_LIFETIME_DAYS) and skip the idle limit.
    session.permanent = remember
    login_user(user, remember=False)
    now = int(time.time())
    session[STARTED_KEY] = now
    session[SEEN_KEY] = now
    session[FINGERPRINT_KEY] = password_fingerprint(user)
    session[SESSION_ID_KEY] = accounts.open_user_session(user.id)


def end_session(keep_cart: bool = False) -> None:
    """Log out, ending the login on the server, and clear the session.

    A logged-in shopper's cart waits in the account for the next login, so the session forgets it:
    a copy kept here would be added to itself when they log in again. keep_cart is for a cart no
    account holds: a guest's, or that of an account being deleted.
    """
    cart = _cart_entries()
    session_id = current_session_id()
    if session_id is not None:
        accounts.end_user_session(session_id)
    logout_user()
    session.clear()
    g.pop("csrf_token", None)
    if keep_cart:
        session.update(cart)


def logged_out_redirect(everywhere: bool = False) -> Response:
    """Answer a logout: ask the browser to drop this site's cookies, then say so on the next page."""
    # Browsers also drop a cookie set alongside Clear-Site-Data, so the flash message is set one hop later.
    response = redirect(url_for("auth.logged_out", everywhere=1 if everywhere else None))
    response.headers["Clear-Site-Data"] = '"cookies"'
    return response


def _cart_entries() -> dict:
    return {key: session[key] for key in CART_SESSION_KEYS if key in session}


def current_session_id() -> str | None:
    """Return the id of this browser's login, if it has one."""
    session_id = session.get(SESSION_ID_KEY)
    return session_id if isinstance(session_id, str) else None


def load_session_user(user_id: str) -> User | None:
    """Return the user this session is logged in as, or None once the login was ended on the server."""
    session_id = current_session_id()
    if not user_id.isdigit() or session_id is None:
        return None
    user, is_open = accounts.find_session_user(int(user_id), session_id)
    if user is not None and user.is_disabled:
        # Disabling ends the account's logins; this also ends one opened by a login that raced it.
        g.session_ended_message = DISABLED
        return None
    if user is not None and not is_open:
        # Ended by another browser: say why when enforce_session_limits logs this one out.
        password_changed = session.get(FINGERPRINT_KEY) != password_fingerprint(user)
        g.session_ended_message = PASSWORD_CHANGED if password_changed else ENDED_ELSEWHERE
        return None
    return user


def refresh_fingerprint(user: User) -> None:
    """Keep this session valid after the user changed their own password."""
    session[FINGERPRINT_KEY] = password_fingerprint(user)


def enforce_session_limits() -> None:
    """Log out a session that is idle too long, too old, ended on the server, or from before a password change."""
    if "_user_id" not in session:
        return
    now = int(time.time())
    started, seen = session.get(STARTED_KEY), session.get(SEEN_KEY)
    if not isinstance(started, int) or not isinstance(seen, int):
        end_session()
        return
    lifetime = int(current_app.config["SESSION_LIFETIME_DAYS"]) * 86400
    idle = int(current_app.config["SESSION_IDLE_MINUTES"]) * 60
    if now - started > lifetime or (not session.permanent and now - seen > idle):
        end_session()
        flash("Your session expired. Please log in again.", "info")
        return
    if not current_user.is_authenticated:  # the account was deleted or disabled, or this login ended elsewhere
        message = g.pop("session_ended_message", None)
        end_session()
        if message:
            flash(message, "info")
        return
    # Every password change deletes the other logins' rows; this also stops any path that forgot to.
    if session.get(FINGERPRINT_KEY) != password_fingerprint(current_user):
        end_session()
        flash(PASSWORD_CHANGED, "info")
        return
    if now - seen >= SEEN_RESOLUTION_SECONDS:
        session[SEEN_KEY] = now

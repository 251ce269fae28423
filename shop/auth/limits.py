"""Rate limits on the login, registration and password-reset forms, per client address and per account."""
import time

from flask import current_app, request
from flask_limiter.util import get_remote_address

from shop.extensions import limiter
from shop.models import lengths


def submitted_account() -> str:
    """Key a limit on the email typed into the form, whatever its case or spacing."""
    email = request.form.get("email", "")
    return "account:" + email.strip().lower()[:lengths.EMAIL]


LOGIN_FAILED_KEY = "shop.login_failed"


def mark_login_failed() -> None:
    """Note on this request that the login attempt failed."""
    request.environ[LOGIN_FAILED_KEY] = True


def failed_login(_response) -> bool:
    """Count a request against the login limits only when the login failed."""
    return request.environ.get(LOGIN_FAILED_KEY, False)


def retry_message() -> str:
    """Describe the limit that was hit and when the next attempt will be allowed."""
    current = limiter.current_limit
    if current is None:
        return "Too many attempts"
    seconds = max(1, int(current.reset_at - time.time()))
    wait = f"{seconds} seconds" if seconds < 120 else f"{round(seconds / 60)} minutes"
    return f"{current.limit}; you can try again in {wait}"


def _config(key: str):
    return lambda: current_app.config[key]


login_per_ip = limiter.limit(
    _config("LOGIN_LIMIT_PER_IP"), key_func=get_remote_address, methods=["POST"],
    deduct_when=failed_login, error_message=retry_message, scope="login-ip")
login_per_account = limiter.limit(
    _config("LOGIN_LIMIT_PER_ACCOUNT"), key_func=submitted_account, methods=["POST"],
    deduct_when=failed_login, error_message=retry_message, scope="login-account")
reset_per_ip = limiter.limit(
    _config("PASSWORD_RESET_LIMIT"), key_func=get_remote_address, methods=["POST"],
    error_message=retry_message, scope="reset-ip")
reset_per_account = limiter.limit(
    _config("PASSWORD_RESET_LIMIT"), key_func=submitted_account, methods=["POST"],
    error_message=retry_message, scope="reset-account")
register_per_ip = limiter.limit(
    _config("REGISTER_LIMIT"), key_func=get_remote_address, methods=["POST"],
    error_message=retry_message, scope="register-ip")

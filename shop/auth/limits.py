"""Rate limits on the login, registration, password-reset and confirmation forms, per client address and per
account."""
from flask_login import current_user

from shop.core.limits import RequestMark, by_client_address, by_email_typed, form_limit


def by_logged_in_account() -> str:
    """Key a limit on the logged-in account (its id), for forms that only accounts can post."""
    return f"user:{current_user.get_id()}"


# Only failed logins count: a shopper who logs in many times a day is never locked out.
login_failed = RequestMark("login_failed")

login_per_ip = form_limit("LOGIN_LIMIT_PER_IP", by_client_address, "login-ip", counts=login_failed)
login_per_account = form_limit("LOGIN_LIMIT_PER_ACCOUNT", by_email_typed, "login-account", counts=login_failed)
reset_per_ip = form_limit("PASSWORD_RESET_LIMIT", by_client_address, "reset-ip")
reset_per_account = form_limit("PASSWORD_RESET_LIMIT", by_email_typed, "reset-account")
register_per_ip = form_limit("REGISTER_LIMIT", by_client_address, "register-ip")
# Each resend is an email to an address not yet shown to be the shopper's: keep it to a few an hour.
confirmation_per_account = form_limit("PASSWORD_RESET_LIMIT", by_logged_in_account, "confirm-account")

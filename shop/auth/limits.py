"""Rate limits on the login, registration and password-reset forms, per client address and per account."""
from shop.core.limits import RequestMark, by_client_address, by_email_typed, form_limit

# Only failed logins count: a shopper who logs in many times a day is never locked out.
login_failed = RequestMark("login_failed")

login_per_ip = form_limit("LOGIN_LIMIT_PER_IP", by_client_address, "login-ip", counts=login_failed)
login_per_account = form_limit("LOGIN_LIMIT_PER_ACCOUNT", by_email_typed, "login-account", counts=login_failed)
reset_per_ip = form_limit("PASSWORD_RESET_LIMIT", by_client_address, "reset-ip")
reset_per_account = form_limit("PASSWORD_RESET_LIMIT", by_email_typed, "reset-account")
register_per_ip = form_limit("REGISTER_LIMIT", by_client_address, "register-ip")

"""Rate limits on forms, read from the configuration and explained on the 429 page."""
import time
from collections.abc import Callable

from flask import current_app, request
from flask_limiter.util import get_remote_address

from shop.extensions import limiter
from shop.models import lengths

by_client_address = get_remote_address


def by_email_typed() -> str:
    """Key a limit on the email typed into the form, whatever its case or spacing."""
    email = request.form.get("email", "")
    return "account:" + email.strip().lower()[:lengths.EMAIL]


def retry_message() -> str:
    """Describe the limit that was hit and when the next attempt will be allowed."""
    current = limiter.current_limit
    if current is None:
        return "Too many attempts"
    seconds = max(1, int(current.reset_at - time.time()))
    wait = f"{seconds} seconds" if seconds < 120 else f"{round(seconds / 60)} minutes"
    return f"{current.limit}; you can try again in {wait}"


class RequestMark:
    """A mark a view puts on its request, so that a limit counts only the requests that did something."""

    def __init__(self, name: str) -> None:
        self.key = f"shop.{name}"

    def set(self) -> None:
        """Mark this request."""
        request.environ[self.key] = True

    def __call__(self, _response: object) -> bool:
        return bool(request.environ.get(self.key, False))


def form_limit(setting: str, key_func: Callable[[], str], scope: str,
               counts: Callable[[object], bool] | None = None):
    """Limit the POSTs of a form by the limit in app.config[setting]; `counts` picks which posts count."""
    return limiter.limit(lambda: current_app.config[setting], key_func=key_func, methods=["POST"],
                         deduct_when=counts, error_message=retry_message, scope=scope)

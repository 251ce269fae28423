"""Refuse requests for hosts outside TRUSTED_HOSTS before any other code acts on them."""
from flask import Flask, request
from werkzeug.exceptions import SecurityError


def reject_foreign_host() -> None:
    """Refuse a request for a host outside TRUSTED_HOSTS before any other code acts on it."""
    # Flask notes the untrusted host while routing but raises it only after the before_request hooks.
    if isinstance(request.routing_exception, SecurityError):
        raise request.routing_exception


def register(app: Flask) -> None:
    """Check the host first thing in every request."""
    app.before_request(reject_foreign_host)

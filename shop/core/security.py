"""Refuse requests for foreign hosts; send protective headers (CSP, framing, referrer, caching).

The templates carry no inline script, event handler or style attribute, so the policy allows
scripts and styles from this site only. Pages of the blueprints listed in PERSONAL_BLUEPRINTS
show or change one person's data and are never stored by a browser or proxy cache.
"""
from flask import Flask, current_app, request
from werkzeug.exceptions import SecurityError
from werkzeug.wrappers import Response

STRIPE_CHECKOUT = "https://checkout.stripe.com"
# Account, auth, cart and wishlist, checkout and orders, admin.
PERSONAL_BLUEPRINTS = frozenset({"account", "auth", "cart", "checkout", "admin"})
# Browser features the shop never uses, switched off for it and anything it might embed.
UNUSED_FEATURES = ("accelerometer", "camera", "geolocation", "gyroscope", "magnetometer", "microphone",
                   "payment", "usb")
HSTS_MAX_AGE = 365 * 24 * 3600


def content_security_policy() -> str:
    """Return the policy for this request's page: this site only, plus Stripe where checkout posts."""
    form_action = ["'self'"]
    # Chrome applies form-action to the redirect after a form POST, and placing an order in
    # Stripe mode answers 303 to Stripe Checkout.
    if request.endpoint == "checkout.start" and current_app.config.get("STRIPE_SECRET_KEY"):
        form_action.append(STRIPE_CHECKOUT)
    directives = {
        "default-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": form_action,
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def referrer_policy() -> str:
    """Keep a page's address to the shop when it carries a secret token (order link, reset link).

    Not no-referrer: over HTTPS Flask-WTF refuses a form posted without a Referer, and every
    page has at least the logout form.
    """
    if "token" in (request.view_args or {}) or "token" in request.args:
        return "same-origin"
    return "strict-origin-when-cross-origin"


def set_security_headers(response: Response) -> Response:
    """Add the headers; a view that set one of them itself keeps its own value."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", referrer_policy())
    headers.setdefault("Permissions-Policy", ", ".join(f"{feature}=()" for feature in UNUSED_FEATURES))
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_MAX_AGE}")
    if request.blueprint in PERSONAL_BLUEPRINTS:
        headers["Cache-Control"] = "no-store"
    return response


def reject_foreign_host() -> None:
    """Refuse a request for a host outside TRUSTED_HOSTS before any other code acts on it."""
    # Flask notes the untrusted host while routing but raises it only after the before_request hooks.
    if isinstance(request.routing_exception, SecurityError):
        raise request.routing_exception


def register(app: Flask) -> None:
    """Check the host first thing in every request, and add the headers to every response."""
    app.before_request(reject_foreign_host)
    app.after_request(set_security_headers)

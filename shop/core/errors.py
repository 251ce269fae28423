"""Error pages in the shop's layout."""
from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException, SecurityError

from shop.extensions import db
from shop.operations.logs import redact

TITLES = {
    400: "Bad request",
    403: "Forbidden",
    404: "Page not found",
    405: "Method not allowed",
    413: "Upload too large",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Service unavailable",
}

MESSAGES = {
    400: "The request could not be understood. Please go back and try again.",
    403: "You do not have permission to see this page.",
    404: "We could not find the page you were looking for.",
    405: "That action is not allowed here.",
    413: "The file you sent is too large.",
    429: "You have tried that too many times. Please wait a little and try again.",
    500: "Our shop hit an unexpected problem. Nothing was charged; please try again shortly.",
    503: "The shop is briefly unavailable. Please try again shortly.",
}


def _wants_json() -> bool:
    return request.path.startswith("/checkout/webhook") or request.path in ("/healthz", "/readyz")


def render_error(code: int, description: str | None = None, retry_after: str | None = None):
    """Render the error page for an HTTP status code."""
    if _wants_json():
        return {"error": TITLES.get(code, "Error")}, code
    return (
        render_template(
            "errors/error.html",
            code=code,
            title=TITLES.get(code, "Error"),
            message=description or MESSAGES.get(code, ""),
            retry_after=retry_after,
        ),
        code,
    )


def register(app: Flask) -> None:
    """Attach handlers for HTTP errors and unexpected exceptions."""

    @app.errorhandler(SecurityError)
    def handle_foreign_host(error: SecurityError):
        # A host outside TRUSTED_HOSTS leaves no way to build the layout's links: answer in plain text.
        app.logger.info("Refused a request for host %r (not in TRUSTED_HOSTS)", request.headers.get("Host"))
        return "Bad request: this shop does not answer to that host name.\n", 400, {"Content-Type": "text/plain"}

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        description = None
        retry_after = None
        if error.code == 400 and error.description and "CSRF" in error.description:
            description = "Your form expired or was sent from another site. Please reload the page and try again."
        if error.code == 429:
            retry_after = error.description
        response = render_error(error.code, description, retry_after)
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            return response[0], 405, {"Allow": ", ".join(error.valid_methods)}
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        # A failed transaction must not poison the next request on this connection.
        db.session.rollback()
        # The record carries the request id (the log handler's filter), so the traceback meets its request line.
        app.logger.exception("Unhandled error on %s %s", request.method, redact(request.path))
        return render_error(500)

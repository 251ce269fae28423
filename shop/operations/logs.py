"""Request ids, one log line per request, and logs that never carry a secret.

Every record goes to stderr through one handler on the root logger, as readable text or as one
JSON object per line (SHOP_LOG_FORMAT), under gunicorn and `flask` alike; gunicorn.conf.py sends
gunicorn's own lines through the same handler. Records logged during a request carry its id.
Secrets are kept out twice: paths are masked where they are logged, and the handler masks
anything that looks like a secret in whatever reaches it.
"""
import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, g, has_request_context, request, request_started
from flask.logging import default_handler
from werkzeug.wrappers import Response

from shop.config import ConfigurationError

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy (nginx's $request_id, a load balancer's id) would send; anything else, or longer,
# is not trusted into the logs and a new id is made instead.
ACCEPTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

request_log = logging.getLogger("shop.request")

REDACTED = "[redacted]"
# Links that are credentials in themselves: password reset, email confirmation, cart restore,
# reminder opt-out, catalogue import. tests/functional/test_log_redaction.py checks that every
# route with a token in its path is here.
TOKEN_PATHS = ("auth/reset", "auth/confirm", "checkout/restore", "checkout/reminders/stop",
               "admin/import-export/import")
_TOKEN_PATH = "|".join(map(re.escape, TOKEN_PATHS))
_SECRET_NAMES = r"[\w-]*(?:password|passwd|secret|token|cookie|api_?key|authorization)[\w-]*|(?:__Host-)?session"
_SECRET_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"(/(?:{_TOKEN_PATH})/)[^/?#\s\"'<>]+"), r"\1" + REDACTED),
    # Whatever the shop signs with its secret key (the links' tokens, Flask's session cookie) ends
    # in itsdangerous's 27-character signature after a dot.
    (re.compile(r"(?<![\w.-])\.?[\w-]+(?:\.[\w-]+)?\.[\w-]{27}(?![\w-])"), REDACTED),
    (re.compile(r"\b(sk|rk)_(live|test)_\w+"), r"\1_\2_" + REDACTED),
    (re.compile(r"\bwhsec_\w+"), "whsec_" + REDACTED),
    (re.compile(r"\b(Bearer|Basic)\s+[\w.~+/=-]+", re.IGNORECASE), r"\1 " + REDACTED),
    # 13 to 19 digits, perhaps in groups: a card number.
    (re.compile(r"(?<![\w.])\d(?:[ -]?\d){12,18}(?![\w.])"), REDACTED),
]
# password=..., "token": "...", Cookie: ..., in query strings, form dumps, reprs and headers.
_SECRET_PAIR = re.compile(
    rf"\b(?P<key>{_SECRET_NAMES})(?P<separator>[\"']?\s*[=:]\s*)(?P<scheme>(?:Bearer|Basic)\s+)?"
    r"(?:(?P<quote>[\"'])(?P<quoted>.*?)(?P=quote)|(?P<bare>(?!\[redacted\]|(?:Bearer|Basic)\s)(?:\[redacted\]|[^\s&,;\"'\[\]{}])+))",
    re.IGNORECASE,
)
# The attributes every LogRecord has; any other is a field a caller passed with extra=.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


def register(app: Flask) -> None:
    """Give every request an id and log it when it ends."""
    log_format = str(app.config["LOG_FORMAT"]).lower()
    if log_format not in LOG_FORMATS:
        raise ConfigurationError(f"SHOP_LOG_FORMAT must be text or json, not {app.config['LOG_FORMAT']!r}.")
    level = str(app.config["LOG_LEVEL"]).upper()
    if level not in LOG_LEVELS:
        raise ConfigurationError(
            f"SHOP_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {app.config['LOG_LEVEL']!r}.")
    configure_logging(log_format, level)
    app.logger.removeHandler(default_handler)
    # SQL in the logs and in error messages shows the statement, never its values (an email body
    # with a reset link, an address). SHOP_SQLALCHEMY_ENGINE_OPTIONS='{"hide_parameters": false}' shows them.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"hide_parameters": True, **app.config["SQLALCHEMY_ENGINE_OPTIONS"]}
    # The request_started signal comes before every before_request hook (the foreign-host check among
    # them), so the clock and the id start with the request.
    request_started.connect(_start_request, app)
    app.after_request(_log_request)


def configure_logging(log_format: str, level: str) -> None:
    """Write every record to stderr in `log_format` ("text" or "json"); log the shop's at `level` and up."""
    shop_handler().setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logging.getLogger("shop").setLevel(level)


def shop_handler() -> logging.Handler:
    """Return the handler every record goes through, attached to the root logger once per process."""
    for handler in logging.root.handlers:
        if isinstance(handler, StderrHandler):
            return handler
    handler = StderrHandler()
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(TextFormatter())
    logging.root.addHandler(handler)
    return handler


def current_request_id() -> str:
    """Return this request's id: the X-Request-ID it came with when that is a sane id, else a new one."""
    if "request_id" not in g:
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = sent if ACCEPTED_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
    return g.request_id


def redact(text: str) -> str:
    """Mask what looks like a secret: token links, signed values, Stripe keys, card numbers, password=... pairs."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return _SECRET_PAIR.sub(_mask_pair, text)


def _mask_pair(match: re.Match[str]) -> str:
    quote = match["quote"] or ""
    return f"{match['key']}{match['separator']}{match['scheme'] or ''}{quote}{REDACTED}{quote}"


def _start_request(sender: Flask, **signal_arguments) -> None:
    current_request_id()
    g.request_started = time.perf_counter()


def _log_request(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = current_request_id()
    duration_ms = round((time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000, 1)
    path = redact(request.path)  # never the query string: order links carry their token there
    user_id = _logged_in_user_id()
    request_log.info(
        "%s %s %s %.1fms user=%s client=%s", request.method, path, response.status_code, duration_ms,
        "-" if user_id is None else user_id, request.remote_addr,
        extra={"method": request.method, "path": path, "status": response.status_code, "duration_ms": duration_ms,
               "user_id": user_id, "client": request.remote_addr},
    )
    return response


def _logged_in_user_id() -> int | None:
    # Flask-Login keeps the user it loaded on g; read there, not through current_user, no page
    # loads one just to be logged, and the identity key needs no reload of an expired user.
    user = g.get("_login_user")
    if user is None or not user.is_authenticated:
        return None
    state = sa.inspect(user, raiseerr=False)
    return state.identity[0] if state is not None and state.identity else None


class StderrHandler(logging.Handler):
    """Write each record as one write to the stderr of the moment (pytest swaps it for each test)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


class RequestIdFilter(logging.Filter):
    """Stamp a record logged during a request with the request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None and has_request_context():
            record.request_id = current_request_id()
        return True


class RedactingFilter(logging.Filter):
    """Mask secrets in the record's message, traceback and fields before any formatter sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a log call whose arguments do not fit its message: keep the message alone
            message = f"{record.msg} (its arguments did not fit)"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _RECORD_ATTRIBUTES and isinstance(value, str):
                setattr(record, name, redact(value))
        return True


class TextFormatter(logging.Formatter):
    """One line a person reads: time, level, logger, [request id], message; a traceback follows it."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        tag = f" [{request_id}]" if request_id else ""
        # A newline sent in a URL or a form must not start what looks like another record, nor an
        # escape sequence reach the terminal; the development server's colours are simply dropped.
        message = _CONTROL_CHARACTERS.sub(_escape, _TERMINAL_COLOURS.sub("", record.getMessage()))
        line = f"{self.formatTime(record)} {record.levelname} {record.name}{tag} {message}"
        details = _details(self, record)
        return f"{line}\n{details}" if details else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line for a log collector, with the fields the caller passed in `extra`."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        entry.update((name, value) for name, value in vars(record).items() if name not in _RECORD_ATTRIBUTES)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_TERMINAL_COLOURS = re.compile(r"\x1b\[[0-9;]*m")


def _escape(match: re.Match[str]) -> str:
    return repr(match.group())[1:-1]


def _details(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    """Return the record's traceback and stack, formatted once (the redacting filter may have done it)."""
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    parts = [record.exc_text] if record.exc_text else []
    if record.stack_info:
        parts.append(formatter.formatStack(record.stack_info))
    return "\n".join(parts)

"""Default configuration; instance/config.py and SHOP_* environment variables override it."""
import contextlib
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Config

from shop.money import THREE_DECIMAL_CURRENCIES

DEFAULTS: dict[str, Any] = {
    "SHOP_NAME": "Shop",
    # The shop's postal address and tax number, printed on invoices and packing slips; commas
    # in the address become line breaks.
    "ADDRESS": "",
    "TAX_ID": "",
    # The address shoppers write to, shown in the footer and on the contact page; empty leaves it out.
    "CONTACT_EMAIL": "",
    # Who hears of each newly paid order: comma-separated addresses; empty sends no notification.
    "ORDER_NOTIFY_EMAILS": "",
    # "development" or "production"; None: production when served by gunicorn, else development.
    "ENV": None,
    # The shop's public address, e.g. https://shop.example: every link in an email is built on it.
    # Required in production; in development None means links name the (loopback) host requested.
    "BASE_URL": None,
    # Host names the shop answers to (others get 400); None means BASE_URL's host, plus localhost
    # and 127.0.0.1 in development (see trusted_hosts).
    "TRUSTED_HOSTS": None,
    "PROXY_FIX": False,  # trust one proxy's X-Forwarded-For/Proto (client address for rate limits)
    "CURRENCY": "usd",
    "DATABASE_URL": None,  # None means an SQLite file in the instance folder
    "MEDIA_PATH": None,  # None means <instance>/media
    "PRODUCTS_PER_PAGE": 24,
    "LOW_STOCK_THRESHOLD": 5,  # at or below this many left, admin pages flag a variant as low on stock
    "MAX_UPLOAD_MB": 8,  # largest image an admin may upload, per file
    "RESERVATION_MINUTES": 60,
    # Who hears when a variant falls to the low-stock threshold: comma-separated; empty sends nothing.
    "LOW_STOCK_NOTIFY_EMAILS": "",
    # Also send those addresses one list of the low variants a day (`flask shop low-stock-digest`).
    "LOW_STOCK_DIGEST": False,
    # How prices are entered and whether tax is charged on shipping; the owner can change both in the admin.
    "PRICES_INCLUDE_TAX": False,
    "TAX_SHIPPING": True,
    # The largest refund a staff member (not an owner) may give, in cents.
    "STAFF_REFUND_LIMIT_CENTS": 10_000,
    # Hours after an unpaid order expires before its shopper, if they asked, gets one reminder email.
    "RECOVERY_DELAY_HOURS": 4,
    # How long a process keeps store settings read from the database before reading them again; with
    # CACHE_URL, how long the one shared copy lives (a save in the admin replaces it at once).
    "SETTINGS_CACHE_SECONDS": 5,
    "STRIPE_SECRET_KEY": None,
    "STRIPE_WEBHOOK_SECRET": None,
    "STRIPE_API_BASE": None,
    # Test suites only: lets a production-mode gunicorn serve http://127.0.0.1 or http://localhost
    # (never another host), as the test fixtures and benchmarks do. Never set it in a deployment.
    "TESTING_SERVER": False,
    # Where uploaded product images live: None for MEDIA_PATH on this machine, or s3://bucket/prefix
    # (credentials and region from boto3's usual environment; S3_ENDPOINT_URL for other S3-compatible stores).
    "STORAGE_URL": None,
    "S3_ENDPOINT_URL": None,
    # Caches shared by every process when it names a Redis server (redis://host:6379/1); None keeps them per process.
    "CACHE_URL": None,
    "CACHE_KEY_PREFIX": "shop:",  # give each shop sharing one Redis database its own
    # Storefront pages (home, categories, products, search) kept rendered for every visitor; each
    # visitor's own parts are filled in per request, and any catalogue change retires every copy at once.
    "PAGE_CACHE": True,
    "PAGE_CACHE_MB": 32,  # the rendered pages each worker keeps in its memory, most recently used first
    "PAGE_CACHE_SECONDS": 3600,  # how long Redis keeps a page (with CACHE_URL); a change retires it sooner
    # "text" for people reading a terminal, "json" for a log collector: one line per request either way.
    "LOG_FORMAT": "text",
    "LOG_LEVEL": "INFO",
    # /metrics answers only when this is set, and only to requests bearing it (Authorization: Bearer ...).
    "METRICS_TOKEN": None,
    # /readyz fails when the oldest queued email has waited longer than this.
    "OUTBOX_STUCK_MINUTES": 60,
    # Where `flask shop backup` writes archives when no path is given; None means <instance>/backups.
    "BACKUP_DIR": None,
    "RATELIMIT_STORAGE_URI": "memory://",
    # With Redis unreachable, each process counts on its own rather than every limited form failing.
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_HEADERS_ENABLED": True,  # 429 responses carry Retry-After
    # A fixed window lets an attacker spend two windows' worth of guesses across a boundary.
    "RATELIMIT_STRATEGY": "moving-window",
    # Failed logins allowed per client address and per submitted email; reset emails likewise.
    "LOGIN_LIMIT_PER_IP": "10 per minute; 100 per hour",
    "LOGIN_LIMIT_PER_ACCOUNT": "5 per minute; 20 per hour",
    "PASSWORD_RESET_LIMIT": "5 per hour",
    # Registrations per client address: bounds both bulk sign-ups and probing which emails have accounts.
    "REGISTER_LIMIT": "10 per hour",
    "REVIEW_LIMIT": "10 per hour",  # reviews written or edited per shopper
    # Orders placed per client address and per email: each unpaid order holds stock for a while.
    "CHECKOUT_LIMIT_PER_IP": "10 per minute; 30 per hour",
    "CHECKOUT_LIMIT_PER_EMAIL": "5 per minute; 15 per hour",
    "SESSION_COOKIE_SECURE": False,
    "SESSION_IDLE_MINUTES": 120,
    "SESSION_LIFETIME_DAYS": 30,
    "MAIL_SERVER": "localhost",
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_DEFAULT_SENDER": "shop@localhost",
    "MAIL_TIMEOUT": 10,  # seconds to wait for the SMTP server to connect or answer any command
    "MAIL_SUPPRESS_SEND": False,
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    "WTF_CSRF_TIME_LIMIT": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # A whole request: several images at once, or a catalogue CSV. Werkzeug spools files to disk,
    # and still caps ordinary form fields at MAX_FORM_MEMORY_SIZE (500 KB).
    "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
}


DEVELOPMENT_BASE_URL = "http://localhost:5000"  # links in emails sent from the CLI in development
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")


class ConfigurationError(RuntimeError):
    """A setting is missing or malformed; the message says how to fix it."""


def is_development(env: str | None) -> bool:
    """Return whether the shop runs for a developer: SHOP_ENV, or else not served by gunicorn.

    Gunicorn (the README's deployment and `make run`) sets SERVER_SOFTWARE before it loads the
    app; the `flask` command, `flask run` and the tests do not.
    """
    if env:
        if env not in ("development", "production"):
            raise ConfigurationError(f"SHOP_ENV is {env!r}; set it to 'development' or 'production'.")
        return env == "development"
    return not os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn/")


def checked_base_url(base_url: str | None, development: bool) -> str | None:
    """Return SHOP_BASE_URL without a trailing slash; raise ConfigurationError if it is unusable."""
    if not base_url:
        if development:
            return None
        raise ConfigurationError(
            "SHOP_BASE_URL is not set. Set it to the shop's public address, for example "
            "SHOP_BASE_URL=https://shop.example: links in emails are built on it, and the shop answers "
            "only to its host name. (To run the shop on your own machine, set SHOP_ENV=development.)"
        )
    parts = urlsplit(str(base_url))
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigurationError(
            f"SHOP_BASE_URL is {base_url!r}; set it to the shop's public address with its scheme, "
            "for example https://shop.example"
        )
    return str(base_url).rstrip("/")


def checked_currency(currency: object) -> str:
    """Return SHOP_CURRENCY lower-cased; raise ConfigurationError for one the shop cannot charge in."""
    code = str(currency).strip().lower()
    if not (len(code) == 3 and code.isascii() and code.isalpha()):
        raise ConfigurationError(f"SHOP_CURRENCY is {currency!r}; set it to a three-letter ISO 4217 code such as "
                                 "usd, eur or jpy.")
    if code in THREE_DECIMAL_CURRENCIES:
        # Stripe takes these only in steps of ten, and the shop's tax, percentage discounts and
        # refunds round to the last of three digits: amounts would be refused or charged wrong.
        raise ConfigurationError(
            f"SHOP_CURRENCY is {code.upper()}, which has three decimal places; the shop does not support "
            f"{', '.join(sorted(c.upper() for c in THREE_DECIMAL_CURRENCIES))}. Set SHOP_CURRENCY to a currency "
            "with two decimal places or none."
        )
    return code


def trusted_hosts(base_url: str | None, development: bool, testing: bool) -> list[str] | None:
    """Return the host names the shop answers to: BASE_URL's, and the loopback names in development.

    A development shop without BASE_URL names the requested host in its links, so it answers
    only on loopback names; under test with no BASE_URL any host goes, as Flask's test tools
    make host names up.
    """
    if not base_url and testing:
        return None
    base_host = urlsplit(base_url).hostname if base_url else None
    hosts = [base_host] if base_host else []
    if development:
        hosts += [host for host in LOOPBACK_HOSTS if host not in hosts]
    return hosts


def cache_settings(cache_url: str | None, key_prefix: str = "shop:") -> dict[str, Any]:
    """Return Flask-Caching's settings: Redis when SHOP_CACHE_URL names it, else a cache in this process."""
    if not cache_url:
        return {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 300}
    if not str(cache_url).startswith(("redis://", "rediss://", "unix://")):
        raise ConfigurationError(f"SHOP_CACHE_URL is {cache_url!r}; set it to a Redis address such as "
                                 "redis://127.0.0.1:6379/1, or leave it unset to cache in each process.")
    return {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": str(cache_url), "CACHE_KEY_PREFIX": key_prefix,
            "CACHE_DEFAULT_TIMEOUT": 300}


def debug_problem(config: dict) -> str | None:
    """Return how to turn DEBUG off when it is on, else None."""
    if not config.get("DEBUG"):
        return None
    return ("DEBUG is on in production: an error page would show the shop's code and settings to anyone. "
            "Remove SHOP_DEBUG and FLASK_DEBUG from the environment (and DEBUG from instance/config.py), "
            "or set SHOP_ENV=development to run the shop on your own machine.")


def base_url_problem(config: dict) -> str | None:
    """Return how to serve the shop over https when SHOP_BASE_URL is not, else None.

    SHOP_TESTING_SERVER lets test fixtures serve plain http, and only on a loopback address, so
    even a flag left on in a deployment cannot expose one.
    """
    base_url = config.get("BASE_URL") or ""
    parts = urlsplit(base_url)
    if parts.scheme == "https" or (config.get("TESTING_SERVER") and parts.hostname in LOOPBACK_HOSTS):
        return None
    https_url = f"https://{parts.netloc}{parts.path}" if parts.hostname else "https://your-shop.example"
    return (f"SHOP_BASE_URL is {base_url!r}, not https: shoppers' passwords, sessions and addresses would cross "
            "the network readable by anyone on the way. Serve the shop over TLS (see the README's nginx example) "
            f"and set SHOP_BASE_URL={https_url}.")


def webhook_secret_problem(config: dict) -> str | None:
    """Return how to set the webhook secret when a Stripe key is set without one, else None."""
    if not config.get("STRIPE_SECRET_KEY") or config.get("STRIPE_WEBHOOK_SECRET"):
        return None
    webhook_url = (config.get("BASE_URL") or "https://your-shop.example").rstrip("/") + "/checkout/webhook"
    return ("SHOP_STRIPE_SECRET_KEY is set but SHOP_STRIPE_WEBHOOK_SECRET is not: the shop could not verify "
            "Stripe's webhooks, so payments completed after a shopper leaves, and refunds, would never be "
            f"recorded. In Stripe's Dashboard (Developers, Webhooks) add the endpoint {webhook_url} and set "
            "SHOP_STRIPE_WEBHOOK_SECRET to its signing secret (whsec_...).")


def unsafe_production_settings(config: dict) -> list[str]:
    """Return, for each setting that would make a production shop unsafe, a message saying how to fix it."""
    problems = (debug_problem(config), base_url_problem(config), webhook_secret_problem(config))
    return [problem for problem in problems if problem]


def refuse_unsafe_production(config: dict) -> None:
    """Raise ConfigurationError, saying how to fix it, for a production setting that would be unsafe."""
    problems = unsafe_production_settings(config)
    if problems:
        raise ConfigurationError("The shop refuses to start in production:\n- " + "\n- ".join(problems))


def refuse_generated_secret_key(workers: int) -> None:
    """Raise ConfigurationError when several processes would each sign sessions with a key of their own.

    Gunicorn calls this before it starts its workers. A generated key lives in one machine's
    instance folder, so a second server or container would sign sessions with another key (and
    shoppers would be logged out as their requests move between them); a production shop that
    runs more than one process is one that grows, so it must be given its key.
    """
    settings = given_settings(instance_path())
    if workers <= 1 or settings.get("SECRET_KEY") or is_development(settings["ENV"]):
        return
    raise ConfigurationError(
        f"The shop refuses to start {workers} workers in production with a secret key generated into "
        f"{Path(instance_path()) / 'secret_key'}: every process and every server must sign sessions with the "
        "same key. Set SHOP_SECRET_KEY to the same value for all of them, for example "
        "SHOP_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))'), "
        "or SECRET_KEY in instance/config.py."
    )


def given_settings(folder: str) -> Config:
    """Return the settings as given: defaults, then the folder's config.py, then SHOP_* environment variables."""
    settings = Config(folder)
    settings.from_mapping(DEFAULTS)
    settings.from_pyfile("config.py", silent=True)
    settings.from_prefixed_env("SHOP")
    return settings


def instance_path() -> str:
    """Return the instance folder: SHOP_INSTANCE_PATH or ./instance beside the package."""
    configured = os.environ.get("SHOP_INSTANCE_PATH")
    if configured:
        return os.path.abspath(configured)
    return str(Path(__file__).resolve().parent.parent / "instance")


def load_or_create_secret_key(folder: str) -> str:
    """Read the instance secret key, creating it with mode 0600 on first use."""
    path = Path(folder) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    # Written aside and linked into place, so workers starting together never read a half-written
    # file; the first link wins and the others read its key.
    draft = path.with_name(f"secret_key.{secrets.token_hex(8)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        draft.unlink()
    return path.read_text().strip()


def database_uri(url: str | None, folder: str) -> str:
    """Turn SHOP_DATABASE_URL into an SQLAlchemy URI, defaulting to SQLite in the instance folder."""
    if not url:
        return "sqlite:///" + os.path.join(folder, "shop.db")
    # Postgres URLs as hosting providers hand them out must go through psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url

"""Default configuration; instance/config.py and SHOP_* environment variables override it."""
import os
import secrets
from pathlib import Path

DEFAULTS = {
    "SHOP_NAME": "Shop",
    "BASE_URL": None,  # absolute links in emails sent outside a request, e.g. https://shop.example
    "PROXY_FIX": False,  # trust one proxy's X-Forwarded-For/Proto (client address for rate limits)
    "CURRENCY": "usd",
    "DATABASE_URL": None,  # None means an SQLite file in the instance folder
    "MEDIA_PATH": None,  # None means <instance>/media
    "PRODUCTS_PER_PAGE": 24,
    "RESERVATION_MINUTES": 60,
    "STRIPE_SECRET_KEY": None,
    "STRIPE_WEBHOOK_SECRET": None,
    "STRIPE_API_BASE": None,
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,  # 429 responses carry Retry-After
    # A fixed window lets an attacker spend two windows' worth of guesses across a boundary.
    "RATELIMIT_STRATEGY": "moving-window",
    # Failed logins allowed per client address and per submitted email; reset emails likewise.
    "LOGIN_LIMIT_PER_IP": "10 per minute; 100 per hour",
    "LOGIN_LIMIT_PER_ACCOUNT": "5 per minute; 20 per hour",
    "PASSWORD_RESET_LIMIT": "5 per hour",
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
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
}


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
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def database_uri(url: str | None, folder: str) -> str:
    """Turn SHOP_DATABASE_URL into an SQLAlchemy URI, defaulting to SQLite in the instance folder."""
    if not url:
        return "sqlite:///" + os.path.join(folder, "shop.db")
    # Postgres URLs as hosting providers hand them out must go through psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url

"""Store settings the owner edits in the admin, each defaulting to its SHOP_* configuration value.

Every page shows the owner's values and the footer's page links, so a page reads neither from the
database. With SHOP_CACHE_URL (Redis) every process shares one copy, fetched once per request: a save
writes the new copy there as it commits, so every process shows the change on its very next request.
Without it each process keeps its own copy for SETTINGS_CACHE_SECONDS: the process that saves
forgets it at once, the others read again when their copy is older than that.

They are read on an engine of their own, a fresh connection each time (two statements every few
seconds, per process or, with the shared copy, for them all): a refresh never waits for a pooled
connection the requests need, never runs inside a request's transaction, and leaves the statements
a page runs the same whenever it happens.
"""
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app, g, has_request_context
from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from shop import text
from shop.database import write_transaction
from shop.extensions import cache, db
from shop.models import StoreSetting, User
from shop.money import MAX_AMOUNT, format_money
from shop.services import audit
from shop.services.taxonomy import FieldRefusal

log = logging.getLogger(__name__)

CACHE = "shop.store_settings"  # the key of this app's cached values in app.extensions
SHARED_KEY = "store_settings"  # the key of the shared copy in the cache (after Flask-Caching's prefix)
REQUEST_COPY = "_store_settings"  # the shared copy as this request fetched it, on flask.g
ENGINE = "shop.store_settings.engine"
MAX_TEXT = 100
MAX_ADDRESS = 300
MAX_EMAILS = 10


@dataclass(frozen=True)
class Setting:
    name: str
    config_key: str  # the SHOP_* setting (without the prefix) that gives the default
    label: str
    kind: str  # "text", "email", "emails", "address", "int", "money", "bool"
    minimum: int = 0  # for "int" and "money"
    maximum: int = MAX_AMOUNT


SETTINGS = (
    Setting("shop_name", "SHOP_NAME", "Shop name", "text"),
    Setting("contact_email", "CONTACT_EMAIL", "Contact email", "email"),
    Setting("address", "ADDRESS", "Postal address", "address"),
    Setting("order_notify_emails", "ORDER_NOTIFY_EMAILS", "Order notification emails", "emails"),
    Setting("low_stock_threshold", "LOW_STOCK_THRESHOLD", "Low-stock threshold", "int", 0, 100_000),
    # Stripe's payment page lives between 30 minutes and a day, whatever the reservation says.
    Setting("reservation_minutes", "RESERVATION_MINUTES", "Minutes an unpaid order holds its stock", "int",
            10, 24 * 60),
    Setting("low_stock_notify_emails", "LOW_STOCK_NOTIFY_EMAILS", "Low-stock notification emails", "emails"),
    Setting("low_stock_digest", "LOW_STOCK_DIGEST", "Send a daily low-stock digest", "bool"),
    Setting("prices_include_tax", "PRICES_INCLUDE_TAX", "Prices are entered including tax", "bool"),
    Setting("tax_shipping", "TAX_SHIPPING", "Shipping is taxed", "bool"),
    Setting("staff_refund_limit_cents", "STAFF_REFUND_LIMIT_CENTS", "Largest refund staff may give", "money"),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}


class InvalidSetting(FieldRefusal):
    """A value the setting cannot take; the settings page shows the message next to its field."""


@dataclass(frozen=True)
class FooterLink:
    slug: str
    title: str


@dataclass
class _Cached:
    values: dict[str, Any]  # the owner's values; a setting missing here takes its default
    footer: list[FooterLink]
    read_at: float = field(default_factory=time.monotonic)


def _clock() -> float:
    return time.monotonic()


def get(name: str) -> Any:
    """Return a store setting's current value: the owner's, else its SHOP_* default."""
    setting = BY_NAME[name]
    values = _cached().values
    # The default is read from the configuration each time, so a changed config applies at once.
    return values[name] if name in values else current_app.config[setting.config_key]


def email_list(name: str) -> list[str]:
    """Return an "emails" setting as its addresses, without blanks or repeats (a default may be a list)."""
    value = get(name) or ""
    addresses = value if isinstance(value, list | tuple) else str(value).split(",")
    return list(dict.fromkeys(address.strip() for address in addresses if address.strip()))


def default(name: str) -> Any:
    """Return the SHOP_* default of a setting, which applies while the owner has not set it."""
    return current_app.config[BY_NAME[name].config_key]


def footer_links() -> list[FooterLink]:
    """Return the published pages the footer links to, in their order."""
    return _cached().footer


def forget() -> None:
    """Drop the copies of the values once a change has committed, so the next read anywhere sees it.

    With the shared cache the new values are written there at once (set, where a process that
    missed only adds), so no process can put back a copy it read before the commit.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    app.extensions.pop(CACHE, None)
    if has_request_context():
        g.pop(REQUEST_COPY, None)
    if not _shared(app):
        return
    try:
        try:
            fresh = _read_database()
        except SQLAlchemyError:  # whoever reads next fills the cache from the database
            cache.delete(SHARED_KEY)
        else:
            cache.set(SHARED_KEY, _for_cache(fresh), timeout=_shared_timeout(app))
    except RedisError as error:
        log.warning("The shared cache cannot be reached; other processes may show the old store settings "
                    "for up to %s s: %s", _seconds(app), error)


def drop_process_copy() -> None:
    """Forget this process's copy, so the next read sees what another process committed."""
    current_app.extensions.pop(CACHE, None)


def init_app(app: Flask) -> None:
    """Read the values once as the app starts, so no shopper's request pays for the first read."""
    with app.app_context():
        app.extensions[CACHE] = _read(None, quiet=True)  # a database not migrated yet is no news here


def _shared(app: Flask) -> bool:
    return bool(app.config.get("CACHE_URL"))


def _seconds(app: Flask) -> float:
    return float(app.config["SETTINGS_CACHE_SECONDS"])


def _shared_timeout(app: Flask) -> int:
    return max(1, math.ceil(_seconds(app)))  # whole seconds for Redis; 0 would mean for ever


def read_committed_for_request() -> None:
    """Read the values from the database for the rest of this request, whatever copy is kept.

    A page kept for every visitor is rendered this way: a kept copy may predate the change that
    retired the pages before it.
    """
    try:
        setattr(g, REQUEST_COPY, _read_database())
    except SQLAlchemyError:
        g.pop(REQUEST_COPY, None)  # the kept copy serves, as for any read that fails


def _cached() -> _Cached:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if has_request_context() and REQUEST_COPY in g:
        return g.get(REQUEST_COPY)
    if not _shared(app):
        return _process_copy(app)
    if not has_request_context():
        return _shared_copy(app)
    if REQUEST_COPY not in g:
        setattr(g, REQUEST_COPY, _shared_copy(app))
    return g.get(REQUEST_COPY)


def _process_copy(app: Flask, why: str = "") -> _Cached:
    """Return this process's copy, read again once it is older than SETTINGS_CACHE_SECONDS."""
    cached: _Cached | None = app.extensions.get(CACHE)
    if cached is None or _clock() - cached.read_at >= _seconds(app):
        if why:
            log.warning("Store settings are read in this process: %s", why)
        cached = _read(cached)
        app.extensions[CACHE] = cached
    return cached


def _shared_copy(app: Flask) -> _Cached:
    """Return the copy in the shared cache, read from the database by whoever finds none there.

    The cache keeps it for SETTINGS_CACHE_SECONDS, for changes made behind the services' back (a
    restore, say). When the cache or the database cannot answer, this process's copy serves.
    """
    try:
        stored = cache.get(SHARED_KEY)
        if stored is None:
            fresh = _read_database()
            cache.add(SHARED_KEY, _for_cache(fresh), timeout=_shared_timeout(app))
            return fresh
    except RedisError as error:
        return _process_copy(app, why=f"the shared cache cannot be reached ({error})")
    except SQLAlchemyError:
        return _process_copy(app)
    return _Cached(dict(stored["values"]), [FooterLink(slug, title) for slug, title in stored["footer"]])


def _for_cache(copy: _Cached) -> dict[str, Any]:
    """Return the copy as plain values, which any version of the shop reads back."""
    return {"values": copy.values, "footer": [(link.slug, link.title) for link in copy.footer]}


def _engine() -> sa.Engine:
    """Return this app's engine for reading settings: the app's database, no pool (nothing left open)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    engine = app.extensions.get(ENGINE)
    if engine is None:
        # The deployment's connection arguments (TLS, timeouts) apply to this engine too.
        connect_args = app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args", {})
        engine = app.extensions[ENGINE] = sa.create_engine(db.engine.url, poolclass=NullPool,
                                                           connect_args=connect_args)
    return engine


def _read_database() -> _Cached:
    """Read the owner's values and the footer's links on a connection of their own."""
    from shop.services.content_pages import read_footer_links  # (it imports this module)

    with _engine().connect() as connection:
        read = connection.execute(sa.select(StoreSetting.name, StoreSetting.value))
        values: dict[str, Any] = {name: value for name, value in read if name in BY_NAME}
        footer = read_footer_links(connection)
    return _Cached(values, footer, _clock())


def _read(previous: _Cached | None, quiet: bool = False) -> _Cached:
    """Read the values and the footer's links, or fall back when the database cannot answer.

    When it cannot (not yet migrated, or down while an error page renders) the last values, or the
    defaults, serve until the next try, and the footer links to the starting pages.
    """
    from shop.services.content_pages import starting_footer_links  # (it imports this module)

    try:
        return _read_database()
    except SQLAlchemyError as error:
        log.log(logging.INFO if quiet else logging.WARNING,
                "Store settings could not be read; using the last known values: %s", error)
        if previous:
            return _Cached(previous.values, previous.footer, _clock())
        return _Cached({}, starting_footer_links(), _clock())


def stored_values() -> dict[str, Any]:
    """Return every setting's value as the database has it now (for the settings form), defaults filled in."""
    rows = db.session.execute(sa.select(StoreSetting.name, StoreSetting.value))
    stored: dict[str, Any] = {name: value for name, value in rows}
    return {setting.name: stored.get(setting.name, default(setting.name)) for setting in SETTINGS}


def save(actor: User, changes: dict[str, Any]) -> dict[str, list[Any]]:
    """Store the owner's values for some settings, audited; return {name: [before, after]} of what changed.

    A value that differs from the current one is checked; a refused one raises InvalidSetting naming
    it, and nothing is saved. An unchanged value passes as it is: a form sends every setting, and a
    SHOP_* default outside what the page accepts must not block saving the others.
    """
    for name in changes:
        if name not in BY_NAME:
            raise ValueError(f"no store setting is called {name!r}")
    with write_transaction():
        rows = {row.name: row for row in db.session.scalars(
            sa.select(StoreSetting).where(StoreSetting.name.in_(changes)).with_for_update())}
        changed: dict[str, list[Any]] = {}
        for name, submitted in changes.items():
            row = rows.get(name)
            before = row.value if row is not None else default(name)
            if _same(before, submitted):
                continue
            value = clean(name, submitted)
            if _same(before, value):
                continue
            changed[name] = [before, value]
            if row is None:
                db.session.add(StoreSetting(name=name, value=value, updated_by_id=actor.id))
            else:
                row.value = value
                row.updated_by_id = actor.id
        if changed:
            labels = ", ".join(BY_NAME[name].label.lower() for name in changed)
            audit.record(actor, "settings.update", "store_settings", None, f"Changed {labels}", changed)
            try:
                db.session.flush()
            except IntegrityError as error:  # another owner saved the same new setting a moment ago
                raise InvalidSetting(next(iter(changed)), "Someone else saved the settings just now; "
                                                          "please check them and save again.") from error
    forget()
    return changed


def _same(before: Any, after: Any) -> bool:
    return type(before) is type(after) and before == after  # True is not 1: a wrong type is checked, and refused


def clean(name: str, value: Any) -> Any:
    """Return the value in the form the setting stores, or raise InvalidSetting saying what is wrong."""
    if name not in BY_NAME:
        raise ValueError(f"no store setting is called {name!r}")
    setting = BY_NAME[name]
    if setting.kind == "bool":
        if not isinstance(value, bool):
            raise InvalidSetting(name, f"{setting.label} is either on or off.")
        return value
    if setting.kind in ("int", "money"):
        return _whole_number(setting, value)
    if not isinstance(value, str):
        raise InvalidSetting(name, f"Please enter the {setting.label.lower()} as text.")
    if setting.kind == "emails":
        return _emails(setting, value)
    value = value.strip()
    if setting.kind == "email":
        return _email(setting, value) if value else ""
    if setting.kind == "address":
        # Lines become commas, the form every reader of the address splits on.
        value = ", ".join(line.strip().strip(",").strip() for line in value.splitlines() if line.strip(" ,"))
        return _text(setting, value, MAX_ADDRESS, required=False)
    return _text(setting, value, MAX_TEXT, required=True)


def _text(setting: Setting, value: str, max_length: int, required: bool) -> str:
    if required and not value:
        raise InvalidSetting(setting.name, f"Please enter the {setting.label.lower()}.")
    if len(value) > max_length:
        raise InvalidSetting(setting.name, f"The {setting.label.lower()} can be at most {max_length} characters long.")
    if not text.storable(value):
        raise InvalidSetting(setting.name, f"The {setting.label.lower()} contains characters we cannot store.")
    return value


def _email(setting: Setting, value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise InvalidSetting(setting.name, f"{value} is not a valid email address: {error}") from error


def _emails(setting: Setting, value: str) -> str:
    addresses = [part.strip() for part in value.replace(";", ",").replace("\n", ",").split(",") if part.strip()]
    if len(addresses) > MAX_EMAILS:
        raise InvalidSetting(setting.name, f"Enter at most {MAX_EMAILS} addresses.")
    unique = list(dict.fromkeys(_email(setting, address) for address in addresses))
    return ", ".join(unique)


def _whole_number(setting: Setting, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidSetting(setting.name, f"Please enter the {setting.label.lower()} as a whole number.")
    if not setting.minimum <= value <= setting.maximum:
        if setting.kind == "money":
            currency = current_app.config["CURRENCY"]
            span = f"{format_money(setting.minimum, currency)} and {format_money(setting.maximum, currency)}"
        else:
            span = f"{setting.minimum:,} and {setting.maximum:,}"
        raise InvalidSetting(setting.name, f"The {setting.label.lower()} must be between {span}.")
    return value

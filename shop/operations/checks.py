"""`flask shop check`: one OK/WARN/FAIL line per thing a production shop needs."""
import os
import shutil
import smtplib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import click
import sqlalchemy as sa
import stripe
from alembic.migration import MigrationContext
from flask import current_app
from flask.cli import with_appcontext

from shop import config as shop_config
from shop.core.health import migration_heads
from shop.extensions import db, mail
from shop.models import OutboxEmail
from shop.models.base import now_utc

OK, WARN, FAIL = "OK", "WARN", "FAIL"
# 32 hex characters are 128 random bits; the generated key has 64.
MIN_SECRET_KEY_LENGTH = 32
# Below these, SQLite's writes, uploads and backups start to fail.
DISK_WARN_BYTES = 1024**3
DISK_FAIL_BYTES = 100 * 1024**2
NEW_KEY_COMMAND = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


@dataclass(frozen=True)
class CheckResult:
    """One checked item: its name, OK/WARN/FAIL, and what was found or how to fix it."""

    name: str
    status: str
    message: str

    def line(self) -> str:
        """Return the result as the command prints it: status, name, message in columns."""
        return f"{self.status:<4}  {self.name:<15}  {self.message}"


def run_checks() -> list[CheckResult]:
    """Check the configuration and everything the shop depends on; return one result per item."""
    checks: list[tuple[str, Callable[[], tuple[str, str]]]] = [
        ("secret key", check_secret_key), ("debug", check_debug), ("base URL", check_base_url),
        ("database", check_database), ("mail server", check_mail_server), ("stripe", check_stripe),
        ("stripe webhook", check_stripe_webhook), ("instance folder", check_instance_folder),
        ("media storage", check_media_storage), ("free disk", check_free_disk), ("outbox", check_outbox),
    ]
    results = []
    for name, check in checks:
        try:
            status, message = check()
        except Exception as error:  # one broken dependency must not hide the other items
            db.session.rollback()
            status, message = FAIL, f"could not be checked: {type(error).__name__}: {error}"
        results.append(CheckResult(name, status, message))
    return results


def production() -> bool:
    """Return whether the shop runs in production."""
    return current_app.config["ENV"] == "production"


def check_secret_key() -> tuple[str, str]:
    """Pass a given key of 32 characters or more; in production, warn that a generated one suits one process only."""
    config = current_app.config
    if config["SECRET_KEY_GENERATED"]:
        path = os.path.join(current_app.instance_path, "secret_key")
        if not production():
            return OK, f"generated into {path}"
        return WARN, (f"generated into {path}: right for one process on this server only. Before running more "
                      f"workers or servers, set SHOP_SECRET_KEY to the same value for all of them ({NEW_KEY_COMMAND})")
    length = len(str(config["SECRET_KEY"]))
    if length < MIN_SECRET_KEY_LENGTH:
        return (FAIL if production() else WARN), (
            f"given, but only {length} characters: a short key can be guessed, and then sessions forged. "
            f"Set SHOP_SECRET_KEY to {MIN_SECRET_KEY_LENGTH} or more random characters ({NEW_KEY_COMMAND})")
    return OK, f"given ({length} characters)"


def check_debug() -> tuple[str, str]:
    """Fail when DEBUG is on in production."""
    problem = shop_config.debug_problem(current_app.config)
    if problem:
        return (FAIL, problem) if production() else (OK, "on (development)")
    return OK, "off"


def check_base_url() -> tuple[str, str]:
    """Fail when a production shop's SHOP_BASE_URL is not https."""
    base_url = current_app.config["BASE_URL"]
    if not production():
        return OK, f"{base_url or 'not set: links name the address requested'} (development)"
    problem = shop_config.base_url_problem(current_app.config)
    if problem:
        return FAIL, problem
    if not base_url.startswith("https://"):
        return WARN, f"{base_url}: plain http, allowed by SHOP_TESTING_SERVER, which only tests may set"
    return OK, base_url


def check_database() -> tuple[str, str]:
    """Fail when the database cannot be reached or is not migrated to this code's latest revision."""
    where = db.engine.url.render_as_string(hide_password=True)
    try:
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except sa.exc.DBAPIError as error:
        first_line = (str(error.orig).strip() or type(error.orig).__name__).splitlines()[0]
        return FAIL, (f"{where} cannot be reached: {_sentence(first_line)} "
                      "Check SHOP_DATABASE_URL and that the database server is running")
    heads = set(migration_heads(current_app.extensions["migrate"].directory))
    if current == heads:
        return OK, f"{where}, migrated to {', '.join(sorted(heads))} (the latest)"
    if not current:
        return FAIL, f"{where} is not migrated: run `flask db upgrade`"
    return FAIL, (f"{where} is at revision {', '.join(sorted(current))}, this code needs "
                  f"{', '.join(sorted(heads))}: run `flask db upgrade` (after a backup)")


def check_mail_server() -> tuple[str, str]:
    """Connect as the outbox sender does (TLS and login included) and say NOOP."""
    config = current_app.config
    where = f"{config['MAIL_SERVER']}:{config['MAIL_PORT']}"
    try:
        with mail.connect() as connection:
            if connection.host is None:  # Flask-Mail connects nowhere when sending is suppressed
                return WARN, "SHOP_MAIL_SUPPRESS_SEND is on: no email leaves the shop"
            code, _ = connection.host.noop()
    except smtplib.SMTPAuthenticationError as error:
        return FAIL, (f"{where} refused the login of {config['MAIL_USERNAME']!r} ({error.smtp_code}): "
                      "check SHOP_MAIL_USERNAME and SHOP_MAIL_PASSWORD")
    except smtplib.SMTPException as error:
        return FAIL, (f"{where} refused the connection: {_sentence(error)} Check SHOP_MAIL_USE_TLS, "
                      "SHOP_MAIL_USE_SSL and the login settings; emails wait in the outbox meanwhile")
    except OSError as error:
        return FAIL, (f"{where} cannot be reached: {_sentence(error)} Check SHOP_MAIL_SERVER and "
                      "SHOP_MAIL_PORT, and that the mail server is running; emails wait in the outbox meanwhile")
    if code != 250:
        return FAIL, f"{where} answered NOOP with {code}"
    login = f", logged in as {config['MAIL_USERNAME']}" if config["MAIL_USERNAME"] and config["MAIL_PASSWORD"] else ""
    return OK, f"{where} answers{login}"


def check_stripe() -> tuple[str, str]:
    """Ask Stripe for the account's balance with the shop's own client: the key works, or it does not."""
    from shop.services import stripe_gateway

    if not current_app.config["STRIPE_SECRET_KEY"]:
        if production():
            return FAIL, ("SHOP_STRIPE_SECRET_KEY is not set: checkout sends shoppers to the built-in test-payment "
                          "page, where anyone can mark an order paid without paying. Set SHOP_STRIPE_SECRET_KEY "
                          "and SHOP_STRIPE_WEBHOOK_SECRET from Stripe's Dashboard")
        return OK, "no key: payments go through the built-in test-payment page (development)"
    try:
        balance = stripe_gateway.client().v1.balance.retrieve()
    except stripe.AuthenticationError as error:
        return FAIL, (f"Stripe refused the key: {_sentence(error.user_message or error)} Copy the secret key "
                      "(sk_live_...) from Stripe's Dashboard (Developers, API keys) into SHOP_STRIPE_SECRET_KEY")
    except stripe.PermissionError:
        return WARN, ("Stripe knows the key, but it may not read the balance: make sure this restricted key may "
                      "write Checkout Sessions and refunds")
    except stripe.StripeError as error:
        return FAIL, f"Stripe could not be asked: {_sentence(error.user_message or error)}"
    if not balance.livemode:
        return (WARN if production() else OK), "test key accepted: no real money is taken"
    return OK, "live key accepted"


def check_stripe_webhook() -> tuple[str, str]:
    """Fail (in development, warn) when a Stripe key is set without the webhook's signing secret."""
    if not current_app.config["STRIPE_SECRET_KEY"]:
        return OK, "not needed without a Stripe key"
    problem = shop_config.webhook_secret_problem(current_app.config)
    if problem:
        return (FAIL if production() else WARN), problem
    return OK, "signing secret set"


def check_instance_folder() -> tuple[str, str]:
    """Write a probe file in the instance folder, where the secret key, the SQLite database and backups go."""
    folder = current_app.instance_path
    problem = _unwritable(folder)
    if problem:
        return FAIL, (f"{folder} is not writable ({problem}): give the user that runs the shop write access, "
                      "or set SHOP_INSTANCE_PATH to a folder it can write")
    return OK, f"{folder} is writable"


def check_media_storage() -> tuple[str, str]:
    """Write and delete a probe file where uploaded images go: the media folder or the S3 bucket."""
    from shop.operations.storage import current_storage, storage_problem

    problem = storage_problem()
    if problem:
        return FAIL, problem
    return OK, f"{current_storage().location} is writable"


def check_free_disk(warn_below: int = DISK_WARN_BYTES, fail_below: int = DISK_FAIL_BYTES) -> tuple[str, str]:
    """Warn, then fail, when the fuller of the instance's and the media folder's filesystems runs low."""
    from shop.operations.storage import local_media_folder

    folders = [current_app.instance_path, local_media_folder()]
    free, folder = min((shutil.disk_usage(_existing(folder)).free, folder) for folder in folders if folder)
    message = f"{free / 1024**3:.1f} GB free for {folder}"
    if free < fail_below:
        return FAIL, f"{message}: orders, uploads and backups will fail; make room or move the folder"
    if free < warn_below:
        return WARN, f"{message}: less than {warn_below / 1024**3:.1f} GB, make room soon"
    return OK, message


def check_outbox() -> tuple[str, str]:
    """Warn of emails due for longer than OUTBOX_STUCK_MINUTES (as /readyz counts them) or given up on."""
    from shop.services.mail import MAX_ATTEMPTS

    now = now_utc()
    unsent, trying = OutboxEmail.sent_at.is_(None), OutboxEmail.attempts < MAX_ATTEMPTS
    waiting = db.session.scalar(sa.select(sa.func.count()).where(unsent, trying))
    stuck, oldest_due = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(OutboxEmail.next_attempt_at)).where(
            unsent, trying, OutboxEmail.next_attempt_at < now - timedelta(
                minutes=int(current_app.config["OUTBOX_STUCK_MINUTES"])))).one()
    given_up = db.session.scalar(sa.select(sa.func.count()).where(unsent, ~trying))
    last_error = db.session.scalar(sa.select(OutboxEmail.last_error).where(unsent, OutboxEmail.last_error != "")
                                   .order_by(OutboxEmail.id.desc()).limit(1))
    db.session.rollback()
    problems = []
    if stuck:
        minutes = int((now - oldest_due).total_seconds() // 60)
        problems.append(f"{stuck} of {waiting} waiting email(s) due for too long, the oldest for {minutes} minutes")
    if given_up:
        problems.append(f"{given_up} email(s) given up after {MAX_ATTEMPTS} attempts")
    if problems:
        cause = f" (last error: {last_error})" if last_error else ""
        return WARN, "; ".join(problems) + f"{cause}. Fix the mail server, then run `flask shop send-emails`"
    return OK, f"{waiting} email(s) waiting" if waiting else "no email waiting"


def _sentence(error: object) -> str:
    """Return an error's text ending in one full stop (socket timeouts have no text: their name then)."""
    text = str(error).strip() or type(error).__name__
    return text.rstrip(".") + "."


def _unwritable(folder: str) -> str | None:
    """Return why a file cannot be created in the folder, or None when a probe file was written and removed."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".check-"):
            pass
    except OSError as error:
        return error.strerror or str(error)
    return None


def _existing(path: str) -> str:
    """Return the path, or its nearest existing parent (a media folder is made on the first upload)."""
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path


@click.command("check")
@with_appcontext
def check_command() -> None:
    """Check the configuration and the environment; exit non-zero when anything fails."""
    results = run_checks()
    for result in results:
        click.echo(result.line())
    failed = sum(result.status == FAIL for result in results)
    warned = sum(result.status == WARN for result in results)
    click.echo(f"{failed} failed, {warned} warning(s), {len(results) - failed - warned} OK")
    if failed:
        raise SystemExit(1)

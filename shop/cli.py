"""The `flask shop ...` commands."""
import click
from flask.cli import AppGroup

shop_group = AppGroup("shop", help="Shop administration commands.")


@shop_group.command("seed-demo")
@click.option("--products", default=200, show_default=True, type=click.IntRange(1, 200_000))
def seed_demo_command(products: int) -> None:
    """Load a demo catalogue (idempotent)."""
    from shop.services.demo import seed_demo

    summary = seed_demo(products)
    click.echo(summary)


@shop_group.command("reindex")
def reindex_command() -> None:
    """Rebuild the search index, the filters' data and the spelling vocabulary from the catalogue."""
    from shop.database import write_transaction
    from shop.services import search_index

    with write_transaction():
        count = search_index.rebuild()
    click.echo(f"Search index rebuilt: {count} products.")


@shop_group.command("create-admin")
@click.argument("email")
@click.option("--name", default="Admin", show_default=True)
@click.password_option("--password", prompt="Password", help="Asked for when omitted.")
def create_admin_command(email: str, name: str, password: str) -> None:
    """Create an admin account, or make an existing account an admin."""
    from shop.services import ShopError
    from shop.services.accounts import create_admin

    try:
        user = create_admin(email, password, name=name)
    except ShopError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Admin ready: {user.email}")


@shop_group.command("is-empty")
def is_empty_command() -> None:
    """Exit 0 when the catalogue has no products (used by `make run` to seed once)."""
    import sqlalchemy as sa

    from shop.extensions import db
    from shop.models import Product

    has_products = db.session.scalar(sa.select(Product.id).limit(1)) is not None
    raise SystemExit(1 if has_products else 0)


@shop_group.command("send-emails")
def send_emails_command() -> None:
    """Deliver queued emails now, in this process (run it from cron to catch up after SMTP outages).

    Emails held back by an outage go at once; one the server refused waits out its backoff.
    """
    from shop.services.mail import deliver_pending

    sent, failed = deliver_pending(limit=1000)
    click.echo(f"Sent {sent} email(s); {failed} failed and stay queued.")


@shop_group.command("release-expired")
def release_expired_command() -> None:
    """Give back the stock of unpaid orders whose reservation has run out (run it from cron)."""
    from shop.services.orders import release_expired_reservations

    released = release_expired_reservations()
    click.echo(f"Released the reservations of {released} expired order(s).")
    _send_reminders()


@shop_group.command("send-reminders")
def send_reminders_command() -> None:
    """Email one reminder for each abandoned checkout whose shopper asked for it (run it from cron)."""
    _send_reminders()


def _send_reminders() -> None:
    from shop.services.mail import deliver_pending
    from shop.services.recovery import send_reminders

    sent = send_reminders()
    if sent:
        deliver_pending(limit=1000)
    click.echo(f"Sent {sent} checkout reminder(s).")


@shop_group.command("low-stock-digest")
def low_stock_digest_command() -> None:
    """Email the daily list of variants at or below the low-stock threshold, when the digest is on (for cron)."""
    from shop.services.mail import deliver_pending
    from shop.services.stock_alerts import send_digest

    outcome = send_digest()
    if outcome.sent_to:
        deliver_pending(limit=1000)
    click.echo(outcome.message)


@shop_group.command("reconcile-payments")
@click.option("--days", default=3, show_default=True, type=click.IntRange(1, 90),
              help="How far back to look at Stripe Checkout Sessions.")
def reconcile_payments_command(days: int) -> None:
    """Apply Stripe payments, expiries and refund outcomes of the last days that the webhook missed."""
    from shop.services import ShopError
    from shop.services.mail import deliver_pending
    from shop.services.payments import reconcile_payments
    from shop.services.refunds import reconcile_refunds

    checked = changed = refunds_checked = 0
    try:
        for session_id, number, change in reconcile_payments(days):
            checked += 1
            if change:
                changed += 1
                click.echo(f"Order {number} ({session_id}): {change}")
        for number, refund, change in reconcile_refunds():
            refunds_checked += 1
            if change:
                changed += 1
                click.echo(f"Order {number} ({refund}): {change}")
    except ShopError as error:
        raise click.ClickException(
            f"{error} Checked {checked} session(s) and {refunds_checked} pending refund(s) and changed "
            f"{changed} order(s) before stopping."
        ) from error
    if changed:
        deliver_pending(limit=1000)
    click.echo(f"Checked {checked} Checkout Session(s) from the last {days} day(s) and {refunds_checked} pending "
               f"refund(s); changed {changed} order(s).")


def _add_operations_commands() -> None:
    from shop.operations.backup import backup_command, restore_command
    from shop.operations.checks import check_command

    for command in (backup_command, restore_command, check_command):
        shop_group.add_command(command)


_add_operations_commands()

"""The reminder of an abandoned checkout as the shopper meets it: the email, the restore link, the unsubscribe link."""
import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import EmailOptOut, Order
from shop.models.base import now_utc
from shop.services import recovery
from shop.services.cart import read_cart
from tests.factories import make_product


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def lamp(app, shipping_methods):
    variant = make_product("Desk Lamp", price_cents=4500, stock=10).variants[0]
    db.session.commit()
    return variant.id


def abandon_checkout(client, checkout_cart, checkout_form, lamp: int, **fields) -> Order:
    """Check out two lamps and walk away: the reservation ran out five hours ago."""
    checkout_cart({lamp: 2})
    response = client.post("/checkout", data=checkout_form(**fields))
    assert response.status_code == 303, text(response)
    db.session.rollback()
    order = db.session.scalar(sa.select(Order).order_by(Order.id.desc()))
    db.session.execute(sa.update(Order).where(Order.id == order.id).values(
        created_at=now_utc() - timedelta(hours=5), reserved_until=now_utc() - timedelta(hours=4)))
    db.session.commit()
    return order


def reminder_paths(message) -> tuple[str, str]:
    body = message.get_body(("plain",)).get_content()
    restore = re.search(r"https?://[^/\s]+(/checkout/restore/\S+)", body)
    stop = re.search(r"https?://[^/\s]+(/checkout/reminders/stop/\S+)", body)
    assert restore and stop, body
    return restore.group(1), stop.group(1)


def test_a_consented_checkout_that_expires_gets_one_reminder_that_restores_the_cart(
        app, client, runner, mail_outbox, lamp, checkout_cart, checkout_form):
    order = abandon_checkout(client, checkout_cart, checkout_form, lamp, reminder="y")
    assert order.recovery_consent

    result = runner.invoke(args=["shop", "release-expired"])

    assert result.exit_code == 0, result.output
    assert "Released the reservations of 1 expired order(s)." in result.output
    assert "Sent 1 checkout reminder(s)." in result.output
    [message] = mail_outbox
    assert message["To"] == "guest@example.com" and message["Subject"] == "You left something in your cart"
    restore, _ = reminder_paths(message)
    assert "Sent 0 checkout reminder(s)." in runner.invoke(args=["shop", "send-reminders"]).output

    browser = app.test_client()  # the email opened on another device, not logged in
    page = browser.get(restore)
    assert page.status_code == 200
    assert "2 × Desk Lamp" in text(page) and "Put them back in my cart" in text(page)
    with browser.session_transaction() as session:
        assert read_cart(session) == {}, "opening the link changes nothing"

    response = browser.post(restore, follow_redirects=True)

    assert response.request.path == "/cart"
    assert "Added 2 × Desk Lamp to your cart." in text(response)
    with browser.session_transaction() as session:
        assert read_cart(session) == {lamp: 2}


def test_no_reminder_without_the_tick(client, runner, mail_outbox, lamp, checkout_cart, checkout_form):
    order = abandon_checkout(client, checkout_cart, checkout_form, lamp)
    assert not order.recovery_consent

    result = runner.invoke(args=["shop", "release-expired"])

    assert "Released the reservations of 1 expired order(s)." in result.output
    assert "Sent 0 checkout reminder(s)." in result.output and mail_outbox == []


def test_the_unsubscribe_link_works_without_logging_in(app, client, runner, mail_outbox, lamp, checkout_cart,
                                                      checkout_form):
    abandon_checkout(client, checkout_cart, checkout_form, lamp, reminder="y")
    runner.invoke(args=["shop", "release-expired"])
    _, stop = reminder_paths(mail_outbox[0])
    browser = app.test_client()

    page = browser.get(stop)
    assert page.status_code == 200 and "Stop checkout reminders" in text(page)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EmailOptOut)) == 0

    response = browser.post(stop, follow_redirects=True)

    assert "guest@example.com will get no more checkout reminders." in text(response)
    assert "gets no checkout reminders" in text(response)
    assert db.session.scalar(sa.select(EmailOptOut.email)) == "guest@example.com"
    assert browser.post(stop, csrf=False).status_code == 400


def test_bad_links_get_a_clear_page(client, lamp):
    for path in ("/checkout/restore/forged.token", "/checkout/reminders/stop/forged.token",
                 "/checkout/restore/" + "x" * 3000):
        response = client.get(path)
        assert response.status_code == 404
        assert "This link is not valid or has expired." in text(response)
    assert client.post("/checkout/restore/forged.token").status_code == 404


def test_a_completed_order_has_nothing_to_restore(app, client, lamp, checkout_cart, checkout_form):
    order = abandon_checkout(client, checkout_cart, checkout_form, lamp, reminder="y")
    db.session.execute(sa.update(Order).where(Order.id == order.id).values(status="paid", payment_status="paid"))
    db.session.commit()
    path = f"/checkout/restore/{recovery.restore_token(order.number)}"

    assert "went ahead after all" in text(client.get(path))
    response = client.post(path, follow_redirects=True)
    assert "went ahead after all" in text(response)


def test_the_restore_page_runs_the_same_statements_for_one_item_or_many(app, client, count_queries, details):
    from shop.services.orders import expire_order, place_order

    variants = [make_product(f"Lamp {index}", stock=5).variants[0] for index in range(4)]
    db.session.commit()
    small = place_order({variants[0].id: 1}, details(), None)
    large = place_order({variant.id: 1 for variant in variants}, details(), None)
    for order in (small, large):
        expire_order(order.id)
    counts = []
    for order in (small, large):
        path = f"/checkout/restore/{recovery.restore_token(order.number)}"
        with count_queries() as statements:
            assert client.get(path).status_code == 200
        counts.append(len(statements))

    assert counts[0] == counts[1]

"""The shopper cancels an order from its page: by the emailed link, as a guest or from the account;
nobody else can, nothing shipped can be, and a cancellation happens once."""
import html
import re
from types import SimpleNamespace

import pytest
import requests
import sqlalchemy as sa
from itsdangerous import URLSafeSerializer

from shop.extensions import db
from shop.models import Coupon, CouponKind, Order, OrderItem, OutboxEmail, Refund
from shop.services import fulfilment, orders, refunds
from shop.services.lifecycle import Actor
from shop.services.mail import deliver_pending
from shop.services.orders import order_token, place_order, record_payment
from tests.concurrency import all_at_once
from tests.factories import make_product, make_user, stock
from tests.plugins.accounts import AuthActions
from tests.plugins.checkout import payment_reference_of
from tests.shopper_http import hidden_fields


@pytest.fixture
def goods(app, shipping_methods):
    """A $12.50 mug (5 in stock) and a $45.00 lamp (3 in stock), as plain values that outlive requests."""
    mug = make_product("Mug", price_cents=1250, stock=5).variants[0]
    lamp = make_product("Desk Lamp", price_cents=4500, stock=3).variants[0]
    db.session.commit()
    return SimpleNamespace(mug=mug.id, lamp=lamp.id)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def words(response) -> str:
    """Return the page's text as a reader sees it: no tags, single spaces."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def forget_mail(mail_outbox) -> None:
    """Send what the set-up queued outside a request, then forget it: the test looks at what follows."""
    deliver_pending()
    mail_outbox.clear()


def order_row(number: str) -> Order:
    db.session.rollback()
    return db.session.scalar(sa.select(Order).where(Order.number == number)
                             .execution_options(populate_existing=True))


def refund_rows(number: str) -> list[Refund]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(Refund).join(Order).where(Order.number == number).order_by(Refund.id)))


def item_ids(number: str) -> dict[int, int]:
    """Return {variant id: order item id} for the order's lines."""
    db.session.rollback()
    return dict(db.session.execute(sa.select(OrderItem.variant_id, OrderItem.id).join(Order)
                                   .where(Order.number == number)).all())


def buy(client, checkout_cart, checkout_form, lines: dict, pay: bool = True, **fields) -> str:
    """Check out the lines on this client (a browser), pay on the test page unless told not to; return the number."""
    checkout_cart(lines, on=client)
    placed = client.post("/checkout", data=checkout_form(**fields))
    assert placed.status_code == 303, text(placed)
    reference = payment_reference_of(placed)
    if pay:
        assert client.post(f"/checkout/test-payment/{reference}", data={"pay": "Pay"}).status_code == 303
    db.session.rollback()
    return db.session.scalar(sa.select(Order.number).where(Order.payment_reference == reference))


def emailed_link(message) -> str:
    """Return the order link an email gives, as a path on the test client."""
    body = message.get_body(("plain",)).get_content()
    link = body.split("See your order at any time: ")[1].split()[0]
    assert link.startswith("http://localhost/orders/")
    return link.removeprefix("http://localhost")


def signed(number: str) -> str:
    return f"/orders/{number}?token={order_token(number)}"


def confirm_cancel(client, path: str):
    """Open the cancel confirmation page at `path` and press its button, as a browser would."""
    page = client.get(path)
    assert page.status_code == 200, text(page)
    action = re.search(r'<form method="post" action="([^"]+)"', page.get_data(as_text=True)).group(1)
    fields = hidden_fields(page.get_data(as_text=True), html.unescape(action))
    return client.post(html.unescape(action), data={**fields, "confirm": "yes"}, follow_redirects=True)


def cancel_link(page_text: str) -> str | None:
    found = re.search(r'<a class="button" href="([^"]+)">Cancel this order</a>', page_text)
    return html.unescape(found.group(1)) if found else None


def flashes(response) -> str:
    """Return the page's flash messages."""
    return " ".join(re.findall(r'<p class="flash flash-\w+" role="status">(.*?)</p>', text(response), re.S))


def subjects(mail_outbox) -> list[str]:
    return [message["Subject"] for message in mail_outbox]


def test_a_guest_cancels_an_unpaid_order_from_the_signed_link(client, app, goods, checkout_cart, checkout_form,
                                                               mail_outbox):
    number = buy(client, checkout_cart, checkout_form, {goods.mug: 2}, pay=False)
    assert stock(goods.mug) == 3 and order_row(number).payment_reference.startswith("test_")

    elsewhere = app.test_client()  # the guest's phone: no session, only the link
    order_page = text(elsewhere.get(signed(number)))
    assert "Awaiting payment" in order_page
    link = cancel_link(elsewhere.get(signed(number)).get_data(as_text=True))
    assert link is not None
    confirmation = text(elsewhere.get(link))
    assert f"Cancel order {number}?" in confirmation and "Nothing has been charged" in confirmation

    done = confirm_cancel(elsewhere, link)
    assert done.request.path == f"/orders/{number}"
    assert f"Order {number} is cancelled. Nothing was charged." in text(done)
    assert "Cancel this order" not in text(done)
    order = order_row(number)
    assert (order.status, order.payment_status, order.refunded_cents) == ("cancelled", "unpaid", 0)
    assert order.cancelled_at is not None and refund_rows(number) == []
    assert stock(goods.mug) == 5

    [email] = mail_outbox
    assert email["To"] == "guest@example.com" and email["Subject"] == f"Your order {number} is cancelled"
    body = email.get_body(("plain",)).get_content()
    assert "You have not been charged" in body and emailed_link(email).startswith(f"/orders/{number}?token=")


def test_a_guest_cancels_a_paid_order_with_a_coupon_and_is_refunded_in_full(
        client, app, goods, checkout_cart, checkout_form, mail_outbox):
    db.session.add(Coupon(code="SAVE5", kind=CouponKind.FIXED, value=500, usage_limit=10))
    db.session.commit()
    number = buy(client, checkout_cart, checkout_form, {goods.mug: 1, goods.lamp: 1}, coupon="save5")
    paid = order_row(number)
    total = paid.total_cents
    assert (paid.coupon_code, paid.coupon_use_counted, paid.discount_cents) == ("SAVE5", True, 500)
    assert total == 1250 + 4500 - 500 + 599
    assert db.session.scalar(sa.select(Coupon.times_used)) == 1
    assert (stock(goods.mug), stock(goods.lamp)) == (4, 2)
    [confirmation_email] = mail_outbox
    link = emailed_link(confirmation_email)
    mail_outbox.clear()

    elsewhere = app.test_client()
    page = elsewhere.get(link).get_data(as_text=True)
    cancel_path = cancel_link(page)
    assert cancel_path is not None
    confirmation = words(elsewhere.get(cancel_path))
    assert "We will refund $58.49 to your original payment method" in confirmation

    done = confirm_cancel(elsewhere, cancel_path)
    assert f"Order {number} is cancelled and $58.49 refunded." in text(done)
    assert "Cancelled and refunded" in text(done)
    assert "$58.49" in done.get_data(as_text=True).split('id="refunds-title"')[1]

    order = order_row(number)
    assert (order.status, order.payment_status) == ("cancelled", "refunded")
    assert order.refunded_cents == total and order.remaining_cents == 0
    assert order.coupon_use_counted is False
    assert db.session.scalar(sa.select(Coupon.times_used).execution_options(populate_existing=True)) == 0
    assert (stock(goods.mug), stock(goods.lamp)) == (5, 3)
    [refund] = refund_rows(number)
    assert (refund.amount_cents, refund.status, refund.cancels_order, refund.actor_kind) == (
        total, "succeeded", True, "customer")
    assert refund.provider_refund_id.startswith("test_re_")

    assert subjects(mail_outbox) == [f"Your order {number} is cancelled"]
    body = mail_outbox[0].get_body(("plain",)).get_content()
    assert "We have refunded $58.49" in body


def test_the_owner_cancels_from_the_account_order_page(client, user, goods, details, mail_outbox):
    order = place_order({goods.lamp: 1}, details(email=user.email), user_id=user.id)
    number, order_id, total = order.number, order.id, order.total_cents
    record_payment(order_id, amount_cents=total, currency="usd", reference=f"test_{order_id}", provider="test")
    forget_mail(mail_outbox)

    listing = client.get("/account/orders").get_data(as_text=True)
    assert f'href="/orders/{number}"' in listing
    moved = client.get(f"/account/orders/{number}")
    assert moved.status_code == 301 and moved.headers["Location"].endswith(f"/orders/{number}")
    page = client.get(f"/orders/{number}")  # logged in: no token needed
    assert page.status_code == 200 and cancel_link(page.get_data(as_text=True)) is not None

    done = confirm_cancel(client, f"/orders/{number}/cancel")
    assert f"Order {number} is cancelled and $50.99 refunded." in text(done)
    cancelled = order_row(number)
    assert (cancelled.status, cancelled.payment_status, cancelled.refunded_cents) == ("cancelled", "refunded", total)
    assert stock(goods.lamp) == 3
    assert subjects(mail_outbox) == [f"Your order {number} is cancelled"]
    assert mail_outbox[0]["To"] == user.email


@pytest.fixture
def victim(goods, details, mail_outbox):
    """An account holder's paid order of one lamp (and another shopper's order): the intruders' target."""
    owner = make_user("owner@example.com")
    db.session.commit()
    target = place_order({goods.lamp: 1}, details(email=owner.email), user_id=owner.id)
    record_payment(target.id, amount_cents=target.total_cents, currency="usd", reference=f"test_{target.id}",
                   provider="test")
    other = place_order({goods.mug: 1}, details(email="other@example.com"), user_id=None)
    record_payment(other.id, amount_cents=other.total_cents, currency="usd", reference=f"test_{other.id}",
                   provider="test")
    numbers = SimpleNamespace(target=order_row(target.number).number, other=order_row(other.number).number)
    forget_mail(mail_outbox)
    return numbers


def _forged(number: str) -> str:
    return URLSafeSerializer("not-the-shop-secret", salt=orders.TOKEN_SALT).dumps(number)


def _tampered(token: str) -> str:
    # Not the last character: it carries padding bits, and some changes to it decode to the same signature.
    return token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]


INTRUDERS = {
    "another logged-in account": lambda numbers: None,
    "an anonymous visitor without the token": lambda numbers: None,
    "a made-up token": lambda numbers: "forged",
    "a token signed with another key": lambda numbers: _forged(numbers.target),
    "the order's token with its signature changed": lambda numbers: _tampered(order_token(numbers.target)),
    "another order's token": lambda numbers: order_token(numbers.other),
}


@pytest.mark.parametrize("intruder", INTRUDERS)
def test_nobody_else_can_see_or_cancel_the_order(client, app, goods, victim, mail_outbox, intruder):
    stranger = app.test_client()
    if intruder == "another logged-in account":
        make_user("intruder@example.com")
        db.session.commit()
        assert AuthActions(stranger).login("intruder@example.com").status_code == 302
    token = INTRUDERS[intruder](victim)
    query = f"?token={token}" if token is not None else ""
    form = {"confirm": "yes", **({"token": token} if token is not None else {})}
    number = victim.target

    assert stranger.get(f"/orders/{number}{query}").status_code == 404
    assert stranger.get(f"/orders/{number}/cancel{query}").status_code == 404
    assert stranger.post(f"/orders/{number}/cancel", data=form).status_code == 404
    assert stranger.post(f"/orders/{number}/cancel{query}", data=form).status_code == 404
    if intruder == "another logged-in account":
        assert stranger.get(f"/account/orders/{number}", follow_redirects=True).status_code == 404

    order = order_row(number)
    assert (order.status, order.payment_status, order.refunded_cents, order.cancelled_at) == ("paid", "paid", 0, None)
    assert refund_rows(number) == [] and stock(goods.lamp) == 2
    assert order_row(victim.other).status == "paid"
    assert mail_outbox == []


def ship(number: str, lines: dict[int, int], boss) -> None:
    ids = item_ids(number)
    fulfilment.ship(order_row(number).id, fulfilment.Parcel(
        quantities={ids[variant]: units for variant, units in lines.items()}, carrier="Royal Mail",
        tracking_number="AB123456789GB"), Actor.admin(boss))


@pytest.mark.parametrize("everything", [False, True], ids=["one item shipped", "everything shipped"])
def test_a_shipped_order_cannot_be_cancelled(client, app, goods, checkout_cart, checkout_form, boss, mail_outbox,
                                             everything):
    number = buy(client, checkout_cart, checkout_form, {goods.mug: 1, goods.lamp: 1})
    ship(number, {goods.mug: 1, goods.lamp: 1} if everything else {goods.mug: 1}, boss)
    forget_mail(mail_outbox)
    before = order_row(number)
    status, refunded = before.status, before.refunded_cents
    assert status == ("shipped" if everything else "paid")

    page = client.get(signed(number)).get_data(as_text=True)
    assert cancel_link(page) is None and "Cancel this order" not in page

    asked = client.get(f"/orders/{number}/cancel", follow_redirects=True)
    message = flashes(asked)
    assert asked.request.path == f"/orders/{number}"
    assert f"Order {number} can no longer be cancelled" in message
    assert "shipped" in message, f"the refusal does not say why: {message!r}"

    posted = client.post(f"/orders/{number}/cancel", data={"confirm": "yes"}, follow_redirects=True)
    assert f"Order {number} can no longer be cancelled" in flashes(posted)
    after = order_row(number)
    assert (after.status, after.payment_status, after.refunded_cents) == (status, "paid", refunded)
    assert refund_rows(number) == [] and (stock(goods.mug), stock(goods.lamp)) == (4, 2)
    assert mail_outbox == []


def test_pressing_yes_twice_cancels_and_refunds_once(client, goods, checkout_cart, checkout_form, mail_outbox):
    number = buy(client, checkout_cart, checkout_form, {goods.mug: 2})
    mail_outbox.clear()
    page = client.get(f"/orders/{number}/cancel").get_data(as_text=True)
    fields = hidden_fields(page, f"/orders/{number}/cancel")

    first = client.post(f"/orders/{number}/cancel", data={**fields, "confirm": "yes"}, follow_redirects=True)
    second = client.post(f"/orders/{number}/cancel", data={**fields, "confirm": "yes"}, follow_redirects=True)
    assert flashes(first) == f"Order {number} is cancelled and $30.99 refunded."
    assert second.status_code == 200
    assert flashes(second).startswith(f"Order {number} can no longer be cancelled: it is cancelled and refunded.")

    order = order_row(number)
    assert (order.status, order.payment_status, order.refunded_cents) == ("cancelled", "refunded", 3099)
    assert [(row.amount_cents, row.status) for row in refund_rows(number)] == [(3099, "succeeded")]
    assert stock(goods.mug) == 5
    assert subjects(mail_outbox) == [f"Your order {number} is cancelled"]


def test_two_presses_at_the_same_moment_cancel_once(app, gunicorn_shop, goods, details, mail_outbox):
    order = place_order({goods.mug: 2}, details(), user_id=None)
    number, order_id, total = order.number, order.id, order.total_cents
    record_payment(order_id, amount_cents=total, currency="usd", reference=f"test_{order_id}", provider="test")
    shop = gunicorn_shop(workers=2, threads=2)
    browser = requests.Session()
    page = browser.get(f"{shop.url}/orders/{number}/cancel?token={order_token(number)}", timeout=30)
    assert page.status_code == 200, page.text
    form = {**hidden_fields(page.text, f"/orders/{number}/cancel"), "confirm": "yes"}
    tabs = [browser, requests.Session()]
    tabs[1].cookies.update(browser.cookies)

    def press(index: int, together) -> int:
        together()
        return tabs[index].post(f"{shop.url}/orders/{number}/cancel", data=form, timeout=30).status_code

    assert all_at_once(2, press) == [200, 200], shop.log()[-4000:]
    cancelled = order_row(number)
    assert (cancelled.status, cancelled.payment_status, cancelled.refunded_cents) == ("cancelled", "refunded", total)
    assert len(refund_rows(number)) == 1 and stock(goods.mug) == 5
    db.session.rollback()
    assert db.session.scalars(sa.select(OutboxEmail.subject).where(OutboxEmail.subject.contains("cancelled"))
                              ).all() == [f"Your order {number} is cancelled"]


def test_the_confirmation_names_what_is_left_to_refund_after_a_partial_refund(
        client, goods, checkout_cart, checkout_form, boss, mail_outbox):
    number = buy(client, checkout_cart, checkout_form, {goods.lamp: 1})
    order_id = order_row(number).id
    refunds.refund(order_id, refunds.RefundRequest(amount_cents=1000, reason="Scuffed box"), Actor.admin(boss))
    forget_mail(mail_outbox)

    confirmation = words(client.get(f"/orders/{number}/cancel"))
    assert "We will refund $40.99 to your original payment method" in confirmation and "$50.99" not in confirmation

    done = confirm_cancel(client, f"/orders/{number}/cancel")
    assert f"Order {number} is cancelled and $40.99 refunded." in text(done)
    order = order_row(number)
    assert (order.status, order.payment_status, order.refunded_cents) == ("cancelled", "refunded", 5099)
    assert [row.amount_cents for row in refund_rows(number)] == [1000, 4099]
    assert stock(goods.lamp) == 3
    assert subjects(mail_outbox) == [f"Your order {number} is cancelled"]
    assert "We have refunded $40.99" in mail_outbox[0].get_body(("plain",)).get_content()


def test_the_order_page_shows_parcels_with_tracking_and_refunds_as_they_happen(
        client, app, goods, checkout_cart, checkout_form, boss):
    number = buy(client, checkout_cart, checkout_form, {goods.mug: 1, goods.lamp: 1})
    elsewhere = app.test_client()
    before = text(elsewhere.get(signed(number)))
    assert "Parcel" not in before and "Refunds" not in before and "Cancel this order" in before

    ship(number, {goods.lamp: 1}, boss)
    shipped = elsewhere.get(signed(number)).get_data(as_text=True)
    tracking = "https://www.royalmail.com/track-your-item#/tracking-results/AB123456789GB"
    assert f'<a href="{tracking}" rel="noopener noreferrer">AB123456789GB</a>' in shipped
    parcel = html.unescape(shipped.split('data-testid="parcel"')[1].split("</div>")[0])
    assert "Royal Mail" in parcel and "1 × Desk Lamp" in parcel and "Mug" not in parcel
    assert "Cancel this order" not in shipped

    refunds.refund(order_row(number).id, refunds.RefundRequest(amount_cents=1250, reason="Mug out of stock"),
                   Actor.admin(boss))
    refunded = text(elsewhere.get(signed(number)))
    assert "Paid, partly refunded" in refunded
    [line] = re.findall(r'data-testid="refund">(.*?)</li>', refunded, re.S)
    assert "$12.50" in line and "refunded" in line and "Mug out of stock" in line


def test_cancelling_without_the_csrf_token_is_refused(client, goods, checkout_cart, checkout_form, mail_outbox):
    number = buy(client, checkout_cart, checkout_form, {goods.mug: 1})
    mail_outbox.clear()
    response = client.post(f"/orders/{number}/cancel", data={"confirm": "yes", "token": order_token(number)},
                           csrf=False)
    assert response.status_code == 400
    order = order_row(number)
    assert (order.status, order.payment_status) == ("paid", "paid")
    assert refund_rows(number) == [] and stock(goods.mug) == 4 and mail_outbox == []

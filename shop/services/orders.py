"""Order placement, stock reservation and the payment state machine.

Every public function owns its transaction and takes ids, so the webhook, the success page,
the test-payment page, the sweep and reconciliation can all call them, in any order and any
number of times, without a paid or refunded order ever going backwards.
"""
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_sqlalchemy.pagination import Pagination
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from shop.database import end_read_transaction, rows_changed, write_transaction
from shop.extensions import db
from shop.models import (
    MONEY_TAKEN,
    Counter,
    Coupon,
    Order,
    OrderEventKind,
    OrderItem,
    OrderStatus,
    PaymentStatus,
    ProductVariant,
    StockMovement,
    StockReason,
    lengths,
)
from shop.models.base import now_utc
from shop.models.catalog import item_name
from shop.money import format_money
from shop.services import ShopError, lifecycle, secret_key, store_settings
from shop.services.checkout import CheckoutDetails, check_customer_limit, quote_cart
from shop.services.lifecycle import SYSTEM, Actor, OrderNotFound, transition
from shop.services.mail import external_url, queue_email

NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I lookalikes
NUMBER_LENGTH = 6
NUMBER_ATTEMPTS = 10
TOKEN_SALT = "order-access"
INVOICE_COUNTER = "invoice"
EXPIRY_REASON = "the reservation or payment session ran out"


class OutOfStock(ShopError):
    """A cart line cannot be reserved because there is not enough stock."""


class AlreadyPlaced(ShopError):
    """The checkout form was already used to place an order (a double submit)."""

    def __init__(self, order_id: int):
        super().__init__("This order was already placed.")
        self.order_id = order_id


def new_order_number() -> str:
    """Return a random, human-friendly order number such as SH-7K3P9Q."""
    return "SH-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_LENGTH))


def place_order(cart: dict[int, int], details: CheckoutDetails, user_id: int | None,
                placement_token: str | None = None, minimum_total_cents: int = 0) -> Order:
    """Re-price the cart, create the pending order and reserve its stock, all or nothing.

    A placement token already used (the same checkout form sent twice) raises AlreadyPlaced. An
    order that owes something below `minimum_total_cents` (the payment provider's minimum charge)
    is refused.
    """
    if not cart:
        raise ShopError("Your cart is empty.")
    release_expired_reservations()
    with write_transaction():
        _refuse_if_placed(placement_token)
        quote = quote_cart(cart, details.shipping_method_id, details.coupon_code, details.country,
                           region=details.region, email=details.email, user_id=user_id)
        if quote.unavailable or not quote.lines:
            raise ShopError("An item in your cart is no longer available; please review your cart.")
        if quote.coupon_error:
            raise ShopError(quote.coupon_error)
        refusal = below_minimum_message(quote.total_cents, minimum_total_cents, quote.currency)
        if refusal:
            raise ShopError(refusal)
        if quote.coupon is not None:
            _claim_coupon_use(quote.coupon.id, details.email, user_id)
        order = Order(
            user_id=user_id, email=details.email, currency=quote.currency,
            status=OrderStatus.PENDING, payment_status=PaymentStatus.UNPAID,
            subtotal_cents=quote.subtotal_cents, shipping_cents=quote.shipping_cents,
            discount_cents=quote.discount_cents, tax_cents=quote.tax_cents,
            total_cents=quote.total_cents, tax_rate_bp=quote.tax.rate_bp, tax_label=quote.tax.label,
            tax_included=quote.tax.included,
            ship_name=details.name, ship_line1=details.line1, ship_line2=details.line2,
            ship_city=details.city, ship_region=details.region, ship_postal_code=details.postal_code,
            ship_country=details.country, ship_phone=details.phone,
            shipping_method_name=quote.shipping_method.name if quote.shipping_method else "",
            coupon_code=quote.coupon.code if quote.coupon else None,
            placement_token=placement_token, recovery_consent=details.recovery_consent,
            reserved_until=now_utc() + timedelta(minutes=int(store_settings.get("reservation_minutes"))),
            items=[
                OrderItem(
                    variant_id=line.variant_id, product_name=line.product_name,
                    variant_name=line.variant_name, sku=line.sku,
                    unit_price_cents=line.unit_price_cents, quantity=line.quantity,
                )
                for line in quote.lines
            ],
        )
        _insert_with_unique_number(order)
        # quote.lines is in ascending variant id: concurrent placements lock rows in the same order.
        for line in quote.lines:
            if not _take_stock(line.variant_id, line.quantity):
                left = db.session.scalar(sa.select(ProductVariant.stock).where(ProductVariant.id == line.variant_id))
                raise OutOfStock(_short_message(line.product_name, line.variant_name, line.quantity, left or 0))
            db.session.add(StockMovement(variant_id=line.variant_id, order_id=order.id,
                                         delta=-line.quantity, reason=StockReason.RESERVE))
        lifecycle.placed(order, Actor.customer(user_id, details.email),
                         f"placed, {format_money(order.total_cents, order.currency)}")
    return order


def below_minimum_message(total_cents: int, minimum_cents: int, currency: str) -> str | None:
    """Return why an order owing this total cannot be paid by card, or None when it can."""
    if 0 < total_cents < minimum_cents:
        return (f"Orders must come to at least {format_money(minimum_cents, currency)} to be paid by card; "
                "add something to your cart.")
    return None


def _refuse_if_placed(placement_token: str | None) -> None:
    """Raise AlreadyPlaced when an order was already placed with this checkout form's token."""
    if placement_token is None:
        return
    existing = db.session.scalar(sa.select(Order.id).where(Order.placement_token == placement_token))
    if existing is not None:
        raise AlreadyPlaced(existing)


def _claim_coupon_use(coupon_id: int, email: str, user_id: int | None) -> None:
    """Refuse a limited coupon once its paid uses and the unpaid orders holding it reach a limit.

    Both limits count under the coupon's row lock (SQLite's write transaction already serialises
    placements), so parallel checkouts see each other's orders and cannot all take the last use,
    neither the coupon's last nor one shopper's last.
    """
    coupon = db.session.scalar(sa.select(Coupon).where(Coupon.id == coupon_id).with_for_update()
                               .execution_options(populate_existing=True))
    if coupon is None:
        return
    if coupon.usage_limit is not None:
        held = db.session.scalar(
            sa.select(sa.func.count(Order.id)).where(
                Order.coupon_code == coupon.code, Order.status == OrderStatus.PENDING,
                Order.reserved_until.is_not(None))
        )
        if coupon.times_used + (held or 0) >= coupon.usage_limit:
            raise ShopError(f"The coupon {coupon.code} has been used up.")
    check_customer_limit(coupon, email, user_id)


def _count_coupon_use(code: str) -> bool:
    """Count a paid use of the coupon unless that would pass its limit; False when it would."""
    counted = rows_changed(
        sa.update(Coupon)
        .where(Coupon.code == code, sa.or_(Coupon.usage_limit.is_(None), Coupon.times_used < Coupon.usage_limit))
        .values(times_used=Coupon.times_used + 1).execution_options(synchronize_session=False)
    )
    return counted == 1 or db.session.scalar(sa.select(Coupon.id).where(Coupon.code == code)) is None


def _short_message(product_name: str, variant_name: str, wanted: int, left: int) -> str:
    name = item_name(product_name, variant_name)
    if left <= 0:
        return f"Sorry, “{name}” has just sold out. Nothing was reserved or charged; please update your cart."
    return (f"Sorry, only {left} of “{name}” left (you asked for {wanted}). "
            "Nothing was reserved or charged; please update your cart.")


def _insert_with_unique_number(order: Order) -> None:
    for _ in range(NUMBER_ATTEMPTS):
        order.number = new_order_number()
        savepoint = db.session.begin_nested()
        try:
            db.session.add(order)
            db.session.flush()
        except IntegrityError:
            savepoint.rollback()
            # The same checkout form, sent at the same moment, committed first (Postgres waits on the
            # unique index, then refuses ours): that is a double submit, not a clash of numbers.
            _refuse_if_placed(order.placement_token)
            continue
        savepoint.commit()
        return
    raise ShopError("We could not number your order; please try again.")


def _take_stock(variant_id: int, quantity: int) -> bool:
    """Take stock only if enough is there; the row lock makes concurrent takers queue."""
    return rows_changed(
        sa.update(ProductVariant)
        .where(ProductVariant.id == variant_id, ProductVariant.stock >= quantity)
        .values(stock=ProductVariant.stock - quantity)
        .execution_options(synchronize_session=False)
    ) == 1


def _give_stock(variant_id: int, quantity: int) -> None:
    db.session.execute(
        sa.update(ProductVariant).where(ProductVariant.id == variant_id)
        .values(stock=ProductVariant.stock + quantity)
        .execution_options(synchronize_session=False)
    )


def lock_order(order_id: int) -> Order | None:
    """Load the order with its items, locked against concurrent changes (inside write_transaction)."""
    return db.session.scalar(
        sa.select(Order).where(Order.id == order_id)
        .options(selectinload(Order.items)).with_for_update(of=Order)
        .execution_options(populate_existing=True)
    )


def _release_reservation(order: Order, reason: StockReason) -> None:
    if not order.stock_reserved:
        return
    for item in sorted(order.items, key=lambda item: item.variant_id or 0):
        if item.variant_id is None:
            continue
        _give_stock(item.variant_id, item.quantity)
        db.session.add(StockMovement(variant_id=item.variant_id, order_id=order.id,
                                     delta=item.quantity, reason=reason))
    order.reserved_until = None


def flag(order: Order, reason: str) -> None:
    """Put the order on the needs-attention list with one more reason."""
    order.needs_attention = True
    order.attention_reason = f"{order.attention_reason}\n{reason}".strip() if order.attention_reason else reason


def record_payment(order_id: int, *, amount_cents: int, currency: str, reference: str, provider: str,
                   only_if_pending: bool = False, actor: Actor = SYSTEM) -> bool:
    """Mark the order paid exactly once, turning its reservation into a sale; True when it changed.

    A provider that took the money pays even a cancelled or expired order (flagged if stock is
    short); `only_if_pending` is for payments that can still be refused, such as test mode's.
    The order gets the next invoice number, the shopper their confirmation and the staff a notice.
    """
    with write_transaction():
        order = lock_order(order_id)
        if order is None or order.payment_status in MONEY_TAKEN:
            return False
        if only_if_pending and order.status != OrderStatus.PENDING:
            return False
        if amount_cents != order.total_cents or currency.lower() != order.currency:
            reason = (f"amount mismatch: {provider} reported {format_money(amount_cents, currency)} "
                      f"({reference}), order total is {format_money(order.total_cents, order.currency)}")
            if reason not in order.attention_reason:
                flag(order, reason)
                current_app.logger.warning("Order %s: %s", order.number, reason)
            return False
        late = order.status != OrderStatus.PENDING
        # The coupon before the stock: placements lock in that order too, so the two cannot deadlock.
        if order.coupon_code:
            order.coupon_use_counted = _count_coupon_use(order.coupon_code)
            if not order.coupon_use_counted:
                flag(order, f"coupon {order.coupon_code} was already used up when this order was paid "
                             "(paid after its reservation ran out)")
        if not order.stock_reserved:
            _retake_stock_after_release(order)
        order.reserved_until = None
        transition(order, actor, status=OrderStatus.PAID, payment_status=PaymentStatus.PAID,
                   note=f"{format_money(amount_cents, currency)} paid via {provider}"
                        + (f", after the order was {order.status}" if late else ""))
        order.payment_provider = provider
        order.invoice_number = _next_invoice_number()
        if order.payment_reference is None:
            order.payment_reference = reference
        queue_email(order.email, f"Your order {order.number}", "order_confirmation",
                    order=order, order_url=order_link(order.number))
        _notify_staff(order)
    return True


def _next_invoice_number() -> int:
    """Take the next invoice number; the counter's row lock makes concurrent payments queue, and a
    payment that rolls back gives its number back, so the sequence has no gaps."""
    taken = rows_changed(sa.update(Counter).where(Counter.name == INVOICE_COUNTER)
                         .values(value=Counter.value + 1).execution_options(synchronize_session=False))
    if not taken:
        savepoint = db.session.begin_nested()
        try:
            db.session.add(Counter(name=INVOICE_COUNTER, value=1))
            db.session.flush()
        except IntegrityError:  # a concurrent first payment created it: queue on its row instead
            savepoint.rollback()
            return _next_invoice_number()
        savepoint.commit()
    return db.session.scalar(sa.select(Counter.value).where(Counter.name == INVOICE_COUNTER)
                             .execution_options(populate_existing=True)) or 0


def _notify_staff(order: Order) -> None:
    """Tell the order-notification addresses (a store setting) about a newly paid order."""
    admin_url = external_url("admin.order", order_id=order.id)
    for recipient in store_settings.email_list("order_notify_emails"):
        queue_email(recipient, f"New order {order.number}: {format_money(order.total_cents, order.currency)}",
                    "order_notify_admin", order=order, admin_url=admin_url)


def _retake_stock_after_release(order: Order) -> None:
    """Take the stock again for a payment that came after the reservation was released."""
    savepoint = db.session.begin_nested()
    short = []
    for item in sorted(order.items, key=lambda item: item.variant_id or 0):
        if item.variant_id is None or not _take_stock(item.variant_id, item.quantity):
            short.append(f"{item.quantity} × {item.product_name} ({item.sku})")
    if short:
        savepoint.rollback()
        flag(order, "stock short: paid after its reservation was released and not enough stock is left "
                     "for " + ", ".join(short) + ". Refund it or restock.")
        current_app.logger.warning("Order %s paid late with stock short", order.number)
        return
    savepoint.commit()
    for item in order.items:
        db.session.add(StockMovement(variant_id=item.variant_id, order_id=order.id,
                                     delta=-item.quantity, reason=StockReason.LATE_SALE))


def mark_payment_processing(order_id: int, actor: Actor = SYSTEM) -> bool:
    """Note that an asynchronous payment is on its way; the reservation is kept until it settles."""
    with write_transaction():
        order = lock_order(order_id)
        if order is None or order.status != OrderStatus.PENDING or order.payment_status != PaymentStatus.UNPAID:
            return False
        transition(order, actor, payment_status=PaymentStatus.PROCESSING, note="payment processing")
    return True


def record_payment_failure(order_id: int, reason: str, actor: Actor = SYSTEM) -> bool:
    """Cancel an unpaid order whose payment failed and give its stock back."""
    return _close_unpaid(order_id, OrderStatus.CANCELLED, PaymentStatus.FAILED, StockReason.PAYMENT_FAILED, reason,
                         allow_processing=True, actor=actor)


def expire_order(order_id: int, actor: Actor = SYSTEM) -> bool:
    """Expire an unpaid order whose reservation or payment session ran out, giving its stock back."""
    return _close_unpaid(order_id, OrderStatus.EXPIRED, PaymentStatus.UNPAID, StockReason.EXPIRED, EXPIRY_REASON,
                         allow_processing=False, actor=actor)


def cancel_order(order_id: int, reason: str, actor: Actor = SYSTEM, notify: bool = False) -> bool:
    """Cancel an unpaid order (shopper cancelled, or payment could not start) and give its stock back.

    `notify` emails the shopper that it is cancelled (when a person cancelled it on purpose).
    """
    return _close_unpaid(order_id, OrderStatus.CANCELLED, PaymentStatus.UNPAID, StockReason.CANCELLED, reason,
                         allow_processing=False, actor=actor, notify=notify)


def _close_unpaid(order_id: int, status: OrderStatus, payment_status: PaymentStatus, movement: StockReason,
                  reason: str, allow_processing: bool, actor: Actor, notify: bool = False) -> bool:
    open_payments = {PaymentStatus.UNPAID, PaymentStatus.PROCESSING} if allow_processing else {PaymentStatus.UNPAID}
    with write_transaction():
        order = lock_order(order_id)
        if order is None or order.status != OrderStatus.PENDING or order.payment_status not in open_payments:
            return False
        _close_locked(order, status, payment_status, movement, reason, actor, notify)
    return True


def _close_locked(order: Order, status: OrderStatus, payment_status: PaymentStatus, movement: StockReason,
                  reason: str, actor: Actor, notify: bool = False) -> None:
    """Close a locked, pending order: its stock back, its new state recorded, the shopper told if asked."""
    _release_reservation(order, movement)
    transition(order, actor, status=status, payment_status=payment_status, note=reason)
    if notify:
        queue_email(order.email, f"Your order {order.number} is cancelled", "order_cancelled",
                    order=order, refund_cents=0, order_url=order_link(order.number))
    current_app.logger.info("Order %s %s: %s", order.number, status, reason)


def release_expired_reservations(now: datetime | None = None) -> int:
    """Expire every unpaid order whose reservation has run out; return how many were released.

    Orders whose asynchronous payment is still processing keep their stock until it settles. Every
    checkout runs this first and cron may run it on every machine, so sweeps overlap: each takes the
    oldest overdue order no other sweep holds, in a transaction of its own (see _expire_next_overdue).
    """
    now = now or now_utc()
    end_read_transaction()
    # Read first, outside any write transaction: most checkouts find nothing and take no write lock.
    anything_overdue = db.session.scalar(sa.select(Order.id).where(*_overdue(now)).limit(1)) is not None
    end_read_transaction()
    released = 0
    while anything_overdue and _expire_next_overdue(now):
        released += 1
    return released


def _overdue(now: datetime) -> list[sa.ColumnElement[bool]]:
    return [Order.status == OrderStatus.PENDING, Order.payment_status == PaymentStatus.UNPAID,
            Order.reserved_until < now]


def _expire_next_overdue(now: datetime) -> bool:
    """Lock the oldest overdue order that no other transaction holds and expire it; False when none is left.

    Postgres passes over an order locked elsewhere (SKIP LOCKED): another sweep expiring it, or a
    payment arriving for it, which then decides its fate; the lock is held until the order is closed,
    so it is expired and its stock given back once. On SQLite the transaction begins as the only
    writer, so nothing comes between finding the order and closing it.
    """
    with write_transaction():
        order = db.session.scalar(
            sa.select(Order).where(*_overdue(now)).order_by(Order.id).limit(1)
            .options(selectinload(Order.items)).with_for_update(of=Order, skip_locked=True)
            .execution_options(populate_existing=True)
        )
        if order is None:
            return False
        _close_locked(order, OrderStatus.EXPIRED, PaymentStatus.UNPAID, StockReason.EXPIRED, EXPIRY_REASON, SYSTEM)
    return True


def restock_taken(order: Order, reason: StockReason) -> None:
    """Give back exactly what the ledger says the locked order still holds (nothing if it paid stock short)."""
    taken = db.session.execute(
        sa.select(StockMovement.variant_id, sa.func.sum(StockMovement.delta))
        .where(StockMovement.order_id == order.id).group_by(StockMovement.variant_id)
        .order_by(StockMovement.variant_id)
    ).all()
    for variant_id, net in taken:
        if net < 0:
            _give_stock(variant_id, -net)
            db.session.add(StockMovement(variant_id=variant_id, order_id=order.id, delta=-net, reason=reason))


def resend_confirmation(order_id: int, actor: Actor) -> None:
    """Send the order's confirmation email again (a shopper lost it) and note it in the history."""
    with write_transaction():
        order = lock_order(order_id)
        if order is None:
            raise OrderNotFound("That order does not exist.")
        if order.payment_status not in MONEY_TAKEN:
            raise ShopError(f"Order {order.number} is not paid, so it has no confirmation to send.")
        queue_email(order.email, f"Your order {order.number}", "order_confirmation",
                    order=order, order_url=order_link(order.number))
        lifecycle.record(order, OrderEventKind.EMAIL, actor, f"confirmation sent again to {order.email}")


def order_with_items(order_id: int | None = None, number: str | None = None) -> Order | None:
    """Return one order, by id or by number, with its items, as the database has it now."""
    if number is not None and len(number) > lengths.ORDER_NUMBER:
        return None
    criterion = Order.id == order_id if order_id is not None else Order.number == number
    return db.session.scalar(
        sa.select(Order).where(criterion).options(selectinload(Order.items))
        .execution_options(populate_existing=True)
    )


def customer_orders(user_id: int, page: int, per_page: int) -> Pagination:
    """Return one page of a shopper's orders, newest first."""
    query = sa.select(Order).where(Order.user_id == user_id).order_by(Order.created_at.desc(), Order.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def stock_movements(order_id: int) -> list[StockMovement]:
    """Return the stock the order reserved, sold and gave back, oldest first."""
    return list(db.session.scalars(
        sa.select(StockMovement).where(StockMovement.order_id == order_id).order_by(StockMovement.id)
    ))


def find_order_by_reference(reference: str) -> Order | None:
    """Return the order paid through this provider reference (a Checkout Session id or test token)."""
    if not reference or len(reference) > lengths.REFERENCE:
        return None
    return db.session.scalar(sa.select(Order).where(Order.payment_reference == reference))


def order_token(number: str) -> str:
    """Return a signed token that lets whoever holds the link see this order."""
    return URLSafeSerializer(secret_key(), salt=TOKEN_SALT).dumps(number)


def token_allows(token: str | None, number: str) -> bool:
    """Return whether the token was signed by this shop for this order number."""
    if not token:
        return False
    try:
        return URLSafeSerializer(secret_key(), salt=TOKEN_SALT).loads(token) == number
    except BadSignature:
        return False


def order_link(number: str) -> str:
    """Return the absolute link to the order page that works without logging in."""
    return external_url("checkout.order_detail", number=number, token=order_token(number))

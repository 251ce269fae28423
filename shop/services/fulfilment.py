"""Fulfilment: shipping an order's units in one or more parcels with tracking, and marking it delivered."""
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from shop.database import write_transaction
from shop.extensions import db
from shop.models import (
    OPEN_REFUND_STATUSES,
    Order,
    OrderEventKind,
    OrderStatus,
    PaymentStatus,
    Refund,
    Shipment,
    ShipmentItem,
    lengths,
)
from shop.services import ShopError
from shop.services import lifecycle as states
from shop.services.lifecycle import Actor, OrderNotFound
from shop.services.mail import queue_email
from shop.services.order_units import still_to_ship
from shop.services.orders import lock_order, order_link

OTHER_CARRIER = "Other"
# Each carrier's public tracking page; the number is put where {} stands.
CARRIERS: dict[str, str] = {
    "Royal Mail": "https://www.royalmail.com/track-your-item#/tracking-results/{}",
    "DPD": "https://track.dpd.co.uk/parcels/{}",
    "Evri": "https://www.evri.com/track/parcel/{}",
    "UPS": "https://www.ups.com/track?tracknum={}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={}",
    "DHL": "https://www.dhl.com/global-en/home/tracking/tracking-express.html?tracking-id={}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
}
SHIPPABLE_PAYMENTS = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED)


@dataclass(frozen=True)
class Parcel:
    """What an admin typed into the ship form."""

    quantities: dict[int, int]  # order item id -> units in this parcel
    carrier: str
    tracking_number: str = ""
    tracking_url: str = ""
    token: str | None = None


def tracking_link(carrier: str, tracking_number: str, typed_url: str = "") -> str:
    """Return the tracking page: the one typed, else the known carrier's page for the number."""
    if typed_url:
        return typed_url
    pattern = CARRIERS.get(carrier)
    return pattern.format(quote(tracking_number, safe="")) if pattern and tracking_number else ""


def ship(order_id: int, parcel: Parcel, actor: Actor) -> Shipment:
    """Record a parcel leaving with some of the order's units and email the tracking to the shopper.

    The order becomes shipped once nothing is left to ship. The form's token makes a double
    submit find the first parcel; two admins shipping the same units at once ship them once.
    """
    carrier, number, url = checked_parcel(parcel)
    with write_transaction():
        order = lock_order(order_id)
        if order is None:
            raise OrderNotFound("That order does not exist.")
        if parcel.token:
            sent = db.session.scalar(sa.select(Shipment).where(Shipment.request_token == parcel.token))
            if sent is not None:
                return sent
        wanted, remaining = _check_shippable(order, parcel)
        items = {item.id: item for item in order.items}
        shipment = Shipment(order_id=order.id, carrier=carrier, tracking_number=number,
                            tracking_url=tracking_link(carrier, number, url), request_token=parcel.token,
                            actor_email=actor.email,
                            items=[ShipmentItem(order_item_id=item_id, quantity=quantity)
                                   for item_id, quantity in sorted(wanted.items())])
        db.session.add(shipment)
        try:
            db.session.flush()
        except IntegrityError:  # the same form, sent at the same moment, recorded the parcel first
            raise ShopError("This parcel was already recorded.") from None
        left = sum(remaining.values()) - sum(wanted.values())
        units = ", ".join(f"{quantity} × {items[item_id].sku}" for item_id, quantity in sorted(wanted.items()))
        states.record(order, OrderEventKind.SHIPMENT, actor,
                      f"parcel sent with {carrier}{f' ({number})' if number else ''}: {units}")
        if left == 0:
            states.transition(order, actor, status=OrderStatus.SHIPPED, note="everything has shipped")
        queue_email(order.email, f"Your order {order.number} has shipped" if left == 0
                    else f"Part of your order {order.number} has shipped", "order_shipped",
                    order=order, shipment=shipment, partial=left > 0, order_url=order_link(order.number))
    return shipment


def preview_shipment(order: Order, parcel: Parcel) -> bool:
    """Check a parcel against the order as loaded, before asking the admin; return whether it empties the order.

    Raise ShopError for anything ship() would refuse, so the admin is never asked to confirm it.
    """
    checked_parcel(parcel)
    wanted, remaining = _check_shippable(order, parcel)
    return sum(remaining.values()) == sum(wanted.values())


def _check_shippable(order: Order, parcel: Parcel) -> tuple[dict[int, int], dict[int, int]]:
    """Return the units the parcel takes and those left to ship, or raise ShopError if it cannot leave."""
    if order.status != OrderStatus.PAID:
        raise states.refuse(order, "shipped")
    if order.payment_status not in SHIPPABLE_PAYMENTS:
        raise ShopError(f"Order {order.number}'s payment is {order.payment_status}, so it cannot be shipped.")
    if _cancellation_waiting(order.id):
        raise ShopError(f"Order {order.number} is being cancelled (its refund is pending), "
                        "so it cannot be shipped.")
    remaining = still_to_ship(order)
    wanted = {item_id: quantity for item_id, quantity in parcel.quantities.items() if quantity > 0}
    if not wanted:
        raise ShopError("Choose at least one item to ship.")
    items = {item.id: item for item in order.items}
    for item_id, quantity in wanted.items():
        if item_id not in items:
            raise ShopError("That item is not part of this order.")
        if quantity > remaining[item_id]:
            raise ShopError(f"Only {remaining[item_id]} of {items[item_id].sku} are left to ship "
                            f"(you asked for {quantity}).")
    return wanted, remaining


def checked_parcel(parcel: Parcel) -> tuple[str, str, str]:
    """Return the parcel's carrier, tracking number and link, tidied; raise ShopError for what cannot be stored."""
    carrier = " ".join(parcel.carrier.split())
    number = parcel.tracking_number.strip()
    url = parcel.tracking_url.strip()
    if not carrier:
        raise ShopError("Choose the carrier (or Other, and type its name).")
    if len(carrier) > lengths.CARRIER or len(number) > lengths.TRACKING_NUMBER or len(url) > lengths.URL:
        raise ShopError("The carrier, tracking number or tracking link is too long.")
    if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
        raise ShopError("The tracking link must start with https:// (or http://).")
    return carrier, number, url


def _cancellation_waiting(order_id: int) -> bool:
    return db.session.scalar(sa.select(Refund.id).where(
        Refund.order_id == order_id, Refund.cancels_order.is_(True), Refund.status.in_(OPEN_REFUND_STATUSES)
    ).limit(1)) is not None


def mark_delivered(order_id: int, actor: Actor) -> bool:
    """Mark a shipped order delivered and tell the shopper; False when it already was."""
    with write_transaction():
        order = lock_order(order_id)
        if order is None:
            raise OrderNotFound("That order does not exist.")
        if order.status == OrderStatus.DELIVERED:
            return False
        if order.status != OrderStatus.SHIPPED:
            raise states.refuse(order, "marked delivered")
        states.transition(order, actor, status=OrderStatus.DELIVERED)
        queue_email(order.email, f"Your order {order.number} has been delivered", "order_delivered",
                    order=order, order_url=order_link(order.number))
    return True


def shipments(order_id: int) -> list[Shipment]:
    """Return the order's parcels with their items, oldest first."""
    return list(db.session.scalars(
        sa.select(Shipment).where(Shipment.order_id == order_id).order_by(Shipment.id)
        .options(sa.orm.selectinload(Shipment.items).joinedload(ShipmentItem.order_item))
    ))

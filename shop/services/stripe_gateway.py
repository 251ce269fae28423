"""Calls to the Stripe API: one client per app configuration, Checkout Sessions and refunds.

Functions here raise the SDK's stripe.StripeError; shop.services.payments turns them into
messages a shopper can read.
"""
from collections.abc import Iterator
from datetime import timedelta

import stripe
from flask import current_app
from stripe.params.checkout import SessionCreateParams, SessionCreateParamsLineItem

from shop.models import Order
from shop.models.base import now_utc
from shop.models.catalog import item_name
from shop.services.mail import external_url

# Stripe accepts an expiry 30 minutes to 24 hours ahead; the margins absorb clock skew.
EARLIEST_EXPIRY = timedelta(minutes=31)
LATEST_EXPIRY = timedelta(hours=23, minutes=55)
# Connect and read timeouts in seconds: a shopper is waiting on the other end.
TIMEOUT = (5, 20)
# Each retry reuses the request's idempotency key, so it can never create a second session.
NETWORK_RETRIES = 1


def client() -> stripe.StripeClient:
    """Return a Stripe client for the app's key and API base, built once per configuration."""
    config = current_app.config
    settings = (config["STRIPE_SECRET_KEY"], config.get("STRIPE_API_BASE"))
    cached = current_app.extensions.get("shop_stripe")
    if cached is None or cached[0] != settings:
        secret_key, api_base = settings
        cached = settings, stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=NETWORK_RETRIES,
            http_client=stripe.RequestsClient(timeout=TIMEOUT),
        )
        current_app.extensions["shop_stripe"] = cached
    return cached[1]


def order_key(order: Order, purpose: str) -> str:
    """Return an idempotency key unique to this order, stable across retries."""
    # The number and creation time keep keys distinct when a reset database reuses ids.
    return f"shop-{purpose}-{order.id}-{order.number}-{int(order.created_at.timestamp())}"


def checkout_session_expiry(order: Order) -> int:
    """Return the session's expiry: the reservation's, clamped to the window Stripe accepts."""
    now = now_utc()
    minutes = int(current_app.config["RESERVATION_MINUTES"])
    wanted = order.reserved_until or now + timedelta(minutes=minutes)
    return int(min(max(wanted, now + EARLIEST_EXPIRY), now + LATEST_EXPIRY).timestamp())


def expected_total(order: Order) -> int:
    """Return the amount Stripe will compute for the session built from this order."""
    items = sum(item.unit_price_cents * item.quantity for item in order.items)
    return items + order.tax_cents + order.shipping_cents - order.discount_cents


def checkout_session_params(order: Order, coupon_id: str | None) -> SessionCreateParams:
    """Build the Checkout Session request for an order, amounts in its currency's minor unit."""
    currency = order.currency.lower()
    line_items: list[SessionCreateParamsLineItem] = [
        {
            "quantity": item.quantity,
            "price_data": {
                "currency": currency,
                "unit_amount": item.unit_price_cents,
                "product_data": {
                    "name": item_name(item.product_name, item.variant_name),
                    "metadata": {"sku": item.sku},
                },
            },
        }
        for item in order.items
    ]
    if order.tax_cents:
        line_items.append({
            "quantity": 1,
            "price_data": {"currency": currency, "unit_amount": order.tax_cents, "product_data": {"name": "Tax"}},
        })
    metadata = {"order_id": str(order.id), "order_number": order.number}
    params: SessionCreateParams = {
        "mode": "payment",
        "line_items": line_items,
        "customer_email": order.email,
        "client_reference_id": order.number,
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        # The shopper comes back to SHOP_BASE_URL, never to a host a request named.
        "success_url": external_url("checkout.success") + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": external_url("checkout.cancel") + "?session_id={CHECKOUT_SESSION_ID}",
        "expires_at": checkout_session_expiry(order),
    }
    if order.shipping_cents or order.shipping_method_name:
        params["shipping_options"] = [{
            "shipping_rate_data": {
                "type": "fixed_amount",
                "display_name": order.shipping_method_name or "Shipping",
                "fixed_amount": {"amount": order.shipping_cents, "currency": currency},
            },
        }]
    if coupon_id:
        params["discounts"] = [{"coupon": coupon_id}]
    return params


def create_checkout_session(order: Order) -> stripe.checkout.Session:
    """Create the order's Checkout Session (and a one-off Stripe coupon for its discount)."""
    coupon_id = None
    if order.discount_cents:
        coupon = client().v1.coupons.create(
            {
                "amount_off": order.discount_cents,
                "currency": order.currency.lower(),
                "duration": "once",
                "max_redemptions": 1,
                "name": f"Discount {order.coupon_code}" if order.coupon_code else "Discount",
            },
            {"idempotency_key": order_key(order, "discount")},
        )
        coupon_id = coupon.id
    return client().v1.checkout.sessions.create(
        checkout_session_params(order, coupon_id), {"idempotency_key": order_key(order, "checkout")}
    )


def retrieve_checkout_session(session_id: str) -> dict:
    """Fetch a Checkout Session's current state as a plain dict."""
    return client().v1.checkout.sessions.retrieve(session_id).to_dict()


def expire_checkout_session(session_id: str) -> None:
    """Close an open Checkout Session so it can no longer be paid."""
    client().v1.checkout.sessions.expire(session_id)


def recent_checkout_sessions(days: int) -> Iterator[dict]:
    """Yield every Checkout Session created in the last `days` days as plain dicts, following Stripe's pages."""
    since = int((now_utc() - timedelta(days=days)).timestamp())
    # The payment intent's status tells a failed delayed payment from one still processing.
    page = client().v1.checkout.sessions.list(
        {"created": {"gte": since}, "limit": 100, "expand": ["data.payment_intent"]})
    for checkout_session in page.auto_paging_iter():
        yield checkout_session.to_dict()


def refund_checkout_session_payment(order: Order) -> None:
    """Refund the whole payment of the order's Checkout Session."""
    if not order.payment_reference:
        raise stripe.InvalidRequestError("This order has no Checkout Session to refund.", param=None)
    payment_intent = retrieve_checkout_session(order.payment_reference).get("payment_intent")
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent["id"]
    if not payment_intent:
        raise stripe.InvalidRequestError("This Checkout Session has no payment to refund.", param=None)
    try:
        client().v1.refunds.create(
            {"payment_intent": payment_intent, "metadata": {"order_id": str(order.id)}},
            {"idempotency_key": order_key(order, "refund")},
        )
    except stripe.InvalidRequestError as error:
        # A retry after the idempotency key expired (24 h) meets the refund that already went through.
        if error.code != "charge_already_refunded":
            raise

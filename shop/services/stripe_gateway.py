"""Calls to the Stripe API: one client per app configuration, Checkout Sessions and refunds.

Functions here raise the SDK's stripe.StripeError; shop.services.payments turns them into
messages a shopper can read. Amounts cross the border here only: the shop counts in its
currency's minor unit (shop.money), Stripe in its own (to_stripe_amount, from_stripe_amount).
"""
from collections.abc import Iterator
from datetime import timedelta

import stripe
from flask import current_app
from stripe.params.checkout import (
    SessionCreateParams,
    SessionCreateParamsLineItem,
    SessionCreateParamsPaymentIntentDataShipping,
    SessionCreateParamsPaymentIntentDataShippingAddress,
)

from shop.models import Order
from shop.models.base import now_utc
from shop.models.catalog import item_name
from shop.money import THREE_DECIMAL_CURRENCIES, minor_units_per_major
from shop.services import store_settings
from shop.services.mail import external_url

# Stripe accepts an expiry 30 minutes to 24 hours ahead; the margins absorb clock skew.
EARLIEST_EXPIRY = timedelta(minutes=31)
LATEST_EXPIRY = timedelta(hours=23, minutes=55)
# Connect and read timeouts in seconds: a shopper is waiting on the other end.
TIMEOUT = (5, 20)
# Each retry reuses the request's idempotency key, so it can never create a second session.
NETWORK_RETRIES = 1

# Currencies the shop counts in whole units but Stripe writes with two decimals, always 00.
WHOLE_UNITS_AS_HUNDREDTHS = frozenset(["isk"])
# Stripe's minimum charge per settlement currency (docs.stripe.com/currencies#minimum-and-maximum-
# charge-amounts), in the shop's minor units. A currency Stripe does not settle in is converted to
# the account's, which Stripe wants to be worth about USD 0.50; not knowing the rate, the shop asks
# for 50 minor units, and Stripe may still refuse a total that converts to less.
MINIMUM_CHARGE = {
    "usd": 50, "aed": 200, "aud": 50, "bgn": 100, "brl": 50, "cad": 50, "chf": 50, "czk": 1500, "dkk": 250,
    "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500, "inr": 50, "jpy": 50, "mxn": 1000, "myr": 200, "nok": 300,
    "nzd": 50, "pln": 200, "ron": 200, "sek": 300, "sgd": 50,
}
DEFAULT_MINIMUM_CHARGE = 50
# Stripe's limits on what it displays and stores (its API reference).
COUPON_NAME_LENGTH = 40
SHIPPING_RATE_NAME_LENGTH = 100
METADATA_KEYS, METADATA_KEY_LENGTH, METADATA_VALUE_LENGTH = 50, 40, 500


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


def stripe_units_per_major(currency: str) -> int:
    """Return how many of Stripe's units make one major unit of the currency (100 for ISK and USD, 1 for JPY)."""
    currency = currency.lower()
    if currency in THREE_DECIMAL_CURRENCIES:
        # shop.config refuses them: Stripe takes three decimals only in steps of ten.
        raise ValueError(f"{currency.upper()} has three decimals, which the shop does not support.")
    return 100 if currency in WHOLE_UNITS_AS_HUNDREDTHS else minor_units_per_major(currency)


def to_stripe_amount(cents: int, currency: str) -> int:
    """Return an amount in the shop's minor units as Stripe writes it (1500 ISK -> 150000)."""
    return int(cents) * stripe_units_per_major(currency) // minor_units_per_major(currency)


def from_stripe_amount(amount: int, currency: str) -> int:
    """Return an amount Stripe wrote in the shop's minor units (150000 ISK -> 1500)."""
    whole, rest = divmod(int(amount), stripe_units_per_major(currency) // minor_units_per_major(currency))
    if rest:
        raise ValueError(f"Stripe's amount {amount} {currency.upper()} is not a whole number of the shop's units.")
    return whole


def minimum_charge_cents(currency: str) -> int:
    """Return the smallest total Stripe will charge in this currency, in the shop's minor units."""
    return MINIMUM_CHARGE.get(currency.lower(), DEFAULT_MINIMUM_CHARGE)


def session_amount(checkout_session: dict) -> int:
    """Return what a Checkout Session charges (`amount_total`) in the shop's minor units of its currency."""
    return from_stripe_amount(int(checkout_session.get("amount_total") or 0),
                              str(checkout_session.get("currency") or ""))


def refund_in_shop_units(stripe_refund: dict, currency: str) -> dict:
    """Return a refund object from Stripe (an answer or a webhook's) with its amount in the shop's minor units."""
    refund_currency = str(stripe_refund.get("currency") or currency)
    return {**stripe_refund, "amount": from_stripe_amount(int(stripe_refund.get("amount") or 0), refund_currency)}


def shortened(text: str, limit: int) -> str:
    """Return text cut to at most `limit` characters, at a word boundary when one is near, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def stripe_metadata(values: dict[str, str]) -> dict[str, str]:
    """Return metadata within Stripe's limits: values cut to 500 characters; too many or too long keys refused."""
    if len(values) > METADATA_KEYS or any(len(key) > METADATA_KEY_LENGTH or "[" in key or "]" in key
                                          for key in values):
        raise ValueError(f"Stripe metadata takes at most {METADATA_KEYS} keys of at most {METADATA_KEY_LENGTH} "
                         f"characters, without square brackets: {sorted(values)}")
    return {key: str(value)[:METADATA_VALUE_LENGTH] for key, value in values.items()}


def order_key(order: Order, purpose: str) -> str:
    """Return an idempotency key unique to this order, stable across retries."""
    # The number and creation time keep keys distinct when a reset database reuses ids.
    return f"shop-{purpose}-{order.id}-{order.number}-{int(order.created_at.timestamp())}"


def checkout_session_expiry(order: Order) -> int:
    """Return the session's expiry: the reservation's, clamped to the window Stripe accepts."""
    now = now_utc()
    minutes = int(store_settings.get("reservation_minutes"))
    wanted = order.reserved_until or now + timedelta(minutes=minutes)
    return int(min(max(wanted, now + EARLIEST_EXPIRY), now + LATEST_EXPIRY).timestamp())


def expected_total(order: Order) -> int:
    """Return the amount Stripe will compute for the session built from this order."""
    items = sum(item.unit_price_cents * item.quantity for item in order.items)
    added_tax = 0 if order.tax_included else order.tax_cents  # prices that include the tax already hold it
    return items + added_tax + order.shipping_cents - order.discount_cents


def shipping_details(order: Order) -> SessionCreateParamsPaymentIntentDataShipping:
    """Return where the order goes, for the payment: Stripe's fraud checks and the dashboard read it.

    `state` is the region's code for the countries the shop lists ("OR"), as Stripe wants; empty
    fields are left out rather than sent blank.
    """
    address: SessionCreateParamsPaymentIntentDataShippingAddress = {"line1": order.ship_line1}
    optional = {"line2": order.ship_line2, "city": order.ship_city, "state": order.ship_region,
                "postal_code": order.ship_postal_code, "country": order.ship_country}
    for key, value in optional.items():
        if value:
            address[key] = value  # type: ignore[literal-required]  # the keys above are the TypedDict's
    shipping: SessionCreateParamsPaymentIntentDataShipping = {"name": order.ship_name, "address": address}
    if order.ship_phone:
        shipping["phone"] = order.ship_phone
    return shipping


def checkout_session_params(order: Order, coupon_id: str | None) -> SessionCreateParams:
    """Build the Checkout Session request for an order, amounts in its currency's minor unit."""
    currency = order.currency.lower()
    line_items: list[SessionCreateParamsLineItem] = [
        {
            "quantity": item.quantity,
            "price_data": {
                "currency": currency,
                "unit_amount": to_stripe_amount(item.unit_price_cents, currency),
                "product_data": {
                    "name": item_name(item.product_name, item.variant_name),
                    "metadata": stripe_metadata({"sku": item.sku}),
                },
            },
        }
        for item in order.items
    ]
    if order.tax_cents and not order.tax_included:
        line_items.append({
            "quantity": 1,
            "price_data": {"currency": currency, "unit_amount": to_stripe_amount(order.tax_cents, currency),
                           "product_data": {"name": "Tax"}},
        })
    metadata = stripe_metadata({"order_id": str(order.id), "order_number": order.number})
    params: SessionCreateParams = {
        "mode": "payment",
        "line_items": line_items,
        "customer_email": order.email,
        "client_reference_id": order.number,
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata, "shipping": shipping_details(order)},
        # The shopper comes back to SHOP_BASE_URL, never to a host a request named.
        "success_url": external_url("checkout.success") + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": external_url("checkout.cancel") + "?session_id={CHECKOUT_SESSION_ID}",
        "expires_at": checkout_session_expiry(order),
    }
    if order.shipping_cents or order.shipping_method_name:
        params["shipping_options"] = [{
            "shipping_rate_data": {
                "type": "fixed_amount",
                "display_name": shortened(order.shipping_method_name or "Shipping", SHIPPING_RATE_NAME_LENGTH),
                "fixed_amount": {"amount": to_stripe_amount(order.shipping_cents, currency), "currency": currency},
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
                "amount_off": to_stripe_amount(order.discount_cents, order.currency),
                "currency": order.currency.lower(),
                "duration": "once",
                "max_redemptions": 1,
                "name": shortened(f"Discount {order.coupon_code}" if order.coupon_code else "Discount",
                                  COUPON_NAME_LENGTH),
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


def _payment_intent_of(payment_reference: str) -> str | None:
    """Return the id of the payment intent that paid this Checkout Session, None while there is none."""
    payment_intent = retrieve_checkout_session(payment_reference).get("payment_intent")
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent.get("id")
    return str(payment_intent) if payment_intent else None


def create_refund(payment_reference: str, amount_cents: int, currency: str, idempotency_key: str,
                  metadata: dict[str, str]) -> dict:
    """Refund part of a Checkout Session's payment; return Stripe's refund, its amount in the shop's minor units."""
    payment_intent = _payment_intent_of(payment_reference)
    if not payment_intent:
        raise stripe.InvalidRequestError("This Checkout Session has no payment to refund.", param=None)
    refund = client().v1.refunds.create(
        {"payment_intent": payment_intent, "amount": to_stripe_amount(amount_cents, currency),
         "metadata": stripe_metadata(metadata)},
        {"idempotency_key": idempotency_key},
    )
    return refund_in_shop_units(refund.to_dict(), currency)


def retrieve_refund(refund_id: str, currency: str) -> dict:
    """Fetch a refund's current state, its amount in the shop's minor units."""
    return refund_in_shop_units(client().v1.refunds.retrieve(refund_id).to_dict(), currency)


def list_refunds(payment_reference: str, currency: str) -> list[dict]:
    """Return every refund of a Checkout Session's payment, newest first, amounts in the shop's minor units."""
    payment_intent = _payment_intent_of(payment_reference)
    if not payment_intent:
        return []
    page = client().v1.refunds.list({"payment_intent": payment_intent, "limit": 100})
    return [refund_in_shop_units(refund.to_dict(), currency) for refund in page.auto_paging_iter()]

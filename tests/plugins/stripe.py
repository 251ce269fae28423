"""Fixtures for the Stripe tests: the local Stripe API stand-in and webhook signing."""
import hashlib
import hmac
import json
import socket
import time

import pytest

from tests.stripe_stand_in import StripeStandIn

SECRET_KEY = "sk_test_shop_tests"
WEBHOOK_SECRET = "whsec_test_shop_tests"


@pytest.fixture(scope="session")
def _stripe_server():
    server = StripeStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_api(_stripe_server):
    """Return the Stripe stand-in, emptied; its `config` points the app's Stripe SDK at it.

    A test module turns Stripe mode on with
    `@pytest.fixture def app_overrides(stripe_api): return stripe_api.config`. Refunds answer
    `stripe_api.next_refund_status` ("succeeded" unless a test sets "pending", "requires_action"
    or "failed"); `settle_refund` moves one on later and `refund_event` gives the webhook's event.
    """
    _stripe_server.reset()
    _stripe_server.config = {
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": _stripe_server.url,
    }
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        _stripe_server.unreachable_url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    yield _stripe_server
    _stripe_server.reset()


def signed_webhook(payload: dict, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> tuple[bytes, dict]:
    """Serialise an event and sign it exactly as Stripe does; return (raw body, headers)."""
    body = json.dumps(payload).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={timestamp},v1={signature}", "Content-Type": "application/json"}


@pytest.fixture
def send_webhook(client):
    """Post a signed event to the webhook as Stripe would and return the response."""

    def send(payload: dict, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
        body, headers = signed_webhook(payload, secret=secret, timestamp=timestamp)
        return client.post("/checkout/webhook", data=body, headers=headers, csrf=False)

    return send

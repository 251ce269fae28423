"""Fixtures for the checkout and order tests: shipping methods, a filled cart, the checkout form."""
import re
import secrets

import pytest

from shop.extensions import db
from shop.models import ShippingMethod
from shop.services.cart import write_cart
from shop.services.checkout import CheckoutDetails

ADDRESS = {
    "email": "guest@example.com", "name": "Gina Guest", "line1": "12 High Street", "line2": "",
    "city": "Bristol", "postal_code": "BS1 4DJ", "country": "GB", "phone": "",
}


@pytest.fixture
def shipping_methods():
    """Create Standard ($5.99, free from $75) and Express ($14.99) shipping."""
    standard = ShippingMethod(name="Standard", price_cents=599, free_over_cents=7500, position=0)
    express = ShippingMethod(name="Express", price_cents=1499, position=1)
    db.session.add_all([standard, express])
    db.session.commit()
    return standard, express


@pytest.fixture
def checkout_cart(client):
    """Return a function that puts {variant: quantity} into a client's session cart."""

    def fill(lines: dict, on=None) -> None:
        with (on or client).session_transaction() as session:
            write_cart(session, {getattr(variant, "id", variant): quantity for variant, quantity in lines.items()})

    return fill


@pytest.fixture
def checkout_form(shipping_methods):
    """Return a function building the checkout form's fields, with a valid guest address by default."""
    standard_id = shipping_methods[0].id

    def form(**overrides) -> dict:
        data = {**ADDRESS, "shipping_method": str(standard_id), "coupon": "", "place": "Place order and pay",
                "placement_token": secrets.token_urlsafe(16)}
        data.update(overrides)
        return {key: value for key, value in data.items() if value is not None}

    return form


@pytest.fixture
def details(shipping_methods):
    """Return a function building CheckoutDetails for placing orders through the service."""
    standard_id = shipping_methods[0].id

    def build(**overrides) -> CheckoutDetails:
        values = dict(ADDRESS, shipping_method_id=standard_id, coupon_code="")
        values.update(overrides)
        return CheckoutDetails(**values)

    return build


def payment_reference_of(response) -> str:
    """Return the test-payment reference a checkout redirect points to."""
    match = re.search(r"/checkout/test-payment/([\w-]+)$", response.headers["Location"])
    assert match, f"not a test-payment redirect: {response.headers.get('Location')}"
    return match.group(1)

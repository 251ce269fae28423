"""Fixtures for the cart tests: a helper that uses the cart's forms on the test client."""
import pytest


class CartActions:
    """Drive the cart through its forms, as a shopper's browser would."""

    def __init__(self, client):
        self._client = client

    def add(self, variant, quantity=1, **kwargs):
        variant_id = variant.id if hasattr(variant, "id") else variant
        return self._client.post("/cart/add", data={"variant_id": variant_id, "quantity": quantity}, **kwargs)

    def update(self, variant, quantity, **kwargs):
        variant_id = variant.id if hasattr(variant, "id") else variant
        return self._client.post("/cart/update", data={"variant_id": variant_id, "quantity": quantity}, **kwargs)

    def remove(self, variant, **kwargs):
        variant_id = variant.id if hasattr(variant, "id") else variant
        return self._client.post("/cart/remove", data={"variant_id": variant_id}, **kwargs)

    def page(self) -> str:
        response = self._client.get("/cart")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    def session_cart(self) -> dict:
        with self._client.session_transaction() as session:
            return dict(session.get("cart", {}))


@pytest.fixture
def cart(client):
    """Return helpers that use the cart's forms on `client`."""
    return CartActions(client)

"""Download my data: a logged-in shopper takes away what the shop keeps about them, as JSON."""
import json

import sqlalchemy as sa

from shop.extensions import db
from shop.models import Review, SavedItem, User, WishlistItem
from tests.factories import make_address, make_order, make_product, make_user


def fill_account(user_id: int) -> None:
    """Give the account an address, two orders, a review, a wishlist entry and a saved item."""
    owner = db.session.get(User, user_id)
    make_address(owner, full_name="Sam Shopper", line1="4 Elm Row", city="Leeds", country="GB", is_default=True)
    boots = make_product("Walking Boots", price_cents=8900)
    hat = make_product("Sun Hat", price_cents=1500)
    make_order(owner, boots.variants[0], quantity=1, status="paid", payment_status="paid")
    make_order(owner, hat.variants[0], quantity=3)
    db.session.add(Review(product_id=boots.id, user_id=user_id, rating=5, title="Comfy from day one", body="Dry feet.",
                          author_name="Sam"))
    db.session.add(WishlistItem(user_id=user_id, product_id=hat.id))
    db.session.add(SavedItem(user_id=user_id, variant_id=hat.variants[0].id, quantity=2))
    db.session.commit()


def test_the_deletion_page_offers_the_download(client, user):
    page = client.get("/account/delete").get_data(as_text=True)

    assert 'action="/account/my-data"' in page and "Download my data" in page
    assert "Delete my account" in page


def test_the_download_holds_profile_addresses_orders_reviews_and_wishlist(client, user):
    fill_account(user.id)
    someone_else = make_user("other@example.com")
    make_order(someone_else, make_product("Not Mine").variants[0])
    db.session.commit()

    response = client.post("/account/my-data")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="my-data.json"'
    assert "no-store" in response.headers["Cache-Control"]
    data = json.loads(response.get_data(as_text=True))
    assert data["profile"]["email"] == "shopper@example.com"
    assert [address["line1"] for address in data["addresses"]] == ["4 Elm Row"]
    assert [[item["product"] for item in order["items"]] for order in data["orders"]] == [["Walking Boots"],
                                                                                         ["Sun Hat"]]
    assert data["orders"][0]["status"] == "paid" and data["orders"][0]["total_cents"] == 8900
    assert data["orders"][1]["items"][0]["quantity"] == 3
    assert data["reviews"][0]["product"] == "Walking Boots" and data["reviews"][0]["rating"] == 5
    assert [entry["product"] for entry in data["wishlist"]] == ["Sun Hat"]
    assert data["saved_for_later"][0]["quantity"] == 2
    assert "Not Mine" not in response.get_data(as_text=True)
    assert "password" not in json.dumps(data["profile"]).replace("password_changed_at", "")


def test_the_download_runs_the_same_statements_however_much_the_account_holds(client, user, count_queries):
    fill_account(user.id)
    with count_queries() as some:
        assert client.post("/account/my-data").status_code == 200
    fill_account(user.id)
    fill_account(user.id)

    with count_queries() as more:
        assert client.post("/account/my-data").status_code == 200

    assert len(more) == len(some) <= 8


def test_the_download_needs_a_login_and_a_csrf_token(client, user, auth):
    assert client.post("/account/my-data", csrf=False).status_code == 400
    auth.logout()
    response = client.post("/account/my-data")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Review)) == 0

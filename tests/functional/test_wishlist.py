"""The wishlist: added from product pages, kept in the database, bought from /account/wishlist."""
import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Product, WishlistItem
from tests.factories import make_product, make_user
from tests.plugins.accounts import AuthActions


def wishlist_product_ids(user_id: int) -> list[int]:
    return list(db.session.scalars(sa.select(WishlistItem.product_id).where(WishlistItem.user_id == user_id)))


@pytest.fixture
def boots():
    product = make_product("Trail Boots", price_cents=12900,
                           variants=[{"size": "42", "stock": 3}, {"size": "43", "stock": 0},
                                     {"size": "44", "stock": 5}])
    db.session.commit()
    return {"id": product.id, "slug": product.slug, "variants": [v.id for v in product.variants]}


def test_product_page_offers_the_wishlist_to_logged_in_shoppers_only(client, boots, auth):
    page = client.get(f"/products/{boots['slug']}").get_data(as_text=True)
    assert "Log in to add this to your wishlist" in page
    assert 'action="/account/wishlist/add"' not in page
    make_user("fan@example.com")
    db.session.commit()
    auth.login("fan@example.com")
    page = client.get(f"/products/{boots['slug']}").get_data(as_text=True)
    assert 'action="/account/wishlist/add"' in page
    assert "Add to wishlist" in page


def test_adding_goes_back_to_the_product_and_shows_on_the_wishlist(client, user, boots):
    response = client.post("/account/wishlist/add",
                           data={"product_id": boots["id"], "next": f"/products/{boots['slug']}"})
    assert response.headers["Location"] == f"/products/{boots['slug']}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Added Trail Boots to your wishlist." in page
    page = client.get("/account/wishlist").get_data(as_text=True)
    assert page.count('data-testid="wishlist-item"') == 1
    assert "Trail Boots" in page
    # Only the sizes in stock are offered.
    assert ">42 · $129.00<" in page and ">44 · $129.00<" in page and ">43 · " not in page


def test_adding_twice_keeps_one_entry(client, user, boots):
    client.post("/account/wishlist/add", data={"product_id": boots["id"]})
    page = client.post("/account/wishlist/add", data={"product_id": boots["id"]},
                       follow_redirects=True).get_data(as_text=True)
    assert "Trail Boots is already on your wishlist." in page
    assert wishlist_product_ids(user.id) == [boots["id"]]


def test_anonymous_shoppers_are_sent_to_log_in(client, boots):
    response = client.get("/account/wishlist")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    response = client.post("/account/wishlist/add",
                           data={"product_id": boots["id"], "next": f"/products/{boots['slug']}"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login?next=")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WishlistItem)) == 0


def test_adding_to_the_cart_from_the_wishlist(client, user, boots):
    client.post("/account/wishlist/add", data={"product_id": boots["id"]})
    response = client.post("/cart/add", data={"variant_id": boots["variants"][2], "quantity": 2,
                                              "next": "/account/wishlist"})
    assert response.headers["Location"] == "/account/wishlist"
    page = client.get("/account/wishlist").get_data(as_text=True)
    assert "Added 2 × Trail Boots (44) to your cart." in page
    with client.session_transaction() as session:
        assert session["cart"] == {str(boots["variants"][2]): 2}


def test_removing_from_the_wishlist(client, user, boots):
    client.post("/account/wishlist/add", data={"product_id": boots["id"]})
    item_id = db.session.scalar(sa.select(WishlistItem.id))
    page = client.post(f"/account/wishlist/{item_id}/remove", follow_redirects=True).get_data(as_text=True)
    assert "Removed Trail Boots from your wishlist." in page
    assert "Your wishlist is empty." in page
    assert wishlist_product_ids(user.id) == []


def test_another_shoppers_entry_cannot_be_removed(client, user, boots):
    owner_id = make_user("owner@example.com").id
    db.session.add(WishlistItem(user_id=owner_id, product_id=boots["id"]))
    db.session.commit()
    item_id = db.session.scalar(sa.select(WishlistItem.id))
    page = client.post(f"/account/wishlist/{item_id}/remove", follow_redirects=True).get_data(as_text=True)
    assert "That product is no longer on your wishlist." in page
    assert wishlist_product_ids(owner_id) == [boots["id"]]
    assert "Trail Boots" not in client.get("/account/wishlist").get_data(as_text=True)


def test_retired_and_sold_out_products_cannot_be_bought_from_the_wishlist(client, user, boots):
    sold_out_id = make_product("Rain Hat", stock=0).id
    db.session.commit()
    for product_id in (boots["id"], sold_out_id):
        client.post("/account/wishlist/add", data={"product_id": product_id})
    db.session.execute(sa.update(Product).where(Product.id == boots["id"]).values(is_active=False))
    db.session.commit()
    page = client.get("/account/wishlist").get_data(as_text=True)
    assert page.count('data-testid="wishlist-item"') == 2
    assert "No longer sold" in page and "Out of stock" in page
    assert 'action="/cart/add"' not in page


def test_the_wishlist_follows_the_shopper_to_another_browser(app, client, user, boots):
    client.post("/account/wishlist/add", data={"product_id": boots["id"]})
    client.post("/auth/logout")
    other_browser = app.test_client()
    AuthActions(other_browser).login(user.email)
    page = other_browser.get("/account/wishlist").get_data(as_text=True)
    assert "Trail Boots" in page


@pytest.mark.parametrize("product_id", ["abc", "-1", "", str(10**12), "1 OR 1=1"])
def test_forged_product_ids_are_bad_requests(client, user, boots, product_id):
    assert client.post("/account/wishlist/add", data={"product_id": product_id}).status_code == 400
    assert wishlist_product_ids(user.id) == []


def test_unknown_or_retired_products_get_a_message(client, user):
    retired_id = make_product("Old Boots", is_active=False).id
    db.session.commit()
    for product_id in (987654, retired_id):
        page = client.post("/account/wishlist/add", data={"product_id": product_id},
                           follow_redirects=True).get_data(as_text=True)
        assert "Sorry, that item is no longer available." in page
    assert wishlist_product_ids(user.id) == []


def test_wishlist_without_csrf_is_refused(client, user, boots):
    assert client.post("/account/wishlist/add", data={"product_id": boots["id"]}, csrf=False).status_code == 400
    assert wishlist_product_ids(user.id) == []


def test_wishlist_page_runs_the_same_queries_for_1_or_10_products(client, user, count_queries):
    product_ids = [make_product(f"Wish {n}", variants=[{"size": "S"}, {"size": "M"}]).id for n in range(10)]
    db.session.commit()
    client.post("/account/wishlist/add", data={"product_id": product_ids[0]})
    with count_queries() as one:
        assert client.get("/account/wishlist").get_data(as_text=True).count('data-testid="wishlist-item"') == 1
    for product_id in product_ids[1:]:
        client.post("/account/wishlist/add", data={"product_id": product_id})
    with count_queries() as ten:
        assert client.get("/account/wishlist").get_data(as_text=True).count('data-testid="wishlist-item"') == 10
    assert len(one) == len(ten)

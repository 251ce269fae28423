"""The cart and save-for-later pages as a shopper uses them."""
import re

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import CartLine, Product, ProductVariant, SavedItem, User
from tests.factories import make_product, make_user
from tests.plugins.accounts import AuthActions
from tests.plugins.cart import CartActions
from tests.plugins.checkout import payment_reference_of


def change(model, row_id, **values):
    """Change a row as an admin would, between the shopper's requests."""
    db.session.execute(sa.update(model).where(model.id == row_id).values(**values))
    db.session.commit()


def lines_in(page: str) -> int:
    return page.count('data-testid="cart-line"')


def header_count(page: str) -> int:
    return int(re.search(r'data-testid="cart-count">(\d+)<', page).group(1))


@pytest.fixture
def tent():
    product = make_product("Alpine Tent", price_cents=19900, stock=4,
                           variants=[{"size": "2P"}, {"size": "3P", "price_cents": 24900, "stock": 2}])
    db.session.commit()
    return product


@pytest.fixture
def mug():
    product = make_product("Camp Mug", price_cents=850, stock=200)
    db.session.commit()
    return product


def test_adding_shows_a_message_and_the_line_with_prices_from_the_database(client, cart, tent, mug):
    response = cart.add(tent.variants[0], 2)
    assert response.status_code == 302
    assert response.headers["Location"] == "/cart"
    cart.add(mug.variants[0], 3)

    page = client.get("/cart").get_data(as_text=True)
    assert "Added 2 × Alpine Tent (2P) to your cart." in page
    assert "Added 3 × Camp Mug to your cart." in page
    assert lines_in(page) == 2
    assert "Alpine Tent" in page and "2P" in page
    assert "$199.00" in page and "$398.00" in page  # unit price and line total
    assert "$8.50" in page and "$25.50" in page
    assert re.search(r'data-testid="subtotal">\$423\.50<', page)
    assert f'src="/media/{tent.images[0].filename}"' in page
    assert 'href="/checkout"' in page and "Continue shopping" in page
    assert header_count(page) == 5


def test_header_shows_the_item_count_on_other_pages(client, cart, tent):
    cart.add(tent.variants[1], 2)
    page = client.get(f"/products/{tent.slug}").get_data(as_text=True)
    assert header_count(page) == 2


def test_adding_the_same_variant_again_adds_to_its_line(client, cart, mug):
    cart.add(mug.variants[0], 2)
    cart.add(mug.variants[0], 5)
    page = cart.page()
    assert lines_in(page) == 1
    assert 'value="7"' in page
    assert cart.session_cart() == {str(mug.variants[0].id): 7}


def test_adding_more_than_the_stock_is_lowered_with_a_message(client, cart, tent):
    response = cart.add(tent.variants[1], 5, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Only 2 of Alpine Tent (3P) available, so your cart now has 2." in page
    assert cart.session_cart() == {str(tent.variants[1].id): 2}


def test_a_line_holds_at_most_99(client, cart, mug):
    cart.add(mug.variants[0], 60)
    page = cart.add(mug.variants[0], 60, follow_redirects=True).get_data(as_text=True)
    assert "You can buy at most 99 of Camp Mug at a time, so your cart now has 99." in page
    assert cart.session_cart() == {str(mug.variants[0].id): 99}


def test_sold_out_and_inactive_products_cannot_be_added(client, cart):
    sold_out = make_product("Empty Shelf", stock=0)
    retired = make_product("Old Model", is_active=False)
    db.session.commit()
    page = cart.add(sold_out.variants[0], follow_redirects=True).get_data(as_text=True)
    assert "Sorry, Empty Shelf is sold out." in page
    page = cart.add(retired.variants[0], follow_redirects=True).get_data(as_text=True)
    assert "Sorry, Old Model is no longer sold." in page
    assert cart.session_cart() == {}


def test_the_cart_holds_at_most_50_lines(client, cart):
    products = [make_product(f"Sticker {n}") for n in range(51)]
    db.session.commit()
    for product in products[:50]:
        cart.add(product.variants[0])
    page = cart.add(products[50].variants[0], follow_redirects=True).get_data(as_text=True)
    assert page.count("Your cart can hold at most 50 different items.") == 1
    assert len(cart.session_cart()) == 50
    assert str(products[50].variants[0].id) not in cart.session_cart()
    response = client.get("/cart")
    # The whole cart must fit in a browser cookie (4096 bytes).
    cookie = response.headers.get("Set-Cookie") or ""
    assert lines_in(response.get_data(as_text=True)) == 50
    with client.session_transaction():
        pass
    session_cookie = client.get_cookie("session")
    assert len(session_cookie.value) < 3000, cookie


def test_updating_a_quantity(client, cart, mug):
    cart.add(mug.variants[0], 2)
    page = cart.update(mug.variants[0], 4, follow_redirects=True).get_data(as_text=True)
    assert "Updated Camp Mug to 4." in page
    assert re.search(r'data-testid="line-total">\$34\.00<', page)


def test_updating_above_the_stock_lowers_it(client, cart, tent):
    cart.add(tent.variants[0], 1)
    page = cart.update(tent.variants[0], 9, follow_redirects=True).get_data(as_text=True)
    assert "Only 4 of Alpine Tent (2P) available, so your cart now has 4." in page
    assert cart.session_cart() == {str(tent.variants[0].id): 4}


def test_updating_to_zero_removes_the_line(client, cart, tent, mug):
    cart.add(tent.variants[0])
    cart.add(mug.variants[0])
    page = cart.update(mug.variants[0], 0, follow_redirects=True).get_data(as_text=True)
    assert "Removed Camp Mug from your cart." in page
    assert lines_in(page) == 1


def test_removing_a_line_and_clearing_the_cart(client, cart, tent, mug):
    cart.add(tent.variants[0])
    cart.add(mug.variants[0])
    page = cart.remove(tent.variants[0], follow_redirects=True).get_data(as_text=True)
    assert "Removed Alpine Tent (2P) from your cart." in page
    assert lines_in(page) == 1
    assert re.search(r'<a class="button danger" href="/cart/clear">Empty cart</a>', page)
    assert 'action="/cart/clear"' not in page  # one click only asks
    page = client.post("/cart/clear", follow_redirects=True).get_data(as_text=True)
    assert "Your cart is now empty." in page
    assert cart.session_cart() == {}


def test_empty_cart_leads_back_to_the_catalogue(client):
    page = client.get("/cart").get_data(as_text=True)
    assert "Your cart is empty." in page
    assert re.search(r'<a class="button primary" href="/">Continue shopping</a>', page)
    assert 'href="/checkout"' not in page


def test_removing_a_line_that_is_not_there_says_so(client, cart, mug):
    page = cart.remove(mug.variants[0], follow_redirects=True).get_data(as_text=True)
    assert "That item is no longer in your cart." in page
    page = cart.update(mug.variants[0], 3, follow_redirects=True).get_data(as_text=True)
    assert "That item is no longer in your cart." in page


# --- Tampering -------------------------------------------------------------------------------

@pytest.mark.parametrize("quantity", ["abc", "-3", "0", str(10**9), "", "1.5", "1e3", "9" * 5000, "99 OR 1=1"])
def test_nonsense_quantities_get_a_message_and_change_nothing(client, cart, mug, quantity):
    cart.add(mug.variants[0], 2)
    response = cart.add(mug.variants[0], quantity)
    assert response.status_code == 302
    page = client.get("/cart").get_data(as_text=True)
    assert "Please choose a quantity from 1 to 99." in page
    assert cart.session_cart() == {str(mug.variants[0].id): 2}


@pytest.mark.parametrize("quantity", ["abc", "-3", str(10**9), "100"])
def test_nonsense_update_quantities_get_a_message(client, cart, mug, quantity):
    cart.add(mug.variants[0], 2)
    page = cart.update(mug.variants[0], quantity, follow_redirects=True).get_data(as_text=True)
    assert "Please choose a quantity from 0 to 99; 0 removes the item." in page
    assert cart.session_cart() == {str(mug.variants[0].id): 2}


@pytest.mark.parametrize("variant_id", ["abc", "-1", "0", "", str(10**12), "1e3", "1;DROP TABLE products"])
@pytest.mark.parametrize("url", ["/cart/add", "/cart/update", "/cart/remove"])
def test_forged_variant_ids_are_bad_requests(client, mug, url, variant_id):
    response = client.post(url, data={"variant_id": variant_id, "quantity": "1"})
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) == 1


def test_a_missing_form_is_a_bad_request(client):
    assert client.post("/cart/add", data={}).status_code == 400


def test_an_unknown_variant_gets_a_message(client, cart, mug):
    page = cart.add(987654, follow_redirects=True).get_data(as_text=True)
    assert "Sorry, that item is no longer available." in page
    assert cart.session_cart() == {}


def test_posting_without_a_csrf_token_is_refused(client, cart, mug):
    response = client.post("/cart/add", data={"variant_id": mug.variants[0].id, "quantity": 1}, csrf=False)
    assert response.status_code == 400
    assert cart.session_cart() == {}
    cart.add(mug.variants[0])
    assert client.post("/cart/clear", csrf=False).status_code == 400
    assert cart.session_cart() == {str(mug.variants[0].id): 1}


@pytest.mark.parametrize("forged", [
    {"999999": 2, "abc": 1, "-4": 1, "²": 3, "1" * 40: 1},
    {"7": "lots", "8": -1, "9": 10**9, "10": True, "11": None, "12": [1], "13": 2.5},
    "not a cart", ["1", 2], 42, None,
])
def test_a_forged_session_cart_never_breaks_the_pages(client, cart, mug, forged):
    with client.session_transaction() as session:
        session["cart"] = forged
        session["cart_prices"] = {"x": "y", str(mug.variants[0].id): -5}
    for url in ("/cart", "/", f"/products/{mug.slug}"):
        assert client.get(url).status_code == 200
    page = cart.add(mug.variants[0], 1, follow_redirects=True).get_data(as_text=True)
    assert "Added 1 × Camp Mug to your cart." in page
    assert lines_in(page) == 1
    assert header_count(page) == 1
    assert cart.session_cart() == {str(mug.variants[0].id): 1}


def test_forged_lines_pointing_at_missing_variants_are_dropped_with_a_notice(client, cart, mug):
    with client.session_transaction() as session:
        session["cart"] = {"424242": 2, str(mug.variants[0].id): 1}
    page = cart.page()
    assert "Some items in your cart are no longer available and were removed." in page
    assert lines_in(page) == 1
    assert cart.session_cart() == {str(mug.variants[0].id): 1}


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example/", "/\t/evil.example", "javascript:alert(1)",
    "http:/evil.example", "", "relative/path",
])
def test_add_never_redirects_off_the_site(client, mug, target):
    response = client.post("/cart/add", data={"variant_id": mug.variants[0].id, "quantity": 1, "next": target})
    assert response.headers["Location"] == "/cart"


def test_add_goes_back_to_a_local_next_or_the_referring_page(client, mug):
    variant_id = mug.variants[0].id
    response = client.post("/cart/add", data={"variant_id": variant_id, "quantity": 1, "next": "/search?q=mug"})
    assert response.headers["Location"] == "/search?q=mug"
    response = client.post("/cart/add", data={"variant_id": variant_id, "quantity": 1},
                           headers={"Referer": f"http://localhost/products/{mug.slug}"})
    assert response.headers["Location"] == f"/products/{mug.slug}"
    response = client.post("/cart/add", data={"variant_id": variant_id, "quantity": 1},
                           headers={"Referer": f"http://evil.example/products/{mug.slug}"})
    assert response.headers["Location"] == "/cart"


# --- Reconciling with the database on every view ---------------------------------------------

def test_a_quantity_above_todays_stock_is_lowered_with_a_notice(client, cart, tent):
    cart.add(tent.variants[0], 4)
    change(ProductVariant, tent.variants[0].id, stock=1)
    page = cart.page()
    assert "Only 1 of Alpine Tent (2P) left, so we lowered the quantity in your cart from 4 to 1." in page
    assert cart.session_cart() == {str(tent.variants[0].id): 1}
    assert re.search(r'data-testid="subtotal">\$199\.00<', page)


def test_sold_out_deactivated_and_deleted_products_are_removed_with_a_notice(client, cart, tent, mug):
    cart.add(tent.variants[0])
    cart.add(tent.variants[1])
    gone = make_product("Gone Soon")
    db.session.commit()
    cart.add(gone.variants[0])
    cart.add(mug.variants[0])
    change(ProductVariant, tent.variants[1].id, stock=0)
    change(Product, mug.id, is_active=False)
    db.session.execute(sa.delete(Product).where(Product.id == gone.id))
    db.session.commit()

    page = cart.page()
    assert "Alpine Tent (3P) is sold out and was removed from your cart." in page
    assert "Camp Mug is no longer sold and was removed from your cart." in page
    assert "Some items in your cart are no longer available and were removed." in page
    assert lines_in(page) == 1
    assert cart.session_cart() == {str(tent.variants[0].id): 1}
    assert "was removed" not in cart.page()


def test_a_price_change_is_shown_with_a_notice_once(client, cart, tent):
    cart.add(tent.variants[0], 2)
    change(ProductVariant, tent.variants[0].id, price_cents=17900)
    page = cart.page()
    assert "The price of Alpine Tent (2P) changed from $199.00 to $179.00 since you added it." in page
    assert '<s class="compare-at" title="Price when you added it">$199.00</s>' in page
    assert re.search(r'data-testid="subtotal">\$358\.00<', page)
    page = cart.page()
    assert "changed from" not in page
    assert re.search(r'data-testid="subtotal">\$358\.00<', page)


def test_a_forged_seen_price_never_changes_what_is_charged(client, cart, mug):
    cart.add(mug.variants[0], 2)
    with client.session_transaction() as session:
        session["cart_prices"] = {str(mug.variants[0].id): 1}
    page = cart.page()
    assert re.search(r'data-testid="subtotal">\$17\.00<', page)


def test_cart_page_runs_the_same_queries_for_1_or_30_lines(client, cart, count_queries):
    products = [make_product(f"Badge {n}", images=2) for n in range(30)]
    db.session.commit()
    cart.add(products[0].variants[0])
    with count_queries() as one_line:
        assert lines_in(cart.page()) == 1
    for product in products[1:]:
        cart.add(product.variants[0])
    with count_queries() as thirty_lines:
        assert lines_in(cart.page()) == 30
    assert len(one_line) == len(thirty_lines) <= 4


def test_logged_in_cart_page_runs_the_same_queries_for_few_or_many_saved_items(
        client, cart, user, count_queries):
    variant_ids = [make_product(f"Patch {n}").variants[0].id for n in range(20)]
    db.session.commit()
    cart.add(variant_ids[0])
    client.post("/cart/save-for-later", data={"variant_id": variant_ids[0]})
    cart.add(variant_ids[1])
    with count_queries() as few:
        cart.page()
    for variant_id in variant_ids[2:]:
        cart.add(variant_id)
        client.post("/cart/save-for-later", data={"variant_id": variant_id})
        cart.add(variant_id)
    with count_queries() as many:
        page = cart.page()
    assert page.count('data-testid="saved-line"') == 19
    assert lines_in(page) == 19
    assert len(few) == len(many)


# --- Save for later --------------------------------------------------------------------------

def saved_rows(user_id: int) -> list[tuple[int, int]]:
    return [tuple(row) for row in db.session.execute(
        sa.select(SavedItem.variant_id, SavedItem.quantity).where(SavedItem.user_id == user_id)
    )]


def test_anonymous_shoppers_are_asked_to_log_in_to_save_for_later(client, cart, mug):
    cart.add(mug.variants[0], 2)
    page = cart.page()
    assert "Save for later" not in page.split("Saved for later")[0]
    assert "to save items for later" in page
    response = client.post("/cart/save-for-later", data={"variant_id": mug.variants[0].id})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")
    assert cart.session_cart() == {str(mug.variants[0].id): 2}


def test_save_for_later_moves_the_line_under_the_cart_and_follows_the_shopper(client, app, cart, user, tent):
    cart.add(tent.variants[0], 3)
    page = client.post("/cart/save-for-later", data={"variant_id": tent.variants[0].id},
                       follow_redirects=True).get_data(as_text=True)
    assert "Saved Alpine Tent (2P) for later." in page
    assert lines_in(page) == 0
    assert page.count('data-testid="saved-line"') == 1
    assert saved_rows(user.id) == [(tent.variants[0].id, 3)]

    other_browser = app.test_client()
    AuthActions(other_browser).login(user.email)
    page = other_browser.get("/cart").get_data(as_text=True)
    assert page.count('data-testid="saved-line"') == 1
    assert "Alpine Tent" in page and "Quantity 3" in page


def test_move_to_cart_brings_the_line_back(client, cart, user, tent):
    cart.add(tent.variants[0], 3)
    client.post("/cart/save-for-later", data={"variant_id": tent.variants[0].id})
    saved_id = db.session.scalar(sa.select(SavedItem.id))
    page = client.post(f"/cart/saved/{saved_id}/move-to-cart", follow_redirects=True).get_data(as_text=True)
    assert "Moved Alpine Tent (2P) to your cart." in page
    assert cart.session_cart() == {str(tent.variants[0].id): 3}
    assert saved_rows(user.id) == []


def test_move_to_cart_applies_the_stock_checks(client, cart, user, tent):
    cart.add(tent.variants[0], 4)
    cart.add(tent.variants[1], 2)
    client.post("/cart/save-for-later", data={"variant_id": tent.variants[0].id})
    client.post("/cart/save-for-later", data={"variant_id": tent.variants[1].id})
    saved = {row.variant_id: row.id for row in db.session.execute(sa.select(SavedItem.variant_id, SavedItem.id))}
    change(ProductVariant, tent.variants[0].id, stock=1)
    change(ProductVariant, tent.variants[1].id, stock=0)

    page = client.post(f"/cart/saved/{saved[tent.variants[0].id]}/move-to-cart",
                       follow_redirects=True).get_data(as_text=True)
    assert "Only 1 of Alpine Tent (2P) available, so your cart now has 1." in page
    page = client.post(f"/cart/saved/{saved[tent.variants[1].id]}/move-to-cart",
                       follow_redirects=True).get_data(as_text=True)
    assert "Sorry, Alpine Tent (3P) is sold out. It stays in your saved items." in page
    assert cart.session_cart() == {str(tent.variants[0].id): 1}
    assert saved_rows(user.id) == [(tent.variants[1].id, 2)]


def test_saving_again_adds_to_the_saved_quantity(client, cart, user, mug):
    for quantity in (2, 5):
        cart.add(mug.variants[0], quantity)
        client.post("/cart/save-for-later", data={"variant_id": mug.variants[0].id})
    assert saved_rows(user.id) == [(mug.variants[0].id, 7)]


def test_removing_a_saved_item(client, cart, user, mug):
    cart.add(mug.variants[0])
    client.post("/cart/save-for-later", data={"variant_id": mug.variants[0].id})
    saved_id = db.session.scalar(sa.select(SavedItem.id))
    page = client.post(f"/cart/saved/{saved_id}/remove", follow_redirects=True).get_data(as_text=True)
    assert "Removed Camp Mug from your saved items." in page
    assert saved_rows(user.id) == []


def test_another_shoppers_saved_item_cannot_be_touched(client, cart, user, mug):
    variant_id = mug.variants[0].id
    owner_id = make_user("owner@example.com").id
    db.session.add(SavedItem(user_id=owner_id, variant_id=variant_id, quantity=2))
    db.session.commit()
    saved_id = db.session.scalar(sa.select(SavedItem.id))
    for action in ("move-to-cart", "remove"):
        page = client.post(f"/cart/saved/{saved_id}/{action}", follow_redirects=True).get_data(as_text=True)
        assert "That saved item is no longer in your list." in page
    assert cart.session_cart() == {}
    assert saved_rows(owner_id) == [(variant_id, 2)]


@pytest.mark.parametrize("url", ["/cart/saved/99999999999999999999/remove", "/cart/saved/abc/move-to-cart"])
def test_nonsense_saved_ids_are_not_found(client, user, url):
    assert client.post(url).status_code == 404


def test_saving_a_line_not_in_the_cart_says_so(client, cart, user, mug):
    page = client.post("/cart/save-for-later", data={"variant_id": mug.variants[0].id},
                       follow_redirects=True).get_data(as_text=True)
    assert "That item is no longer in your cart." in page
    assert saved_rows(user.id) == []


# --- Emptying the cart asks first ------------------------------------------------------------

def test_empty_cart_asks_for_confirmation_before_emptying(client, cart, mug):
    cart.add(mug.variants[0], 3)
    response = client.get("/cart/clear")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<h1" in page and "Empty your cart?</h1>" in page
    assert "This takes all 3 items out of your cart." in page
    form = re.search(r'<form method="post" action="/cart/clear" class="actions">(.*?)</form>', page, re.S).group(1)
    assert 'name="csrf_token"' in form
    assert re.search(r'<button type="submit" class="danger">Yes, empty my cart</button>', form)
    assert re.search(r'<a href="/cart">Keep my cart</a>', form)
    assert cart.session_cart() == {str(mug.variants[0].id): 3}  # looking is not emptying

    page = client.post("/cart/clear", follow_redirects=True).get_data(as_text=True)
    assert "Your cart is now empty." in page and "Your cart is empty." in page
    assert cart.session_cart() == {}


def test_the_confirmation_of_an_empty_cart_leads_back_to_the_cart(client):
    response = client.get("/cart/clear")
    assert response.status_code == 302 and response.headers["Location"] == "/cart"


def test_emptying_without_a_csrf_token_keeps_the_cart(client, cart, user, mug):
    cart.add(mug.variants[0], 2)
    assert client.post("/cart/clear", csrf=False).status_code == 400
    assert cart.session_cart() == {str(mug.variants[0].id): 2}
    assert account_cart(user.id) == {mug.variants[0].id: 2}


# --- The cart kept with the account ----------------------------------------------------------

def account_cart(user_id: int) -> dict[int, int]:
    rows = db.session.execute(sa.select(CartLine.variant_id, CartLine.quantity).where(CartLine.user_id == user_id))
    return {variant_id: quantity for variant_id, quantity in rows}


def test_the_cart_follows_the_shopper_to_another_device(app, client, cart, user, tent, mug):
    cart.add(tent.variants[0], 2)
    cart.add(mug.variants[0], 3)
    AuthActions(client).logout()
    assert cart.page().count('data-testid="cart-line"') == 0  # logged out, this browser forgets it

    other_device = app.test_client()
    AuthActions(other_device).login(user.email)
    page = CartActions(other_device).page()
    assert lines_in(page) == 2
    assert "Alpine Tent" in page and "Camp Mug" in page
    assert re.search(r'data-testid="subtotal">\$423\.50<', page)
    assert header_count(page) == 5


def test_logging_out_and_back_in_brings_the_same_cart_without_doubling(client, cart, user, mug):
    auth = AuthActions(client)
    cart.add(mug.variants[0], 3)
    for _ in range(2):
        auth.logout()
        page = auth.login(user.email, follow_redirects=True).get_data(as_text=True)
        assert "added to this one" not in page
        assert cart.session_cart() == {str(mug.variants[0].id): 3}
    assert account_cart(user.id) == {mug.variants[0].id: 3}


def test_a_login_ended_from_another_device_leaves_no_copy_to_double(app, client, cart, user, mug):
    cart.add(mug.variants[0], 2)
    other_device = app.test_client()
    AuthActions(other_device).login(user.email)
    other_device.post("/account/logout-everywhere")

    page = cart.page()
    assert "You have been logged out." in page and lines_in(page) == 0
    AuthActions(client).login(user.email)
    assert cart.session_cart() == {str(mug.variants[0].id): 2}
    assert account_cart(user.id) == {mug.variants[0].id: 2}


def test_every_change_while_logged_in_is_kept_with_the_account(client, cart, user, tent, mug):
    tent_id, mug_id = tent.variants[0].id, mug.variants[0].id
    cart.add(tent_id, 2)
    cart.add(mug_id, 1)
    cart.update(mug_id, 4)
    assert account_cart(user.id) == {tent_id: 2, mug_id: 4}
    client.post("/cart/save-for-later", data={"variant_id": tent_id})
    assert account_cart(user.id) == {mug_id: 4}
    saved_id = db.session.scalar(sa.select(SavedItem.id))
    client.post(f"/cart/saved/{saved_id}/move-to-cart")
    assert account_cart(user.id) == {mug_id: 4, tent_id: 2}
    cart.remove(mug_id)
    assert account_cart(user.id) == {tent_id: 2}
    client.post("/cart/clear")
    assert account_cart(user.id) == {}


def test_a_guest_cart_joins_the_saved_cart_at_login(app, client, cart, tent, mug):
    make_user("ann@example.com")
    db.session.commit()
    laptop = app.test_client()
    AuthActions(laptop).login("ann@example.com")
    CartActions(laptop).add(mug.variants[0], 2)

    cart.add(mug.variants[0], 1)  # on the phone, before logging in
    cart.add(tent.variants[0], 1)
    page = AuthActions(client).login("ann@example.com", follow_redirects=True).get_data(as_text=True)
    assert "The cart saved with your account was added to this one." in page
    assert cart.session_cart() == {str(mug.variants[0].id): 3, str(tent.variants[0].id): 1}
    page = cart.page()
    assert lines_in(page) == 2 and header_count(page) == 4


def test_the_merge_says_what_it_capped_or_dropped(app, client, cart, tent):
    owner_id = make_user("ann@example.com").id
    db.session.add(CartLine(user_id=owner_id, variant_id=tent.variants[1].id, quantity=2))
    db.session.commit()
    cart.add(tent.variants[1], 1)  # only 2 of the 3P in stock
    change(ProductVariant, tent.variants[0].id, is_active=False)
    db.session.add(CartLine(user_id=owner_id, variant_id=tent.variants[0].id, quantity=1))
    db.session.commit()

    page = AuthActions(client).login("ann@example.com", follow_redirects=True).get_data(as_text=True)
    assert "Only 2 of Alpine Tent (3P) available, so your cart now has 2." in page
    assert "Alpine Tent (2P) is no longer sold and was removed from your cart." in page
    assert cart.session_cart() == {str(tent.variants[1].id): 2}
    assert account_cart(owner_id) == {tent.variants[1].id: 2}


def test_registering_keeps_the_guest_cart_with_the_new_account(client, cart, mug):
    cart.add(mug.variants[0], 2)
    client.post("/auth/register", data={"email": "new@example.com", "name": "Nora New",
                                        "password": "plum tangerine orbit", "confirm": "plum tangerine orbit"})
    user_id = db.session.scalar(sa.select(User.id))
    assert account_cart(user_id) == {mug.variants[0].id: 2}
    assert cart.session_cart() == {str(mug.variants[0].id): 2}


def test_a_paid_order_empties_the_cart_kept_with_the_account(app, client, cart, user, mug, checkout_form):
    cart.add(mug.variants[0], 2)
    placed = client.post("/checkout", data=checkout_form(email=user.email))
    reference = payment_reference_of(placed)
    paid = client.post(f"/checkout/test-payment/{reference}", data={"pay": "Pay"})
    assert client.get(paid.headers["Location"]).status_code == 200
    assert account_cart(user.id) == {}

    other_device = app.test_client()
    AuthActions(other_device).login(user.email)
    assert "Your cart is empty." in CartActions(other_device).page()

""""You may also like" and "Recently viewed" on product pages, and "Recently viewed" on the cart page."""
import re

import pytest

from shop.catalog.suggestions import RECENTLY_VIEWED_KEY
from shop.extensions import db
from tests.factories import make_brand, make_category, make_product, make_user

CARD_TITLE = re.compile(r'<h3 class="card-title"><a href="/products/[^"]+">([^<]+)</a></h3>')


def section(page: str, testid: str) -> list[str] | None:
    """Return the product names of a suggestion section in order, or None when the page has no such section."""
    marker = f'data-testid="{testid}"'
    if marker not in page:
        return None
    block = page.split(marker, 1)[1].split("</section>", 1)[0]
    return CARD_TITLE.findall(block)


def view(client, product) -> str:
    response = client.get(f"/products/{product.slug}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def shelf():
    """A tee among other tees, a brand's products in other categories, and products that must not be suggested."""
    tees, mugs = make_category("Tees"), make_category("Mugs")
    oakline = make_brand("Oakline")
    tee = make_product("Tee", category=tees, brand=oakline)
    products = {
        "tee": tee,
        "polo": make_product("Polo", category=tees),
        "henley": make_product("Henley", category=tees),
        "oak mug": make_product("Oak Mug", category=mugs, brand=oakline),
        "plain bowl": make_product("Plain Bowl", category=make_category("Bowls")),  # neither category nor brand
        "sold-out tee": make_product("Sold-out Tee", category=tees, stock=0),
        "retired tee": make_product("Retired Tee", category=tees, is_active=False),
        "off tee": make_product("Off Tee", category=tees),  # its only variant in stock is switched off
    }
    off = products["off tee"]
    off.variants[0].is_active = False
    db.session.commit()
    return products


def test_related_products_share_the_category_then_the_brand_and_are_in_stock(client, shelf):
    page = view(client, shelf["tee"])
    assert section(page, "related") == ["Henley", "Polo", "Oak Mug"]  # same category first, each newest first
    assert '<h2 id="related-title">You may also like</h2>' in page


def test_a_product_with_nothing_related_shows_no_section(client, shelf):
    page = view(client, make_product("Kettle", category=make_category("Kettles"), brand=make_brand()))
    assert section(page, "related") is None and "You may also like" not in page


def test_at_most_eight_related_products(client):
    lamps = make_category("Lamps")
    lamp = make_product("Lamp", category=lamps)
    for number in range(10):
        make_product(f"Lamp {number}", category=lamps)
    db.session.commit()
    assert section(view(client, lamp), "related") == [f"Lamp {number}" for number in range(9, 1, -1)]


def test_related_and_recently_viewed_run_the_same_queries_for_one_or_eight_products(client, count_queries):
    few, many = make_category("Few"), make_category("Many")
    lone = make_product("Lone", category=few)
    make_product("Lone kin", category=few)
    crowd = [make_product(f"Crowd {number}", category=many) for number in range(9)]
    seen_once = make_product("Seen once")
    db.session.commit()
    view(client, seen_once)
    with count_queries() as small:
        assert section(view(client, lone), "related") == ["Lone kin"]
    for product in crowd[1:]:
        view(client, product)
    with count_queries() as large:
        page = view(client, crowd[0])
    assert len(section(page, "related")) == 8 and len(section(page, "recently-viewed")) == 8
    assert len(small) == len(large)


def test_recently_viewed_lists_the_last_products_newest_first_without_the_one_shown(client, shelf):
    for name in ("polo", "henley", "oak mug"):
        view(client, shelf[name])
    page = view(client, shelf["tee"])
    assert section(page, "recently-viewed") == ["Oak Mug", "Henley", "Polo"]
    assert '<h2 id="recently-viewed-title">Recently viewed</h2>' in page
    page = view(client, shelf["polo"])  # seen again: moves to the front, listed once
    assert section(page, "recently-viewed") == ["Tee", "Oak Mug", "Henley"]
    assert section(view(client, shelf["henley"]), "recently-viewed") == ["Polo", "Tee", "Oak Mug"]


def test_the_first_product_viewed_has_no_recently_viewed_section(client, shelf):
    assert section(view(client, shelf["tee"]), "recently-viewed") is None


def test_recently_viewed_keeps_the_last_eight_and_only_ids_in_the_session(client):
    products = [make_product(f"Vase {number}", category=make_category()) for number in range(12)]
    db.session.commit()
    for product in products:
        view(client, product)
    page = client.get("/cart").get_data(as_text=True)
    assert section(page, "recently-viewed") == [f"Vase {number}" for number in range(11, 3, -1)]
    with client.session_transaction() as session:
        kept = session[RECENTLY_VIEWED_KEY]
    assert kept == [product.id for product in reversed(products)][:9]
    # On a product page the one shown leaves its place to the ninth.
    assert section(view(client, products[11]), "recently-viewed") == [f"Vase {n}" for n in range(10, 2, -1)]


def test_a_deactivated_or_deleted_product_drops_out_of_recently_viewed(client, shelf):
    for name in ("polo", "henley", "oak mug"):
        view(client, shelf[name])
    shelf["henley"].is_active = False
    db.session.delete(shelf["oak mug"])
    db.session.commit()
    assert section(client.get("/cart").get_data(as_text=True), "recently-viewed") == ["Polo"]
    assert section(view(client, shelf["tee"]), "recently-viewed") == ["Polo"]
    with client.session_transaction() as session:
        assert session[RECENTLY_VIEWED_KEY] == [shelf["tee"].id, shelf["polo"].id]


@pytest.mark.parametrize("hostile", [
    "1,2,3", {"1": 2}, 7, None, [[1], {"a": 1}, None, True, -4, 0, 2**40, "9" * 50, "1e3", " 1", 1.5],
    list(range(10**6, 10**6 + 300)),
])
def test_hostile_session_values_are_ignored(client, shelf, hostile):
    with client.session_transaction() as session:
        session[RECENTLY_VIEWED_KEY] = hostile
    assert client.get("/cart").status_code == 200
    assert section(view(client, shelf["tee"]), "recently-viewed") is None
    with client.session_transaction() as session:
        assert session[RECENTLY_VIEWED_KEY] == [shelf["tee"].id]


def test_good_ids_among_bad_ones_are_kept_once_in_order(client, shelf):
    polo, henley = shelf["polo"].id, shelf["henley"].id
    with client.session_transaction() as session:
        session[RECENTLY_VIEWED_KEY] = ["x", polo, -1, polo, str(henley), True, None]
    assert section(view(client, shelf["tee"]), "recently-viewed") == ["Polo", "Henley"]


def test_the_cart_page_shows_recently_viewed_products(client, shelf):
    assert section(client.get("/cart").get_data(as_text=True), "recently-viewed") is None
    view(client, shelf["polo"])
    view(client, shelf["sold-out tee"])
    page = client.get("/cart").get_data(as_text=True)
    assert section(page, "recently-viewed") == ["Sold-out Tee", "Polo"]
    assert "Out of stock" in page.split('data-testid="recently-viewed"', 1)[1]


def test_a_logged_in_shopper_sees_recently_viewed_too(client, user, shelf):
    view(client, shelf["polo"])
    view(client, shelf["henley"])
    assert section(client.get("/cart").get_data(as_text=True), "recently-viewed") == ["Henley", "Polo"]


def test_logging_in_keeps_what_the_guest_was_looking_at_and_logging_out_forgets_it(client, auth, shelf):
    make_user("browser@example.com")
    view(client, shelf["polo"])
    view(client, shelf["henley"])
    auth.login("browser@example.com")
    assert section(client.get("/cart").get_data(as_text=True), "recently-viewed") == ["Henley", "Polo"]
    auth.logout()
    assert section(client.get("/cart").get_data(as_text=True), "recently-viewed") is None

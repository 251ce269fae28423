"""The page cache is never wrong: a visitor's very next page shows what staff just changed in the back office,
and what belongs to one visitor (account links, cart, CSRF token, flash messages, recently viewed) never
reaches another.

Each change is made as the owner makes it, through the admin pages in a second browser (`staff`), after
the visitor's pages were served from the cache.
"""
import contextvars
import html
import re
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Coupon, CouponKind, ProductVariant, Review, User
from shop.services.orders import expire_order, place_order, record_payment
from tests.factories import make_category, make_order, make_product, make_user
from tests.functional.test_admin_categories import form_for as category_form
from tests.functional.test_admin_categories import reloaded as category_row
from tests.functional.test_admin_coupons import form as coupon_form
from tests.functional.test_admin_images import photos, post_photos
from tests.functional.test_admin_products import product_form, variants_form
from tests.functional.test_store_settings import VALID as STORE_SETTINGS
from tests.images import jpeg_bytes
from tests.plugins.accounts import AuthActions

STAFF_EMAIL = "owner@example.com"
SHOPPER_EMAIL = "sam@example.com"
PAGE_KINDS = ["home", "category", "product", "search"]


@pytest.fixture
def staff(app):
    """A second browser, logged in to the back office as the owner."""
    make_user(STAFF_EMAIL, name="Olive Owner", is_admin=True)
    db.session.commit()
    browser = app.test_client()
    assert AuthActions(browser).login(STAFF_EMAIL).status_code == 302
    return browser


@pytest.fixture
def another_visitor(app):
    """A second anonymous browser with its own cookies."""
    return app.test_client()


@pytest.fixture
def mug(app):
    """A featured mug without photos in Kitchen (with a kettle beside it), and the addresses of its pages."""
    kitchen = make_category("Kitchen")
    product = make_product("Camp Mug", category=kitchen, price_cents=850, stock=40, images=0, is_featured=True)
    make_product("Camp Kettle", category=kitchen, price_cents=2500, stock=40)
    db.session.commit()
    return product_pages(product)


def product_pages(product) -> SimpleNamespace:
    """Plain values of a product and its pages: the test's ORM objects do not survive the client's requests."""
    variant = product.variants[0]
    return SimpleNamespace(
        id=product.id, name=product.name, slug=product.slug, description=product.description, variant_id=variant.id,
        sku=variant.sku, category_id=product.category_id,
        pages={"home": "/", "category": f"/categories/{product.category.slug}", "product": f"/products/{product.slug}",
               "search": "/search?q=camp"},
    )


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def shown(browser, url: str) -> str:
    """Return the page a browser gets next, which must be there."""
    response = browser.get(url)
    assert response.status_code == 200, url
    return text(response)


def cached(browser, url: str) -> str:
    """Load a page twice; the second answer must come from the page cache. Return it."""
    browser.get(url)
    response = browser.get(url)
    assert response.status_code == 200, url
    assert response.headers.get("X-Page-Cache") == "hit", url
    return text(response)


def prime(browser, pages) -> None:
    """Have every page served from the cache once, so a stale copy is there to be served again."""
    for url in pages:
        cached(browser, url)


def card(page: str, name: str) -> str:
    """Return the product card titled `name` on a page, or "" when it shows none."""
    for article in re.findall(r'<article class="card">.*?</article>', page, re.S):
        if f">{name}</a></h3>" in article:
            return article
    return ""


def cards_in(page: str, section: str) -> list[str]:
    """Return the names on the cards of the section marked data-testid=`section`."""
    found = re.search(rf'data-testid="{section}">(.*?)</section>', page, re.S)
    return re.findall(r'class="card-title"><a href="[^"]*">([^<]*)</a>', found.group(1)) if found else []


def product_price(page: str) -> str:
    return re.search(r'<span data-testid="price">([^<]*)</span>', page).group(1)


def stock_text(page: str) -> str:
    return re.search(r'data-testid="stock">([^<]*)</p>', page).group(1)


def cart_count(page: str) -> str:
    return re.search(r'data-testid="cart-count">([^<]*)</span>', page).group(1)


def menu(page: str) -> list[str]:
    nav = re.search(r'<nav class="category-nav"[^>]*>(.*?)</nav>', page, re.S).group(1)
    return re.findall(r">([^<]+)</a>", nav)


def add_to_cart_token(page: str) -> str:
    form = re.search(r'<form class="add-to-cart".*?</form>', page, re.S).group(0)
    return re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)


# What the owner does in the back office, through its forms.

def set_price(staff, product, price: str) -> None:
    rows = [{"label": "Default", "sku": product.sku, "price": price}]
    response = staff.post(f"/admin/products/{product.id}/variants", data=variants_form(rows))
    assert response.status_code == 302, text(response)


def edit_product(staff, product, name: str | None = None, category_id: int | None = None, **fields) -> None:
    """Save the product's edit form with a new name, category or other fields, the rest as the page fills it in
    (featured, one variant, no specifications)."""
    no_specifications = {f"specifications-{row}-{part}": "" for row in range(3) for part in ("name", "value")}
    body = product_form(SimpleNamespace(id=category_id or product.category_id), name=name or product.name,
                        slug=product.slug, description=product.description, is_featured="y", option1_name="",
                        option1_values="", option2_name="", option2_values="", **no_specifications, **fields)
    response = staff.post(f"/admin/products/{product.id}", data=body)
    assert response.status_code == 302, text(response)


def set_stock(staff, variant_id: int, count: int) -> None:
    response = staff.post(f"/admin/inventory/{variant_id}", data={"mode": "set", "quantity": str(count),
                                                                  "reason": "recount"})
    assert response.status_code == 302, text(response)


def set_active(staff, product_id: int, active: bool) -> None:
    response = staff.post("/admin/products/bulk", data={"action": "activate" if active else "deactivate",
                                                        "product_ids": [str(product_id)], "confirmed": "yes"})
    assert response.status_code == 302, text(response)


# Every change a page shows, on the visitor's very next request.

def test_a_new_price_shows_on_the_product_page_and_every_card(client, staff, mug):
    prime(client, mug.pages.values())
    assert product_price(shown(client, mug.pages["product"])) == "$8.50"

    set_price(staff, mug, "9.75")

    assert product_price(shown(client, mug.pages["product"])) == "$9.75"
    for kind in ("home", "category", "search"):
        listing = card(shown(client, mug.pages[kind]), "Camp Mug")
        assert "$9.75" in listing and "$8.50" not in listing, kind


def test_stock_set_on_the_inventory_page_shows_in_every_wording(client, staff, mug):
    listing = mug.pages["category"]
    for count, wording in [(3, "Only 3 left"), (0, "Out of stock"), (1, "Only 1 left"), (6, "In stock")]:
        prime(client, [mug.pages["product"], listing])

        set_stock(staff, mug.variant_id, count)

        assert stock_text(shown(client, mug.pages["product"])) == wording, count
        assert ("Out of stock" in card(shown(client, listing), "Camp Mug")) == (count == 0), count


def test_stock_reserved_by_a_shoppers_order_and_given_back_shows_at_once(client, details):
    lantern = product_pages(make_product("Camp Lantern", price_cents=3500, stock=6))
    db.session.commit()
    product_page, listing = lantern.pages["product"], lantern.pages["category"]
    prime(client, [product_page])
    assert stock_text(shown(client, product_page)) == "In stock"

    order = place_order({lantern.variant_id: 2}, details(), user_id=None)
    assert stock_text(shown(client, product_page)) == "Only 4 left"

    prime(client, [product_page])
    expire_order(order.id)
    assert stock_text(shown(client, product_page)) == "In stock"

    prime(client, [product_page, listing])
    place_order({lantern.variant_id: 6}, details(email="all@example.com"), user_id=None)
    assert stock_text(shown(client, product_page)) == "Out of stock"
    assert "Out of stock" in card(shown(client, listing), "Camp Lantern")


def test_a_deactivated_product_is_gone_at_once_and_back_when_reactivated(client, staff, mug):
    prime(client, mug.pages.values())

    set_active(staff, mug.id, False)

    assert client.get(mug.pages["product"]).status_code == 404
    for kind in ("home", "category", "search"):
        assert card(shown(client, mug.pages[kind]), "Camp Mug") == "", kind

    prime(client, [mug.pages[kind] for kind in ("home", "category", "search")])
    set_active(staff, mug.id, True)

    assert "<h1>Camp Mug</h1>" in shown(client, mug.pages["product"])
    for kind in ("home", "category", "search"):
        assert card(shown(client, mug.pages[kind]), "Camp Mug"), kind


def test_photos_added_made_main_and_deleted_change_the_pictures_shown(client, staff, mug):
    pages = [mug.pages["product"], mug.pages["category"]]

    def main_photo() -> tuple[str, str]:
        """Return the photo (its key, or "none") shown large on the product page and on the card."""
        product_page = shown(client, mug.pages["product"])
        listing_card = card(shown(client, mug.pages["category"]), "Camp Mug")
        large = re.search(r'data-testid="main-image">.*?src="/media/([\w/-]+)-full\.jpg"', product_page, re.S)
        small = re.search(r'/media/([\w/-]+)-card\.jpg', listing_card)
        return large.group(1) if large else "none", small.group(1) if small else "none"

    prime(client, pages)
    assert main_photo() == ("none", "none")

    uploaded = post_photos(staff, mug.id, [(jpeg_bytes(colour=(200, 30, 30)), "red.jpg"),
                                           (jpeg_bytes(colour=(30, 30, 200)), "blue.jpg")], alt="Enamel mug")
    assert uploaded.status_code == 302
    (_, red), (blue_id, blue) = ((photo.id, photo.key) for photo in photos(mug.id))
    assert main_photo() == (red, red)

    prime(client, pages)
    assert staff.post(f"/admin/products/{mug.id}/images/{blue_id}/main").status_code == 302
    assert main_photo() == (blue, blue)

    prime(client, pages)
    assert staff.post(f"/admin/products/{mug.id}/images/{blue_id}/delete", data={"confirmed": "yes"}).status_code == 302
    assert main_photo() == (red, red)
    assert blue not in shown(client, mug.pages["product"])


def test_a_new_name_shows_on_the_product_page_the_cards_and_the_search_results(client, staff, mug):
    prime(client, mug.pages.values())

    edit_product(staff, mug, name="Camp Cup")

    assert "<h1>Camp Cup</h1>" in shown(client, mug.pages["product"])
    for kind in ("home", "category", "search"):
        page = shown(client, mug.pages[kind])
        assert card(page, "Camp Cup") and not card(page, "Camp Mug"), kind


def test_a_new_page_title_shows_in_the_product_pages_title(client, staff, mug):
    prime(client, [mug.pages["product"]])

    edit_product(staff, mug, seo_title="Enamel camp mug, 350 ml")

    assert "<title>Enamel camp mug, 350 ml · Shop</title>" in shown(client, mug.pages["product"])


def test_a_product_moved_to_another_category_shows_there_and_is_gone_from_the_old_one(client, staff, mug):
    outdoors = make_category("Outdoors")
    make_product("Tent Peg", category=outdoors)
    db.session.commit()
    new_listing = f"/categories/{outdoors.slug}"
    prime(client, [mug.pages["category"], new_listing, mug.pages["product"]])

    edit_product(staff, mug, category_id=outdoors.id)

    assert card(shown(client, new_listing), "Camp Mug")
    assert not card(shown(client, mug.pages["category"]), "Camp Mug")
    assert f'href="{new_listing}">Outdoors</a>' in shown(client, mug.pages["product"])  # the breadcrumbs


def test_a_review_shows_once_posted_edited_and_is_gone_once_a_moderator_hides_it(app, client, staff, mug):
    shopper = make_user(SHOPPER_EMAIL, name="Sam Shopper")
    make_order(shopper, db.session.get(ProductVariant, mug.variant_id), status="paid", payment_status="paid")
    db.session.commit()
    reviewer = app.test_client()
    assert AuthActions(reviewer).login(SHOPPER_EMAIL).status_code == 302
    pages = [mug.pages["product"], mug.pages["category"]]

    def post_review(title: str) -> None:
        posted = reviewer.post(f"/products/{mug.slug}/reviews", data={"rating": "5", "title": title, "body": ""})
        assert posted.status_code == 302

    prime(client, pages)
    post_review("Keeps tea hot")
    product_page = shown(client, mug.pages["product"])
    assert "Keeps tea hot" in product_page and "5.0 out of 5 · 1 review" in product_page
    assert 'class="rating-line"' in card(shown(client, mug.pages["category"]), "Camp Mug")

    prime(client, pages)
    post_review("Keeps tea hot for hours")
    assert "Keeps tea hot for hours" in shown(client, mug.pages["product"])

    prime(client, pages)
    review_id = db.session.scalar(sa.select(Review.id).where(Review.product_id == mug.id))
    assert staff.post(f"/admin/reviews/{review_id}/hide", data={"confirmed": "yes"}).status_code == 302
    product_page = shown(client, mug.pages["product"])
    assert "Keeps tea hot" not in product_page and "No reviews yet." in product_page
    assert 'class="rating-line"' not in card(shown(client, mug.pages["category"]), "Camp Mug")


def test_a_renamed_category_shows_in_the_header_menu_of_every_page(client, staff, mug):
    """The empty Garden, renamed Allotment, moves before Kitchen (the menu sorts by name within a position);
    the rename changes no product's rows."""
    garden = make_category("Garden")
    db.session.commit()
    prime(client, mug.pages.values())

    response = staff.post(f"/admin/categories/{garden.id}", data=category_form(category_row(garden.id),
                                                                               name="Allotment"))
    assert response.status_code == 302, text(response)

    for kind, url in mug.pages.items():
        assert menu(shown(client, url)) == ["Allotment", "Kitchen"], kind


def test_the_shop_name_saved_in_the_settings_shows_in_the_header_and_footer(client, staff, mug):
    prime(client, mug.pages.values())

    assert staff.post("/admin/settings", data=STORE_SETTINGS).status_code == 302

    for kind, url in mug.pages.items():
        page = shown(client, url)
        assert re.search(r'<a class="brand" href="/">.*?>Trail & Tide</a>', page), kind
        assert "<h2>Trail & Tide</h2>" in page, kind


def test_coupons_show_only_on_pages_never_cached_and_change_there_at_once(client, staff, mug, checkout_form):
    """The cart page names no coupon; the checkout summary does, and neither is ever cached."""
    coupon = Coupon(code="CAMP", kind=CouponKind.FIXED, value=500)
    db.session.add(coupon)
    db.session.commit()
    coupon_id = coupon.id
    client.post("/cart/add", data={"variant_id": mug.variant_id, "quantity": 2})
    update = checkout_form(coupon="camp", place=None, update="Update summary")

    def discount() -> str:
        response = client.post("/checkout", data=update)
        assert response.status_code == 200 and "X-Page-Cache" not in response.headers
        found = re.search(r'data-testid="discount">([^<]*)</td>', text(response))
        return found.group(1) if found else text(response)

    for url in ("/cart", "/checkout"):
        for _ in range(2):
            response = client.get(url)
            assert response.status_code == 200 and "X-Page-Cache" not in response.headers, url
    assert discount() == "-$5.00"

    saved = staff.post(f"/admin/coupons/{coupon_id}", data=coupon_form(code="CAMP", kind="fixed", amount="7.50"))
    assert saved.status_code == 302, text(saved)
    assert discount() == "-$7.50"

    assert staff.post(f"/admin/coupons/{coupon_id}/deactivate", data={"confirmed": "yes"}).status_code == 302
    assert "The coupon code “camp” is not valid." in discount()


def test_each_search_keeps_its_own_page(client, mug):
    for term, found, not_found in (("mug", "Camp Mug", "Camp Kettle"), ("kettle", "Camp Kettle", "Camp Mug")):
        page = cached(client, f"/search?q={term}")
        assert card(page, found) and not card(page, not_found), term


def test_a_price_committed_as_a_shoppers_page_starts_rendering_is_on_everyones_next_page(
        app, client, user, another_visitor, mug):
    """A logged-in shopper's request has loaded the shopper, its first read, when the owner's new price commits,
    just before the request reads the catalogue version (the moment is chosen by watching the statements)."""
    committed = []

    def owner_saves_a_price_now(connection, cursor, statement, parameters, context, executemany):
        if "counters" in statement and statement.lstrip().upper().startswith("SELECT") and not committed:
            committed.append(True)
            contextvars.Context().run(new_price, mug.variant_id, 975)

    def new_price(variant_id: int, cents: int) -> None:
        with app.app_context():
            db.session.get(ProductVariant, variant_id).price_cents = cents
            db.session.commit()

    sa.event.listen(db.engine, "before_cursor_execute", owner_saves_a_price_now)
    try:
        response = client.get(mug.pages["product"])
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", owner_saves_a_price_now)
    assert committed and response.status_code == 200

    assert product_price(shown(another_visitor, mug.pages["product"])) == "$9.75"
    assert product_price(shown(client, mug.pages["product"])) == "$9.75"


# What a hit costs, and who never gets one.

@pytest.mark.parametrize("kind", PAGE_KINDS)
def test_a_hit_for_an_anonymous_visitor_runs_at_most_one_statement(client, mug, count_queries, kind):
    url = mug.pages[kind]
    client.get(url)
    with count_queries() as statements:
        response = client.get(url)
    assert response.headers.get("X-Page-Cache") == "hit"
    assert len(statements) <= 1, statements


@pytest.mark.parametrize("kind", PAGE_KINDS)
def test_pages_for_staff_skip_the_cache_and_keep_their_admin_link_to_themselves(client, staff, mug, kind):
    url = mug.pages[kind]
    for _ in range(2):
        response = staff.get(url)
        assert response.status_code == 200 and "X-Page-Cache" not in response.headers
        assert '<a href="/admin/">Admin</a>' in text(response)
    page = cached(client, url)
    assert ">Admin</a>" not in page and "Olive Owner" not in page and "Log in" in page


@pytest.mark.parametrize("kind", PAGE_KINDS)
def test_a_shoppers_page_is_a_hit_with_their_own_header_and_the_next_visitor_gets_theirs(
        client, user, another_visitor, mug, kind):
    client.post("/cart/add", data={"variant_id": mug.variant_id, "quantity": 2})
    url = mug.pages[kind]

    page = cached(client, url)
    assert "Your account (Sam Shopper)" in page and "Log out" in page and cart_count(page) == "2"

    response = another_visitor.get(url)
    page = text(response)
    assert response.headers.get("X-Page-Cache") == "hit"
    assert "Log in" in page and "Sam Shopper" not in page and "Log out" not in page and cart_count(page) == "0"


def test_a_shoppers_own_forms_on_a_cached_product_page_are_theirs_alone(client, user, another_visitor, mug):
    make_order(db.session.get(User, user.id), db.session.get(ProductVariant, mug.variant_id), status="paid",
               payment_status="paid")
    db.session.commit()
    page = cached(client, mug.pages["product"])
    assert "Add to wishlist" in page and "Log in to add this to your wishlist" not in page
    assert "Write a review" in page and "Log in to review" not in page

    page = shown(another_visitor, mug.pages["product"])
    assert "Log in to add this to your wishlist" in page and "Add to wishlist" not in page
    assert "Log in to review" in page


def test_two_visitors_on_one_cached_page_each_get_a_csrf_token_of_their_own(client, another_visitor, mug):
    url = mug.pages["product"]
    ann_page = cached(client, url)
    response = another_visitor.get(url)
    assert response.headers.get("X-Page-Cache") == "hit"
    bob_page = text(response)
    ann_token, bob_token = add_to_cart_token(ann_page), add_to_cart_token(bob_page)
    assert ann_token != bob_token and ann_token not in bob_page

    def add(browser, token):
        return browser.post("/cart/add", data={"csrf_token": token, "variant_id": mug.variant_id, "quantity": 1},
                            csrf=False)

    assert add(client, bob_token).status_code == 400
    assert add(another_visitor, ann_token).status_code == 400
    assert add(client, ann_token).status_code == 302
    assert add(another_visitor, bob_token).status_code == 302
    assert cart_count(shown(client, url)) == "1" and cart_count(shown(another_visitor, url)) == "1"


def test_a_flash_message_shows_once_and_only_to_its_visitor(client, another_visitor, mug):
    url = mug.pages["product"]
    prime(client, [url])
    prime(another_visitor, [url])
    message = "Added 1 × Camp Mug to your cart."

    added = client.post("/cart/add", data={"variant_id": mug.variant_id, "quantity": 1},
                        headers={"Referer": f"http://localhost{url}"})
    assert added.headers["Location"] == url

    landing = client.get(url)
    assert landing.headers.get("X-Page-Cache") == "hit"
    assert message in text(landing) and cart_count(text(landing)) == "1"
    other = shown(another_visitor, url)
    assert message not in other and cart_count(other) == "0"
    assert message not in shown(client, url)


def test_recently_viewed_lists_only_the_visitors_own_products(app, client, another_visitor, mug):
    kitchen = category_row(mug.category_id)
    lamp, stove = (make_product(name, category=kitchen) for name in ("Camp Lamp", "Camp Stove"))
    db.session.commit()
    lamp_page, stove_page = f"/products/{lamp.slug}", f"/products/{stove.slug}"
    # Every page comes from the cache: a visit is remembered even when the product's view does not run.
    prime(app.test_client(), [lamp_page, stove_page, mug.pages["product"]])

    for visitor, viewed, seen, unseen in ((client, lamp_page, "Camp Lamp", "Camp Stove"),
                                          (another_visitor, stove_page, "Camp Stove", "Camp Lamp")):
        for url in (viewed, mug.pages["product"]):
            response = visitor.get(url)
            assert response.headers.get("X-Page-Cache") == "hit", url
        recently = cards_in(text(response), "recently-viewed")
        assert seen in recently and unseen not in recently, recently


@pytest.mark.parametrize("kind", ["home", "category", "search"])
def test_an_anonymous_visitor_who_did_nothing_gets_no_cookie(client, mug, kind):
    answers = [client.get(mug.pages[kind]) for _ in range(2)]
    assert [answer.headers.get("X-Page-Cache") for answer in answers] == ["miss", "hit"]
    assert [answer.headers.getlist("Set-Cookie") for answer in answers] == [[], []]


@pytest.mark.parametrize("app_overrides", [{"PAGE_CACHE": False}])
@pytest.mark.parametrize("kind", PAGE_KINDS)
def test_with_the_cache_turned_off_no_page_is_served_from_it(client, staff, mug, kind):
    url = mug.pages[kind]
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200 and "X-Page-Cache" not in response.headers
    set_price(staff, mug, "9.75")
    assert "$9.75" in shown(client, url)


def test_a_reviews_verified_purchase_label_goes_when_the_purchase_is_cancelled(app, client, staff, details):
    """An order paid after its reservation ran out, with the stock sold meanwhile, holds no stock: cancelling
    it gives none back, yet its buyer's review is no longer a verified purchase."""
    lantern = product_pages(make_product("Camp Lantern", price_cents=3500, stock=1))
    make_user(SHOPPER_EMAIL, name="Sam Shopper")
    db.session.commit()
    shopper_id = db.session.scalar(sa.select(User.id).where(User.email == SHOPPER_EMAIL))
    late = place_order({lantern.variant_id: 1}, details(email=SHOPPER_EMAIL), user_id=shopper_id)
    expire_order(late.id)
    place_order({lantern.variant_id: 1}, details(email="quick@example.com"), user_id=None)
    record_payment(late.id, amount_cents=late.total_cents, currency="usd", reference="late-1", provider="test")
    reviewer = app.test_client()
    assert AuthActions(reviewer).login(SHOPPER_EMAIL).status_code == 302
    assert reviewer.post(f"/products/{lantern.slug}/reviews", data={"rating": "4", "title": "Bright",
                                                                    "body": ""}).status_code == 302
    assert "Verified purchase" in cached(client, lantern.pages["product"])

    cancelled = staff.post(f"/admin/orders/{late.id}/cancel", data={"cancel_reason": "Sold out", "confirmed": "yes"})
    assert cancelled.status_code == 302, text(cancelled)

    page = shown(client, lantern.pages["product"])
    assert "Bright" in page and "Verified purchase" not in page

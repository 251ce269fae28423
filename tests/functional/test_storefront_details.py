"""What a shopper notices on the storefront: the home page's tiles, cards' second photos, the product
gallery, full breadcrumbs, what a search was for, the wishlist state and a sound heading order."""
import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import ProductImage, WishlistItem
from tests.factories import make_category, make_product, make_user

IMG = re.compile(r"<img [^>]*>")


def photos(product) -> list[ProductImage]:
    return list(db.session.scalars(sa.select(ProductImage).where(ProductImage.product_id == product.id)
                                   .order_by(ProductImage.position)))


def file_of(image: ProductImage) -> str:
    return f"/media/{image.filename}"


def between(page: str, start: str, end: str) -> str:
    return page.split(start, 1)[1].split(end, 1)[0]


class Headings(HTMLParser):
    """Collects the levels of the headings inside <main>."""

    def __init__(self):
        super().__init__()
        self.levels: list[int] = []
        self.in_main = False

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self.in_main = True
        elif self.in_main and re.fullmatch(r"h[1-6]", tag):
            self.levels.append(int(tag[1]))

    def handle_endtag(self, tag):
        if tag == "main":
            self.in_main = False


def heading_levels(page: str) -> list[int]:
    parser = Headings()
    parser.feed(page)
    return parser.levels


@pytest.fixture
def shelves():
    clothing = make_category("Clothing", position=0)
    tops = make_category("Tops", parent=clothing)
    tees = make_category("T-shirts", parent=tops)
    garden = make_category("Garden", position=1)
    navy = make_product("Navy Tee", category=tees, images=3, is_featured=True, compare_at_cents=2500)
    plain = make_product("Plain Tee", category=tees, images=1)
    db.session.commit()
    return {"clothing": clothing, "tops": tops, "tees": tees, "garden": garden, "navy": navy, "plain": plain}


def test_the_home_page_has_a_hero_with_a_call_to_action_and_a_picture_on_every_category_tile(client, shelves):
    page = client.get("/").get_data(as_text=True)
    hero = between(page, '<section class="hero">', "</section>")
    assert "<h1>" in hero and 'href="#categories"' in hero
    hero_art = r'<img class="hero-art" src="/static/img/hero[^"]*\.svg[^"]*" alt="" width="\d+" height="\d+">'
    assert re.search(hero_art, hero)

    tiles = between(page, '<ul class="category-tiles">', "</ul>")
    clothing = between(tiles, f'href="/categories/{shelves["clothing"].slug}"', "</a>")
    # Clothing holds no product itself: its tile shows the newest tee, two levels down.
    assert file_of(photos(shelves["plain"])[0]) in clothing and 'alt=""' in clothing
    assert ">Clothing</span>" in clothing
    garden = between(tiles, f'href="/categories/{shelves["garden"].slug}"', "</a>")
    assert "<img" not in garden and 'class="tile-placeholder"' in garden


def test_a_tile_skips_products_without_photos_and_hidden_ones(client, shelves):
    make_product("Hidden Tee", category=shelves["tees"], images=2, is_active=False)
    make_product("Unphotographed Tee", category=shelves["tees"], images=0)
    shelves["tops"].is_active = False
    db.session.commit()
    tiles = between(client.get("/").get_data(as_text=True), '<ul class="category-tiles">', "</ul>")
    # Tops is hidden, and with it T-shirts: Clothing has nothing left to show.
    assert 'class="tile-placeholder"' in between(tiles, f'/categories/{shelves["clothing"].slug}"', "</a>")

    shelves["tops"].is_active = True
    db.session.commit()
    tiles = between(client.get("/").get_data(as_text=True), '<ul class="category-tiles">', "</ul>")
    assert file_of(photos(shelves["plain"])[0]) in between(tiles, f'/categories/{shelves["clothing"].slug}"', "</a>")


def test_a_category_with_a_picture_of_its_own_shows_that_on_its_tile(client, shelves):
    key = "uploads/ab/" + "c" * 32 + "-900x600"
    shelves["clothing"].image_key = key
    db.session.commit()
    tiles = between(client.get("/").get_data(as_text=True), '<ul class="category-tiles">', "</ul>")
    clothing = between(tiles, f'href="/categories/{shelves["clothing"].slug}"', "</a>")
    assert f"/media/{key}-card.jpg" in clothing and "/media/test/" not in clothing


def test_the_home_page_runs_the_same_queries_however_many_categories_hold_products(client, count_queries):
    make_product("First", category=make_category("One"), images=2, is_featured=True)
    db.session.commit()
    with count_queries() as few:
        assert client.get("/").status_code == 200
    for number in range(6):
        top = make_category(f"Top {number}")
        make_product(f"Deep {number}", category=make_category(f"Sub {number}", parent=top), images=2,
                     is_featured=True)
    db.session.commit()
    with count_queries() as many:
        page = client.get("/").get_data(as_text=True)
    assert page.count('class="tile"') == 7 and page.count('class="tile-photo"') == 7
    # The catalogue version, categories, tile photos, then the featured cards' three.
    assert len(few) == len(many) <= 6, many


def test_a_card_holds_the_second_photo_for_hover_lazily_and_without_repeating_the_name(client, shelves):
    page = client.get(f"/categories/{shelves['tees'].slug}?sort=name").get_data(as_text=True)
    navy_card = between(page, '<article class="card">', "</article>")
    assert "Navy Tee" in navy_card
    first, second = (photos(shelves["navy"]))[:2]
    images = IMG.findall(navy_card)
    assert len(images) == 2
    assert file_of(first) in images[0] and 'class="card-photo"' in images[0] and 'alt="Navy Tee photo 1"' in images[0]
    assert file_of(second) in images[1] and 'class="card-photo-alt"' in images[1]
    assert 'alt=""' in images[1] and 'loading="lazy"' in images[1]
    assert '<span class="card-badge">Sale</span>' in navy_card

    plain_card = page.split('<article class="card">')[2].split("</article>", 1)[0]
    assert "Plain Tee" in plain_card and "card-photo-alt" not in plain_card


def test_listing_queries_stay_the_same_with_one_or_many_photos_per_product(client, count_queries):
    category = make_category("Bags")
    for number in range(3):
        make_product(f"Bag {number}", category=category, images=1)
    db.session.commit()
    with count_queries() as single:
        assert client.get(f"/categories/{category.slug}").status_code == 200
    for number in range(3):
        make_product(f"Tote {number}", category=category, images=5)
    db.session.commit()
    with count_queries() as several:
        page = client.get(f"/categories/{category.slug}").get_data(as_text=True)
    assert page.count('class="card-photo-alt"') == 3
    assert len(single) == len(several)


def test_a_thumbnail_link_shows_its_photo_large_without_javascript(client, shelves):
    navy = shelves["navy"]
    first, second, third = photos(navy)
    page = client.get(f"/products/{navy.slug}").get_data(as_text=True)
    thumbs = between(page, '<ul class="gallery-thumbs">', "</ul>")
    assert f'href="/products/{navy.slug}?image={third.id}"' in thumbs
    assert thumbs.count('aria-current="true"') == 1
    assert 'aria-current="true"' in between(thumbs, f"?image={first.id}", "</a>")
    assert f'data-src="{file_of(third)}"' in thumbs and f'data-full="{file_of(third)}"' in thumbs

    page = client.get(f"/products/{navy.slug}?image={third.id}").get_data(as_text=True)
    main = between(page, '<a class="gallery-main"', "</a>")
    assert f'href="{file_of(third)}"' in main and "View full size" in main
    assert file_of(third) in IMG.findall(main)[0] and 'loading="eager"' in main
    thumbs = between(page, '<ul class="gallery-thumbs">', "</ul>")
    assert 'aria-current="true"' in between(thumbs, f"?image={third.id}", "</a>")
    assert 'aria-current="true"' not in between(thumbs, f"?image={first.id}", "</a>")


def test_a_chosen_variant_is_kept_by_the_thumbnail_links(client):
    mug = make_product("Mug", variants=[{"colour": "White"}, {"colour": "Black"}], images=2)
    black = mug.variants[1]
    db.session.commit()
    page = client.get(f"/products/{mug.slug}?variant={black.id}").get_data(as_text=True)
    second = photos(mug)[1]
    assert f"?variant={black.id}&amp;image={second.id}" in between(page, '<ul class="gallery-thumbs">', "</ul>")


@pytest.mark.parametrize("value", ["junk", "-1", "0", "99999999999999999999999999", "1e3", "%00", "", "%20"])
def test_a_bad_image_value_shows_the_first_photo(client, shelves, value):
    response = client.get(f"/products/{shelves['navy'].slug}?image={value}")
    assert response.status_code == 200
    main = between(response.get_data(as_text=True), '<a class="gallery-main"', "</a>")
    assert file_of(photos(shelves["navy"])[0]) in main


def test_another_products_photo_is_not_shown(client, shelves):
    stranger = photos(shelves["plain"])[0]
    page = client.get(f"/products/{shelves['navy'].slug}?image={stranger.id}").get_data(as_text=True)
    gallery = between(page, '<section class="gallery"', "</section>")  # its card may be among the related products
    assert file_of(stranger) not in gallery
    assert file_of(photos(shelves["navy"])[0]) in between(page, '<a class="gallery-main"', "</a>")


def test_a_product_with_one_photo_has_no_thumbnails_and_one_without_photos_a_placeholder(client, shelves):
    page = client.get(f"/products/{shelves['plain'].slug}").get_data(as_text=True)
    assert 'class="gallery-main"' in page and "gallery-thumbs" not in page
    bare = make_product("Bare", images=0)
    db.session.commit()
    page = client.get(f"/products/{bare.slug}").get_data(as_text=True)
    assert 'class="no-image large"' in page and "gallery-main" not in page


def crumbs(page: str) -> list[str]:
    trail = between(page, 'aria-label="Breadcrumb"', "</nav>")
    return [re.sub(r"<[^>]+>", "", item).strip() for item in re.findall(r"<li>(.*?)</li>", trail, re.S)]


def test_the_breadcrumbs_show_the_full_category_path(client, shelves):
    page = client.get(f"/products/{shelves['navy'].slug}").get_data(as_text=True)
    assert crumbs(page) == ["Home", "Clothing", "Tops", "T-shirts", "Navy Tee"]
    for category in ("clothing", "tops", "tees"):
        assert f'href="/categories/{shelves[category].slug}"' in between(page, 'aria-label="Breadcrumb"', "</nav>")
    assert '<span aria-current="page">Navy Tee</span>' in page

    page = client.get(f"/categories/{shelves['tees'].slug}").get_data(as_text=True)
    assert crumbs(page) == ["Home", "Clothing", "Tops", "T-shirts"]


def test_a_hidden_category_is_named_but_not_linked_in_the_product_breadcrumbs(client, shelves):
    shelves["tops"].is_active = False
    db.session.commit()
    trail = between(client.get(f"/products/{shelves['navy'].slug}").get_data(as_text=True),
                    'aria-label="Breadcrumb"', "</nav>")
    assert f'href="/categories/{shelves["clothing"].slug}"' in trail
    assert "Tops" in trail and f'href="/categories/{shelves["tops"].slug}"' not in trail
    assert "T-shirts" in trail and f'href="/categories/{shelves["tees"].slug}"' not in trail


def test_the_product_page_runs_the_same_queries_however_deep_its_category(app, count_queries):
    shallow = make_product("Shallow", category=make_category("Top"))
    parent = None
    for depth in range(5):
        parent = make_category(f"Level {depth}", parent=parent)
    deep = make_product("Deep", category=parent)
    db.session.commit()
    counts = []
    for product in (shallow, deep):
        visitor = app.test_client()  # a first visit each: nothing recently viewed to show
        with count_queries() as statements:
            assert visitor.get(f"/products/{product.slug}").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1]


def test_search_says_what_was_searched_for(client, shelves):
    page = client.get("/search?q=tee").get_data(as_text=True)
    assert "2 results for “tee”" in page
    assert "<title>Search results for “tee”" in page
    page = client.get("/search?q=navy+tee").get_data(as_text=True)
    assert "1 result for “navy tee”" in page


def test_an_empty_search_invites_typing(client, shelves):
    page = client.get("/search?q=+").get_data(as_text=True)
    assert "Type to search" in page and 'id="search-page-q"' in page
    assert "results for" not in page


def test_a_search_without_results_suggests_what_to_do(client, shelves):
    page = client.get("/search?q=umbrella").get_data(as_text=True)
    assert "0 results for “umbrella”" in page
    advice = between(page, '<div class="no-results">', "</div>")
    assert "check the spelling" in advice
    for category in ("clothing", "garden"):
        assert f'href="/categories/{shelves[category].slug}"' in advice
    assert 'class="sort"' not in page


@pytest.mark.parametrize("path", ["/", "/categories/{tees}", "/categories/{clothing}", "/search?q=tee",
                                  "/search?q=nothing", "/search", "/products/{navy}"])
def test_headings_go_down_one_level_at_a_time(client, shelves, path):
    page = client.get(path.format(tees=shelves["tees"].slug, clothing=shelves["clothing"].slug,
                                  navy=shelves["navy"].slug)).get_data(as_text=True)
    levels = heading_levels(page)
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(later <= earlier + 1 for earlier, later in zip(levels, levels[1:], strict=False)), levels


def test_a_product_on_the_wishlist_says_so_with_a_way_to_remove_it(client, user, shelves):
    navy = shelves["navy"]
    page = client.get(f"/products/{navy.slug}").get_data(as_text=True)
    assert "Add to wishlist" in page and "In your wishlist" not in page

    client.post("/account/wishlist/add", data={"product_id": navy.id})
    page = client.get(f"/products/{navy.slug}").get_data(as_text=True)
    state = between(page, 'data-testid="wishlist-state"', "</div>")
    assert "In your wishlist" in state and 'href="/account/wishlist"' in state
    item = db.session.scalar(sa.select(WishlistItem).where(WishlistItem.product_id == navy.id))
    assert f'action="/account/wishlist/{item.id}/remove"' in state
    assert "Add to wishlist" not in page

    client.post(f"/account/wishlist/{item.id}/remove")
    assert "Add to wishlist" in client.get(f"/products/{navy.slug}").get_data(as_text=True)


def test_only_a_logged_in_shoppers_product_page_asks_for_the_wishlist(client, auth, count_queries, shelves):
    url = f"/products/{shelves['navy'].slug}"
    with count_queries() as anonymous:
        assert "Log in to add this to your wishlist" in client.get(url).get_data(as_text=True)
    assert not any("wishlist_items" in statement for statement in anonymous)
    make_user("wisher@example.com")
    auth.login("wisher@example.com")
    with count_queries() as logged_in:
        assert client.get(url).status_code == 200
    assert sum("wishlist_items" in statement for statement in logged_in) == 1

"""What search engines and link previews read: titles, descriptions, canonical links, Open Graph, JSON-LD, noindex."""
import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from shop.extensions import db
from shop.models import Review
from tests.factories import make_brand, make_category, make_product, make_user

SCHEMA = "https://schema.org"
AVAILABILITY = {"https://schema.org/InStock", "https://schema.org/OutOfStock"}
KEY = "uploads/ab/" + "c" * 32 + "-1200x800"


class Head(HTMLParser):
    """The parts of a page that search engines and link previews read."""

    def __init__(self, page: str):
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self.json_ld: list[dict] = []
        self.title = ""
        self._in: str | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "meta" and ("property" in attributes or "name" in attributes):
            self.meta[attributes.get("property") or attributes["name"]] = attributes.get("content", "")
        elif tag == "link" and "rel" in attributes:
            self.links.setdefault(attributes["rel"], attributes.get("href", ""))
        elif tag == "script" and attributes.get("type") == "application/ld+json":
            self._in = "json_ld"
        elif tag == "title":
            self._in = "title"

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "json_ld":
            self.json_ld.append(json.loads(data))
        elif self._in == "title":
            self.title += data

    def of_type(self, kind: str) -> list[dict]:
        return [data for data in self.json_ld if data.get("@type") == kind]


def head(client, url: str, **kwargs) -> Head:
    response = client.get(url, **kwargs)
    assert response.status_code == 200, url
    return Head(response.get_data(as_text=True))


def is_absolute(url) -> bool:
    parts = urlsplit(url) if isinstance(url, str) else None
    return bool(parts and parts.scheme in ("http", "https") and parts.netloc)


def product_problems(data: dict) -> list[str]:
    """Check a JSON-LD Product against what Google documents as required for product rich results.

    name, image, and offers (an Offer, or an AggregateOffer with its Offers) with price,
    priceCurrency and availability; aggregateRating, when given, with ratingValue and reviewCount.
    """
    problems = []
    if data.get("@context") != SCHEMA or data.get("@type") != "Product":
        problems.append(f"not a schema.org Product: {data.get('@context')} {data.get('@type')}")
    if not isinstance(data.get("name"), str) or not data["name"]:
        problems.append("no name")
    images = data.get("image")
    images = [images] if isinstance(images, str) else images
    if not images or not all(is_absolute(image) for image in images):
        problems.append(f"image must be absolute URLs: {images!r}")
    offers = data.get("offers")
    if not isinstance(offers, dict):
        return problems + [f"no offers: {offers!r}"]
    if offers.get("@type") == "AggregateOffer":
        for field in ("lowPrice", "priceCurrency"):
            if field not in offers:
                problems.append(f"AggregateOffer without {field}")
        each = offers.get("offers") or []
        if not each:
            problems.append("AggregateOffer lists no Offer")
    else:
        each = [offers]
    for offer in each:
        if offer.get("@type") != "Offer":
            problems.append(f"not an Offer: {offer!r}")
        price = offer.get("price")
        if not isinstance(price, str) or not re.fullmatch(r"\d+(\.\d+)?", price):
            problems.append(f"price is not a decimal string: {price!r}")
        if not re.fullmatch(r"[A-Z]{3}", offer.get("priceCurrency", "")):
            problems.append(f"priceCurrency is not an ISO 4217 code: {offer.get('priceCurrency')!r}")
        if offer.get("availability") not in AVAILABILITY:
            problems.append(f"availability is not a schema.org ItemAvailability: {offer.get('availability')!r}")
        if "url" in offer and not is_absolute(offer["url"]):
            problems.append(f"offer url is not absolute: {offer['url']!r}")
    rating = data.get("aggregateRating")
    if rating is not None:
        value, count = rating.get("ratingValue"), rating.get("reviewCount")
        if not isinstance(value, int | float) or not 1 <= value <= 5:
            problems.append(f"ratingValue out of 1-5: {value!r}")
        if not isinstance(count, int) or count < 1:
            problems.append(f"reviewCount is not a positive count: {count!r}")
    return problems


def breadcrumb_problems(data: dict) -> list[str]:
    """Check a BreadcrumbList: ListItems numbered from 1, each with a name and an absolute item URL."""
    if data.get("@context") != SCHEMA or data.get("@type") != "BreadcrumbList":
        return ["not a schema.org BreadcrumbList"]
    problems = []
    for number, item in enumerate(data.get("itemListElement") or [], start=1):
        if item.get("@type") != "ListItem" or item.get("position") != number:
            problems.append(f"item {number} is not ListItem number {number}: {item!r}")
        if not item.get("name"):
            problems.append(f"item {number} has no name")
        if not is_absolute(item.get("item")):
            problems.append(f"item {number} has no absolute URL: {item.get('item')!r}")
    if not data.get("itemListElement"):
        problems.append("no items")
    return problems


@pytest.fixture
def jacket():
    """A jacket in Clothing › Jackets by Northwind, in three sizes (one sold out), with an uploaded photo first."""
    jackets = make_category("Jackets", parent=make_category("Clothing"))
    product = make_product("Storm Jacket", category=jackets, brand=make_brand("Northwind"), images=2, variants=[
        {"size": "S", "price_cents": 12900, "stock": 3},
        {"size": "M", "price_cents": 12900, "stock": 0},
        {"size": "L", "price_cents": 13500, "stock": 1},
    ])
    product.description = "A **waterproof** shell for wet days. Taped seams throughout."
    product.images[0].key, product.images[0].width, product.images[0].height = KEY, 1200, 800
    db.session.commit()
    return product


def test_a_product_page_has_json_ld_google_accepts_with_an_offer_per_variant(client, jacket):
    page = head(client, f"/products/{jacket.slug}")
    [product] = page.of_type("Product")
    assert product_problems(product) == []
    assert product["name"] == "Storm Jacket"
    assert product["brand"] == {"@type": "Brand", "name": "Northwind"}
    assert product["description"] == "A waterproof shell for wet days. Taped seams throughout."
    assert product["sku"] == jacket.variants[0].sku
    assert product["image"][0] == f"http://localhost/media/{KEY}-full.jpg"
    assert product["image"][1] == f"http://localhost/media/{jacket.images[1].filename}"
    offers = product["offers"]
    assert (offers["@type"], offers["lowPrice"], offers["highPrice"], offers["priceCurrency"], offers["offerCount"]) \
        == ("AggregateOffer", "129.00", "135.00", "USD", 3)
    assert [(offer["sku"], offer["price"], offer["availability"].rsplit("/", 1)[1]) for offer in offers["offers"]] == [
        (jacket.variants[0].sku, "129.00", "InStock"),
        (jacket.variants[1].sku, "129.00", "OutOfStock"),
        (jacket.variants[2].sku, "135.00", "InStock"),
    ]
    assert offers["offers"][1]["url"] == f"http://localhost/products/{jacket.slug}?variant={jacket.variants[1].id}"
    assert "aggregateRating" not in product


def test_the_validator_refuses_what_google_would(client, jacket):
    [product] = head(client, f"/products/{jacket.slug}").of_type("Product")
    broken = json.loads(json.dumps(product))
    del broken["image"]
    broken["offers"]["offers"][0]["price"] = 129.0
    broken["offers"]["offers"][1]["availability"] = "in stock"
    assert len(product_problems(broken)) == 3


def test_a_product_with_one_variant_has_one_offer_at_its_canonical_address(client):
    lamp = make_product("Desk Lamp", price_cents=4550, stock=0)
    db.session.commit()
    [product] = head(client, f"/products/{lamp.slug}").of_type("Product")
    assert product_problems(product) == []
    assert product["offers"] == {
        "@type": "Offer", "sku": lamp.variants[0].sku, "name": "Default", "price": "45.50", "priceCurrency": "USD",
        "availability": "https://schema.org/OutOfStock", "url": f"http://localhost/products/{lamp.slug}",
    }
    assert "brand" not in product


@pytest.mark.parametrize("app_overrides", [{"CURRENCY": "jpy"}])
def test_prices_follow_the_shops_currency_and_its_decimals(client):
    teapot = make_product("Teapot", price_cents=1250)
    db.session.commit()
    [product] = head(client, f"/products/{teapot.slug}").of_type("Product")
    assert (product["offers"]["price"], product["offers"]["priceCurrency"]) == ("1250", "JPY")
    assert product_problems(product) == []


def test_visible_reviews_give_the_product_an_aggregate_rating(client, jacket):
    for rating, hidden in ((5, False), (4, False), (4, False), (1, True)):
        reviewer = make_user()
        db.session.add(Review(product_id=jacket.id, user_id=reviewer.id, rating=rating, title="Jacket",
                              author_name=reviewer.name, is_hidden=hidden))
    db.session.commit()
    [product] = head(client, f"/products/{jacket.slug}").of_type("Product")
    assert product_problems(product) == []
    rating = product["aggregateRating"]
    assert (rating["ratingValue"], rating["reviewCount"]) == (4.3, 3)
    assert Decimal(str(rating["ratingValue"])) == Decimal("4.3")


def test_product_breadcrumbs_name_each_category_and_end_at_the_product(client, jacket):
    jackets = jacket.category
    [trail] = head(client, f"/products/{jacket.slug}").of_type("BreadcrumbList")
    assert breadcrumb_problems(trail) == []
    assert [(item["name"], urlsplit(item["item"]).path) for item in trail["itemListElement"]] == [
        ("Shop", "/"), ("Clothing", f"/categories/{jackets.parent.slug}"),
        ("Jackets", f"/categories/{jackets.slug}"), ("Storm Jacket", f"/products/{jacket.slug}"),
    ]
    assert breadcrumb_problems({"@context": SCHEMA, "@type": "BreadcrumbList",
                                "itemListElement": [{"@type": "ListItem", "position": 2, "name": "x"}]})


def test_a_hostile_product_name_stays_data_inside_the_json_ld(client):
    name = '</script><script>alert("x")</script> & <!-- Pots'
    pot = make_product(name)
    pot.slug = f"pot-{pot.id}"
    db.session.commit()
    response = client.get(f"/products/{pot.slug}")
    page = response.get_data(as_text=True)
    assert "<script>alert" not in page and "<!-- Pots" not in page
    assert page.count("<script") == page.count("</script>")
    [product] = Head(page).of_type("Product")
    assert product["name"] == name
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_the_canonical_address_of_a_product_leaves_out_the_variant_and_photo(client, jacket):
    url = f"http://localhost/products/{jacket.slug}"
    for query in ("", f"?variant={jacket.variants[2].id}", f"?image={jacket.images[1].id}&variant=x"):
        page = head(client, f"/products/{jacket.slug}{query}")
        assert page.links["canonical"] == url
        assert page.meta["og:url"] == url


def test_link_previews_show_the_product_and_its_first_photo(client, jacket):
    page = head(client, f"/products/{jacket.slug}?variant={jacket.variants[2].id}")
    assert page.meta["og:type"] == "product"
    assert page.meta["og:title"] == "Storm Jacket"
    assert page.meta["og:description"] == "A waterproof shell for wet days."
    assert page.meta["og:site_name"] == "Shop"
    assert page.meta["og:image"] == f"http://localhost/media/{KEY}-full.jpg"
    assert (page.meta["og:image:width"], page.meta["og:image:height"]) == ("1200", "800")
    assert page.meta["twitter:card"] == "summary_large_image"


def test_a_product_without_photos_gets_a_small_card_and_no_image(client):
    lamp = make_product("Desk Lamp", images=0)
    db.session.commit()
    page = head(client, f"/products/{lamp.slug}")
    assert "og:image" not in page.meta and page.meta["twitter:card"] == "summary"
    [product] = page.of_type("Product")
    assert "image" not in product


def test_absolute_addresses_are_built_on_the_shops_base_url_not_the_requested_host(app, client, jacket):
    app.config["BASE_URL"] = "https://shop.example/store"
    page = head(client, f"/products/{jacket.slug}", headers={"Host": "localhost"})
    assert page.links["canonical"] == f"https://shop.example/store/products/{jacket.slug}"
    [product] = page.of_type("Product")
    assert product["image"][0] == f"https://shop.example/store/media/{KEY}-full.jpg"


@pytest.mark.parametrize("app_overrides", [{"PRODUCTS_PER_PAGE": 2}])
def test_a_category_page_points_at_its_address_without_sort_or_filters(client):
    tents = make_category("Tents")
    for number in range(5):
        make_product(f"Tent {number}", category=tents)
    db.session.commit()
    base = f"http://localhost/categories/{tents.slug}"
    assert head(client, f"/categories/{tents.slug}?sort=price_asc").links["canonical"] == base
    assert head(client, f"/categories/{tents.slug}?page=2&sort=name").links["canonical"] == base + "?page=2"
    assert head(client, f"/categories/{tents.slug}?page=2&brand=acme").links["canonical"] == base
    page = head(client, f"/categories/{tents.slug}")
    assert page.meta["og:url"] == base and page.meta["og:type"] == "website"
    assert page.meta["og:image"].startswith("http://localhost/media/")


@pytest.mark.parametrize("app_overrides", [{"CONTACT_EMAIL": "help@shop.example", "SHOP_NAME": "Oak & Co"}])
def test_the_home_page_describes_the_shop_as_an_organization_with_a_search_box(client):
    page = head(client, "/")
    [organization] = page.of_type("Organization")
    assert organization["name"] == "Oak & Co"
    assert organization["url"] == "http://localhost/"
    assert is_absolute(organization["logo"]) and urlsplit(organization["logo"]).path.endswith(".png")
    assert organization["email"] == "help@shop.example"
    [website] = page.of_type("WebSite")
    assert website["potentialAction"]["target"]["urlTemplate"] == "http://localhost/search?q={search_term_string}"
    assert page.links["canonical"] == "http://localhost/"
    assert page.meta["og:title"] == "Oak & Co"


def test_the_home_page_leaves_out_a_contact_email_it_does_not_have(client):
    [organization] = head(client, "/").of_type("Organization")
    assert "email" not in organization


def test_information_pages_have_their_own_canonical_address_and_preview(client):
    page = head(client, "/pages/privacy?utm_source=x")
    assert page.links["canonical"] == "http://localhost/pages/privacy"
    assert page.meta["og:title"] == "Privacy"
    assert "robots" not in page.meta


def private_pages(client, auth):
    """Return the response of a page of each private kind, as a logged-in admin would see it."""
    make_user("admin@example.com", is_admin=True)
    make_product("Mug")
    db.session.commit()
    pages = {path: client.get(path) for path in ("/cart", "/auth/login", "/auth/register", "/auth/reset")}
    auth.login("admin@example.com")
    pages.update({path: client.get(path) for path in ("/account", "/account/orders", "/account/wishlist",
                                                      "/admin/", "/admin/products", "/checkout")})
    return pages


def test_private_pages_say_noindex_in_the_page_and_the_header(client, auth):
    for path, response in private_pages(client, auth).items():
        page = response.get_data(as_text=True)
        if response.status_code == 302:  # the empty cart's checkout sends the shopper back
            assert response.headers["X-Robots-Tag"] == "noindex", path
            continue
        assert Head(page).meta.get("robots") == "noindex", path
        assert response.headers["X-Robots-Tag"] == "noindex", path
        assert "canonical" not in Head(page).links, path
    export = client.get("/admin/orders/export.csv")
    assert export.mimetype == "text/csv" and export.headers["X-Robots-Tag"] == "noindex"


def test_search_results_are_not_indexed_but_their_links_are_followed(client):
    make_product("Mug")
    db.session.commit()
    response = client.get("/search?q=mug&sort=name")
    assert Head(response.get_data(as_text=True)).meta["robots"] == "noindex, follow"
    assert response.headers["X-Robots-Tag"] == "noindex, follow"


def test_catalogue_pages_may_be_indexed(client, jacket):
    for path in ("/", f"/categories/{jacket.category.slug}", f"/products/{jacket.slug}", "/pages/contact"):
        response = client.get(path)
        assert "robots" not in Head(response.get_data(as_text=True)).meta, path
        assert "X-Robots-Tag" not in response.headers, path


def test_every_page_has_its_own_title_and_description(client, jacket):
    paths = ["/", f"/categories/{jacket.category.slug}", f"/categories/{jacket.category.parent.slug}",
             f"/products/{jacket.slug}", "/search?q=jacket", "/pages/privacy", "/pages/terms", "/pages/contact",
             "/pages/shipping-returns", "/pages/about",
             "/cart", "/auth/login", "/auth/register", "/auth/reset", "/no-such-page"]
    titles, descriptions = {}, {}
    for path in paths:
        page = Head(client.get(path).get_data(as_text=True))
        assert page.title.strip() and page.meta.get("description"), path
        titles.setdefault(page.title.strip(), []).append(path)
        if page.meta.get("robots") != "noindex, follow":  # search results: no search engine shows their description
            descriptions.setdefault(page.meta["description"], []).append(path)
    assert [paths for paths in titles.values() if len(paths) > 1] == []
    assert [paths for paths in descriptions.values() if len(paths) > 1] == []

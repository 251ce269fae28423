"""The issue's "done when" for discovery, as a new shopper on the demo shop with JavaScript on.

Search as you type ("swea"), by colour, brand, SKU and plural; narrow by brand, price and size,
sort by price and page through; open the shared address in a fresh browser and see the same page;
buy a product, review it and find the rating on its card; read the sitemap and the product's
JSON-LD as a search engine would.
"""
import json
import re
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Brand, Product, ProductVariant
from shop.services.demo import seed_demo
from tests.browser.actions import fill_address, follow
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser

DEMO_PRODUCTS = 120
PER_PAGE = 2  # small pages, so the narrowed results still run to several
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture
def app_overrides():
    return {"PRODUCTS_PER_PAGE": PER_PAGE}


@pytest.fixture
def demo(app):
    """Seed the demo catalogue; return the facts the journey checks against."""
    seed_demo(DEMO_PRODUCTS)
    db.session.commit()
    sku_variant = db.session.scalar(
        sa.select(ProductVariant).join(Product).where(Product.name.like("% Tee"), ProductVariant.stock > 0)
        .order_by(ProductVariant.id.desc()).limit(1))
    return {"sku": sku_variant.sku, "sku_product": sku_variant.product.name,
            "brands": list(db.session.scalars(sa.select(Brand.name)))}


@pytest.fixture
def desktop(browser):
    contexts = []

    def open_browser():
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_browser
    for context in contexts:
        context.close()


def search(page, text: str) -> list[str]:
    """Type into the header's search field and submit it; return the result cards' titles."""
    field = page.get_by_role("search").first.get_by_role("searchbox")
    field.fill(text)
    with page.expect_navigation():
        field.press("Enter")
    return card_titles(page)


def card_titles(page) -> list[str]:
    return page.locator(".card-title").all_inner_texts()


def card_prices(page) -> list[int]:
    """Return each card's price in cents (the current price, not a struck-out compare-at one)."""
    texts = page.locator(".card .price > span").all_inner_texts()
    return [int(re.sub(r"\D", "", text)) for text in texts]


def result_count(page) -> int:
    return int(re.match(r"\d+", page.locator("#listing-count").inner_text()).group())


def tick(page, legend: str, label: str) -> None:
    """Tick a filter value; with JavaScript the page applies it at once."""
    box = page.locator("fieldset.facet", has=page.locator("legend", has_text=legend)).get_by_label(label)
    with page.expect_navigation():
        box.check()


def test_a_new_shopper_finds_narrows_shares_buys_and_reviews(live_url, desktop, demo):
    page = desktop()
    page.goto(live_url)

    # Search as a shopper types, by colour, by brand, by SKU and by a plural.
    assert any("Sweater" in title for title in search(page, "swea"))
    assert result_count(page) > 0 and "results for “swea”" in page.locator("#listing-count").inner_text()
    assert search(page, "navy")
    brand = demo["brands"][0]
    assert search(page, brand)
    assert set(page.locator(".card-brand").all_inner_texts()) == {brand}
    assert search(page, demo["sku"])[0] == demo["sku_product"]
    tees = search(page, "tees")
    assert tees and all("Tee" in title for title in tees)

    # Narrow the tees by brand, price and size, sort by price and page through.
    search(page, "tee")
    everything = result_count(page)
    brand_box = page.locator("fieldset.facet", has=page.locator("legend", has_text="Brand")).locator("input").first
    with page.expect_navigation():
        brand_box.check()
    chosen_brand = page.locator(".chip").first.inner_text()
    tick(page, "Size", "M")
    page.get_by_label("Max").fill("200")
    follow(page.get_by_role("button", name="Apply filters"))
    narrowed = result_count(page)
    assert 0 < narrowed <= everything
    with page.expect_navigation():
        page.get_by_label("Sort by").select_option("price_asc")
    if page.get_by_role("button", name="Sort").is_visible():
        follow(page.get_by_role("button", name="Sort"))
    first_page = card_prices(page)
    assert first_page == sorted(first_page) and all(price <= 20000 for price in first_page)
    pages = [first_page]
    while page.get_by_role("link", name=re.compile("Next")).count():
        follow(page.get_by_role("link", name=re.compile("Next")))
        pages.append(card_prices(page))
    every_price = [price for prices in pages for price in prices]
    assert every_price == sorted(every_price) and len(every_price) == narrowed
    assert len(pages) > 1, "the narrowed results should run to several pages"
    assert "brand=" in page.url and "sort=price_asc" in page.url and "page=" in page.url

    # The address, opened in a fresh browser, shows the same page.
    shared, titles = page.url, card_titles(page)
    stranger = desktop()
    stranger.goto(shared)
    assert card_titles(stranger) == titles
    assert stranger.locator(".chip").first.inner_text() == chosen_brand

    # Register, buy the first tee found, pay, and review it.
    page.goto(f"{live_url}/auth/register")
    page.get_by_label("Name").fill("Rhea Reviewer")
    page.get_by_label("Email", exact=True).fill("rhea@example.com")
    page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_label("Repeat the password").fill(DEFAULT_PASSWORD)
    follow(page.get_by_role("button", name="Create account"))
    search(page, "tee")
    follow(page.locator(".card-title a").first)
    product_url, product_name = page.url.split("?")[0], page.locator("h1").inner_text()
    follow(page.get_by_role("button", name="Add to cart"))
    page.goto(f"{live_url}/checkout")
    fill_address(page)
    follow(page.get_by_role("button", name="Place order and pay"))
    follow(page.get_by_role("button", name="Pay"))
    assert "is confirmed" in page.inner_text("h1")

    page.goto(product_url)
    reviews = page.locator("#reviews")
    four_stars = reviews.locator("input[name=rating][value='4']")
    reviews.locator(f"label[for='{four_stars.get_attribute('id')}']").click()  # the star is what a shopper clicks
    assert four_stars.is_checked()
    reviews.get_by_label("Title").fill("Soft and well cut")
    reviews.get_by_label("Your review (optional)").fill("Washed twice, still like new.")
    follow(reviews.get_by_role("button", name="Post your review"))
    assert "Soft and well cut" in page.locator("#reviews").inner_text()
    assert "Verified purchase" in page.locator("#reviews").inner_text()

    search(page, product_name)
    card = page.locator(".card", has=page.get_by_role("link", name=product_name, exact=True)).first
    assert "4.0" in card.locator(".rating-line").inner_text()

    # What a search engine reads: the sitemap lists the product, the page describes it in JSON-LD.
    sitemap = page.request.get(f"{live_url}/sitemap.xml")
    assert sitemap.ok and sitemap.headers["content-type"].startswith("application/xml")
    locations = [loc.text for loc in ET.fromstring(sitemap.body()).iter(f"{SITEMAP}loc")]
    assert product_url in locations
    page.goto(product_url)
    blocks = [json.loads(text) for text in page.locator('script[type="application/ld+json"]').all_inner_texts()]
    items = [item for block in blocks for item in (block.get("@graph", [block]) if isinstance(block, dict) else block)]
    product = next(item for item in items if item.get("@type") == "Product")
    assert product["name"] == product_name
    offers = product["offers"]
    offer = offers["offers"][0] if "offers" in offers else offers
    assert offer["priceCurrency"] == "USD" and offer["availability"].startswith("https://schema.org/")
    assert product["aggregateRating"]["reviewCount"] in (1, "1")

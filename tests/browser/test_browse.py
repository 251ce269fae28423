"""A shopper browses the catalogue in a real browser."""
import pytest

from shop.extensions import db
from tests.browser.actions import follow
from tests.factories import make_category, make_product

pytestmark = pytest.mark.browser


def test_shopper_finds_a_product_and_picks_a_variant(live_url, page):
    outdoors = make_category("Outdoors")
    camping = make_category("Camping", parent=outdoors)
    make_product("Alpine Tent", category=camping, price_cents=19900, is_featured=True,
                 variants=[{"size": "2P", "stock": 4}, {"size": "3P", "stock": 0, "price_cents": 24900}])
    db.session.commit()

    page.goto(live_url + "/")
    follow(page.get_by_role("navigation", name="Categories").get_by_role("link", name="Outdoors"))
    follow(page.get_by_role("link", name="Camping").first)
    follow(page.get_by_role("link", name="Alpine Tent"))
    assert page.get_by_test_id("stock").inner_text() == "Only 4 left"
    assert page.get_by_test_id("price").inner_text() == "$199.00"

    follow(page.get_by_role("link", name="3P"))
    assert page.get_by_test_id("stock").inner_text() == "Out of stock"
    assert page.get_by_test_id("price").inner_text() == "$249.00"
    assert page.get_by_role("button", name="Add to cart").is_disabled()

    page.get_by_role("searchbox", name="Search products").fill("tent")
    follow(page.get_by_role("button", name="Search"))
    assert "1 result for “tent”" in page.content()

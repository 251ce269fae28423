"""Catalogue pages as a shopper sees them."""
import pytest

from shop.extensions import db
from tests.factories import make_category, make_product


@pytest.fixture
def catalogue():
    clothing = make_category("Clothing")
    shirts = make_category("Shirts", parent=clothing)
    cheap = make_product("Budget Tee", category=shirts, price_cents=900, is_featured=True)
    dear = make_product("Silk Shirt", category=shirts, price_cents=8900, compare_at_cents=9900)
    top = make_product("Wool Coat", category=clothing, price_cents=15000)
    hidden = make_product("Secret Prototype", category=clothing, is_active=False)
    db.session.commit()
    return {"clothing": clothing, "shirts": shirts, "cheap": cheap, "dear": dear, "top": top, "hidden": hidden}


def test_home_shows_featured_products_and_top_categories(client, catalogue):
    page = client.get("/").get_data(as_text=True)
    assert "Budget Tee" in page
    assert "Silk Shirt" not in page.split("Featured")[1]
    assert f'href="/categories/{catalogue["clothing"].slug}"' in page


def test_category_lists_its_own_and_subcategory_products_but_not_inactive(client, catalogue):
    page = client.get(f"/categories/{catalogue['clothing'].slug}").get_data(as_text=True)
    for name in ("Budget Tee", "Silk Shirt", "Wool Coat"):
        assert name in page
    assert "Secret Prototype" not in page
    assert f'href="/categories/{catalogue["shirts"].slug}"' in page
    assert "3 products" in page


def test_subcategory_has_breadcrumbs_to_its_parent(client, catalogue):
    page = client.get(f"/categories/{catalogue['shirts'].slug}").get_data(as_text=True)
    assert 'aria-label="Breadcrumb"' in page
    assert f'href="/categories/{catalogue["clothing"].slug}">Clothing</a>' in page
    assert "Wool Coat" not in page


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("price_asc", ["Budget Tee", "Silk Shirt", "Wool Coat"]),
        ("price_desc", ["Wool Coat", "Silk Shirt", "Budget Tee"]),
        ("name", ["Budget Tee", "Silk Shirt", "Wool Coat"]),
        ("newest", ["Wool Coat", "Silk Shirt", "Budget Tee"]),
    ],
)
def test_category_sorts(client, catalogue, sort, expected):
    page = client.get(f"/categories/{catalogue['clothing'].slug}?sort={sort}").get_data(as_text=True)
    positions = [page.index(f'">{name}</a></h3>') for name in expected]
    assert positions == sorted(positions)


def test_compare_at_price_is_struck_through(client, catalogue):
    page = client.get(f"/categories/{catalogue['clothing'].slug}").get_data(as_text=True)
    assert '<s class="compare-at">$99.00</s>' in page
    assert "$89.00" in page


@pytest.mark.parametrize("query", ["page=abc", "page=-1", "page=0", "page=999999999999", "sort=nonsense",
                                   "sort=", "page=%00", "sort=price_asc&page=2.5"])
def test_bad_query_parameters_fall_back_to_defaults(client, catalogue, query):
    response = client.get(f"/categories/{catalogue['clothing'].slug}?{query}")
    assert response.status_code == 200
    assert "Wool Coat" in response.get_data(as_text=True)


def test_category_paginates_24_per_page(client):
    category = make_category("Many")
    for number in range(30):
        make_product(f"Item {number:02d}", category=category, price_cents=100 + number)
    db.session.commit()
    first = client.get(f"/categories/{category.slug}?sort=price_asc").get_data(as_text=True)
    second = client.get(f"/categories/{category.slug}?sort=price_asc&page=2").get_data(as_text=True)
    assert first.count('<article class="card">') == 24
    assert second.count('<article class="card">') == 6
    assert "Page 1 of 2" in first and 'rel="next"' in first
    assert "Item 29" in second and "Item 29" not in first


def test_unknown_category_is_404(client):
    response = client.get("/categories/no-such-thing")
    assert response.status_code == 404
    assert "could not find" in response.get_data(as_text=True)


def test_product_page_shows_variants_stock_and_add_to_cart_form(client):
    product = make_product(
        "Trail Runner",
        variants=[
            {"size": "42", "colour": "Blue", "stock": 0, "price_cents": 9900},
            {"size": "43", "colour": "Blue", "stock": 3, "price_cents": 9900, "compare_at_cents": 12900},
            {"size": "44", "colour": "Blue", "stock": 50, "price_cents": 10900},
        ],
    )
    db.session.commit()
    sold_out, low, plenty = product.variants
    page = client.get(f"/products/{product.slug}").get_data(as_text=True)
    assert "Trail Runner" in page
    assert "Only 3 left" in page  # the first variant in stock is preselected
    assert '<s class="compare-at">$129.00</s>' in page
    assert 'action="/cart/add"' in page and f'name="variant_id" value="{low.id}"' in page
    assert "42 / Blue" in page and "44 / Blue" in page

    page = client.get(f"/products/{product.slug}?variant={plenty.id}").get_data(as_text=True)
    assert "In stock" in page and "$109.00" in page

    page = client.get(f"/products/{product.slug}?variant={sold_out.id}").get_data(as_text=True)
    assert "Out of stock" in page and "disabled" in page


def test_product_page_ignores_a_variant_of_another_product(client):
    product = make_product("Mug")
    other = make_product("Teapot")
    db.session.commit()
    page = client.get(f"/products/{product.slug}?variant={other.variants[0].id}").get_data(as_text=True)
    assert f'name="variant_id" value="{product.variants[0].id}"' in page


def test_unknown_and_inactive_products_are_404(client):
    hidden = make_product("Hidden", is_active=False)
    db.session.commit()
    assert client.get("/products/nope").status_code == 404
    assert client.get(f"/products/{hidden.slug}").status_code == 404


def test_search_finds_products_by_name(client, catalogue):
    page = client.get("/search?q=silk").get_data(as_text=True)
    assert "Silk Shirt" in page and "Wool Coat" not in page
    assert client.get("/search?q=%25").status_code == 200
    assert "Type to search" in client.get("/search").get_data(as_text=True)


def _grow_catalogue(count: int, category):
    for number in range(count):
        make_product(f"Filler {number}", category=category, images=2,
                     variants=[{"size": "S"}, {"size": "M"}], is_featured=number % 3 == 0)
    db.session.commit()


@pytest.mark.parametrize("path", ["/", "/categories/{slug}", "/products/{product}", "/search?q=filler"])
def test_page_query_count_does_not_grow_with_the_catalogue(client, count_queries, path):
    category = make_category("Big")
    _grow_catalogue(20, category)
    product = make_product("Anchor", category=category, variants=[{"size": "S"}, {"size": "M"}], images=3)
    db.session.commit()
    url = path.format(slug=category.slug, product=product.slug)

    with count_queries() as small:
        assert client.get(url).status_code == 200
    _grow_catalogue(200, category)
    with count_queries() as large:
        assert client.get(url).status_code == 200
    assert len(small) == len(large)
    # The product page also reads its review figures and related products with their cards; every
    # page first reads the catalogue version its cached copy would be filed under.
    assert len(large) <= (12 if path.startswith("/products/") else 9)

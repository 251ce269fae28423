"""Narrowing a category page: its filters, subcategory counts, paging, titles and an empty result."""
import re
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import pytest

from shop.extensions import db
from tests.factories import make_brand, make_category, make_product

CARD_TITLE = re.compile(r'<h3 class="card-title"><a href="[^"]*">([^<]*)</a></h3>')


def names(page: str) -> set[str]:
    return {unescape(name) for name in CARD_TITLE.findall(page)}


def get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


@pytest.fixture
def aisle():
    """Footwear with boots and sneakers from two brands in several sizes and colours."""
    footwear = make_category("Footwear")
    boots = make_category("Boots", parent=footwear)
    sneakers = make_category("Sneakers", parent=footwear)
    sandals = make_category("Sandals", parent=footwear)  # nothing in it yet
    oakline, tidewater = make_brand("Oakline"), make_brand("Tidewater")
    make_product("Chelsea Boot", category=boots, brand=oakline, price_cents=12900,
                 variants=[{"size": "42", "colour": "Black"}, {"size": "43", "colour": "Black"}])
    make_product("Hiking Boot", category=boots, brand=tidewater, price_cents=15900, stock=0,
                 variants=[{"size": "43", "colour": "Rust"}])
    make_product("Court Sneaker", category=sneakers, brand=oakline, price_cents=7900, compare_at_cents=9900,
                 variants=[{"size": "41", "colour": "Sky"}, {"size": "42", "colour": "Black"}])
    make_product("Trail Shoe", category=footwear, brand=tidewater, price_cents=9900,
                 variants=[{"size": "44", "colour": "Forest"}])
    db.session.commit()
    return {"footwear": footwear, "boots": boots, "sneakers": sneakers, "sandals": sandals, "oakline": oakline,
            "tidewater": tidewater}


@pytest.mark.parametrize("query, expected", [
    ("", {"Chelsea Boot", "Hiking Boot", "Court Sneaker", "Trail Shoe"}),
    ("brand={oakline}", {"Chelsea Boot", "Court Sneaker"}),
    ("opt.Colour=Black", {"Chelsea Boot", "Court Sneaker"}),
    ("opt.Colour=Black&brand={tidewater}", set()),
    ("opt.Size=43&opt.Size=44", {"Chelsea Boot", "Hiking Boot", "Trail Shoe"}),
    ("min_price=100&max_price=150", {"Chelsea Boot"}),
    ("in_stock=1&opt.Size=43", {"Chelsea Boot"}),
    ("on_sale=1", {"Court Sneaker"}),
    ("brand={oakline}&brand={tidewater}&max_price=99", {"Court Sneaker", "Trail Shoe"}),
    # On a category page the category is the page itself: a category parameter changes nothing.
    ("category={sneakers}", {"Chelsea Boot", "Hiking Boot", "Court Sneaker", "Trail Shoe"}),
])
def test_a_category_page_narrows_by_its_filters(client, aisle, query, expected):
    slugs = {key: value.slug for key, value in aisle.items()}
    page = get(client, f"/categories/{aisle['footwear'].slug}?" + query.format(**slugs))
    assert names(page) == expected
    assert f"{len(expected)} product{'' if len(expected) == 1 else 's'}</h2>" in page


def test_subcategories_show_their_counts_and_keep_the_filters(client, aisle):
    page = get(client, f"/categories/{aisle['footwear'].slug}")
    subcategories = page.split('<ul class="subcategories"', 1)[1].split("</ul>", 1)[0]
    assert re.search(rf'href="/categories/{aisle["boots"].slug}">Boots</a> <span class="facet-count">2', subcategories)
    assert re.search(rf'href="/categories/{aisle["sneakers"].slug}">Sneakers</a> <span class="facet-count">1',
                     subcategories)
    assert "Sandals" not in subcategories  # empty, so not offered

    oakline = aisle["oakline"].slug
    page = get(client, f"/categories/{aisle['footwear'].slug}?brand={oakline}&opt.Colour=Black&sort=price_asc")
    subcategories = page.split('<ul class="subcategories"', 1)[1].split("</ul>", 1)[0]
    boots = unescape(re.search(r'href="(/categories/[^"]*)">Boots</a> <span class="facet-count">1', subcategories)
                     .group(1))
    assert parse_qsl(urlsplit(boots).query) == [("brand", oakline), ("opt.Colour", "Black"), ("sort", "price_asc")]
    assert names(get(client, boots)) == {"Chelsea Boot"}


def test_category_facets_are_disjunctive_like_the_search_page(client, aisle):
    page = get(client, f"/categories/{aisle['footwear'].slug}?brand={aisle['oakline'].slug}")
    brands = re.findall(r'name="brand" value="[^"]*"( checked)?>\s*<span class="facet-label">([^<]*)</span>\s*'
                        r'<span class="facet-count">(\d+)', page)
    assert brands == [(" checked", "Oakline", "2"), ("", "Tidewater", "2")]
    sizes = re.findall(r'name="opt.Size" value="([^"]*)">\s*<span class="facet-label">[^<]*</span>\s*'
                       r'<span class="facet-count">(\d+)', page)
    assert sizes == [("41", "1"), ("42", "2"), ("43", "1")]  # Oakline's sizes, smallest first


def test_newest_is_the_default_sort_and_relevance_is_not_offered(client, aisle):
    page = get(client, f"/categories/{aisle['footwear'].slug}")
    assert re.search(r'<option value="newest"\s*selected>', page)
    assert 'value="relevance"' not in page
    page = get(client, f"/categories/{aisle['footwear'].slug}?sort=relevance")
    assert re.search(r'<option value="newest"\s*selected>', page)


def test_the_price_boxes_suggest_the_range_of_the_results(client, aisle):
    page = get(client, f"/categories/{aisle['footwear'].slug}?brand={aisle['oakline'].slug}")
    assert "From $79.00 to $129.00" in page
    assert 'name="min_price"' in page and 'placeholder="79"' in page and 'placeholder="129"' in page
    page = get(client, f"/categories/{aisle['footwear'].slug}?min_price=80&max_price=120.5")
    assert 'value="80"' in page and 'value="120.50"' in page
    assert "From $80.00" in page and "Up to $120.50" in page  # the chips


@pytest.mark.parametrize("app_overrides", [{"PRODUCTS_PER_PAGE": 1}])
def test_paging_keeps_repeated_filters_and_later_pages_have_their_own_title(client, aisle):
    footwear = aisle["footwear"]
    query = f"brand={aisle['oakline'].slug}&brand={aisle['tidewater'].slug}&opt.Size=43&opt.Size=44"
    first = get(client, f"/categories/{footwear.slug}?{query}")
    assert "Page 1 of 3" in first
    next_link = unescape(re.search(r'rel="next" href="([^"]*)"', first).group(1))
    assert next_link == f"/categories/{footwear.slug}?{query}&page=2"
    second = get(client, next_link)
    assert "<title>Footwear – page 2 ·" in second and "<title>Footwear ·" in first
    description = re.compile(r'<meta name="description" content="([^"]*)"')
    assert description.search(first).group(1) != description.search(second).group(1)
    assert "Page 2." in description.search(second).group(1)


def test_no_match_offers_to_remove_each_filter(client, aisle):
    footwear = aisle["footwear"]
    page = get(client, f"/categories/{footwear.slug}?brand={aisle['tidewater'].slug}&on_sale=1")
    advice = page.split('<div class="no-results">', 1)[1].split("</section>", 1)[0]
    assert "No products here match these filters." in advice
    assert f'href="/categories/{footwear.slug}?on_sale=1">Remove “Brand: Tidewater”' in advice
    assert f'href="/categories/{footwear.slug}">Remove every filter' in advice


def test_an_empty_category_says_so_without_filters(client, aisle):
    page = get(client, f"/categories/{aisle['sandals'].slug}")
    assert "No products here yet." in page and 'class="filters"' not in page


def test_filtered_category_pages_run_the_same_statements_as_plain_ones(client, aisle, count_queries):
    footwear = aisle["footwear"]
    urls = [f"/categories/{footwear.slug}",
            f"/categories/{footwear.slug}?brand={aisle['oakline'].slug}&opt.Colour=Black&opt.Size=42&in_stock=1"
            "&min_price=1&sort=price_desc"]
    counts = []
    for extra in (0, 25):
        for number in range(extra):
            make_product(f"Boot {number}", category=aisle["boots"], brand=aisle["oakline"], images=2,
                         variants=[{"size": "42", "colour": "Black"}])
        db.session.commit()
        for url in urls:
            with count_queries() as statements:
                assert client.get(url).status_code == 200
            counts.append(len(statements))
    assert len(set(counts)) == 1 and counts[0] <= 8, counts

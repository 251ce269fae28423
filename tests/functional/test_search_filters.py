"""Narrowing a search: filters alone and together, facet counts, sorting, paging, and what cannot be applied."""
import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from shop.extensions import db
from shop.models import Review
from tests.factories import make_brand, make_category, make_product, make_user

CARD_TITLE = re.compile(r'<h3 class="card-title"><a href="[^"]*">([^<]*)</a></h3>')


def names(page: str) -> list[str]:
    """Return the product names of the page's cards, in order."""
    return [unescape(name) for name in CARD_TITLE.findall(page)]


def facet(page: str, name: str) -> dict[str, tuple[int, bool]]:
    """Return a facet's choices as {label: (count, ticked)} from the filter form."""
    choice = re.compile(
        rf'<input type="(?:checkbox|radio)" name="{re.escape(name)}" value="[^"]*"( checked)?>\s*'
        r'<span class="facet-label">([^<]*)</span>\s*<span class="facet-count">(\d+)')
    return {unescape(label): (int(count), bool(ticked)) for ticked, label, count in choice.findall(page)}


def links(page: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]*)"', page)]


def query_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query)


def get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


@pytest.fixture
def shelf():
    """Four tees and a sweater in three brands, with sizes, colours, prices, stock, a sale and reviews."""
    clothing = make_category("Clothing")
    tops = make_category("Tops", parent=clothing)
    kids = make_category("Kids", parent=clothing)
    knitwear = make_category("Knitwear", parent=clothing)
    oakline, northwind, fieldcraft = make_brand("Oakline"), make_brand("Northwind"), make_brand("Fieldcraft")
    navy = make_product("Navy Crew Tee", category=tops, brand=oakline, price_cents=1500, stock=5,
                        variants=[{"size": "S", "colour": "Navy"}, {"size": "M", "colour": "Navy"}])
    sand = make_product("Sand Pocket Tee", category=tops, brand=northwind, price_cents=2500, stock=0,
                        variants=[{"size": "M", "colour": "Sand"}, {"size": "L", "colour": "Sand"}])
    rust = make_product("Rust Tee", category=tops, brand=fieldcraft, price_cents=3500, compare_at_cents=4500,
                        stock=3, variants=[{"size": "L", "colour": "Rust"}])
    tiny = make_product("Tiny Tee", category=kids, brand=oakline, price_cents=900, stock=2,
                        variants=[{"size": "S", "colour": "Sand"}])
    sweater = make_product("Merino Sweater", category=knitwear, brand=oakline, price_cents=8900,
                           variants=[{"size": "M", "colour": "Navy"}])
    for product, stars in ((navy, [5, 4]), (sand, [3]), (rust, [2, 1])):
        for rating in stars:
            reviewer = make_user()
            db.session.add(Review(product_id=product.id, user_id=reviewer.id, rating=rating, title="Fine",
                                  author_name=reviewer.name))
    db.session.commit()
    return {"clothing": clothing, "tops": tops, "kids": kids, "knitwear": knitwear, "oakline": oakline,
            "northwind": northwind, "fieldcraft": fieldcraft, "navy": navy, "sand": sand, "rust": rust,
            "tiny": tiny, "sweater": sweater}


NAVY, SAND, RUST, TINY = "Navy Crew Tee", "Sand Pocket Tee", "Rust Tee", "Tiny Tee"


@pytest.mark.parametrize("query, expected", [
    ("", {NAVY, SAND, RUST, TINY}),
    ("brand={oakline}", {NAVY, TINY}),
    ("brand={oakline}&brand={northwind}", {NAVY, TINY, SAND}),
    ("category={tops}", {NAVY, SAND, RUST}),
    ("category={clothing}", {NAVY, SAND, RUST, TINY}),
    ("min_price=20", {SAND, RUST}),
    ("max_price=15", {NAVY, TINY}),
    ("min_price=10&max_price=30.00", {NAVY, SAND}),
    ("min_price=$9&max_price=9", {TINY}),
    ("opt.Size=L", {SAND, RUST}),
    ("opt.Size=S&opt.Size=L", {NAVY, SAND, RUST, TINY}),
    ("opt.Colour=Sand", {SAND, TINY}),
    ("in_stock=1", {NAVY, RUST, TINY}),
    ("rating=4", {NAVY}),
    ("rating=3", {NAVY, SAND}),
    ("rating=1", {NAVY, SAND, RUST}),
    ("on_sale=1", {RUST}),
    # Together: every filter applies.
    ("brand={oakline}&opt.Size=S&max_price=10", {TINY}),
    ("opt.Size=M&opt.Colour=Navy", {NAVY}),
    ("opt.Size=L&in_stock=1", {RUST}),
    ("category={tops}&brand={oakline}&brand={fieldcraft}&min_price=20", {RUST}),
    ("brand={northwind}&in_stock=1", set()),
])
def test_each_filter_narrows_the_search_alone_and_with_others(client, shelf, query, expected):
    slugs = {key: getattr(value, "slug", "") for key, value in shelf.items()}
    page = get(client, "/search?q=tee&" + query.format(**slugs))
    assert set(names(page)) == expected
    assert f"{len(expected)} result{'' if len(expected) == 1 else 's'} for “tee”" in page


def test_filters_without_text_list_what_they_select(client, shelf):
    page = get(client, f"/search?brand={shelf['oakline'].slug}")
    assert set(names(page)) == {NAVY, TINY, "Merino Sweater"}
    assert "3 results</h2>" in page


def test_facet_counts_leave_out_their_own_filter_but_apply_the_others(client, shelf):
    page = get(client, f"/search?q=tee&brand={shelf['oakline'].slug}")
    # The brand's own filter is left out: each brand says what ticking it would add.
    assert facet(page, "brand") == {"Oakline": (2, True), "Northwind": (1, False), "Fieldcraft": (1, False)}
    # The others apply it: Oakline's tees come in S (both) and M (the navy one).
    assert facet(page, "opt.Size") == {"S": (2, False), "M": (1, False)}
    assert facet(page, "opt.Colour") == {"Navy": (1, False), "Sand": (1, False)}
    assert facet(page, "in_stock") == {"In stock only": (2, False)}

    page = get(client, f"/search?q=tee&brand={shelf['oakline'].slug}&opt.Size=S")
    assert facet(page, "opt.Size") == {"S": (2, True), "M": (1, False)}
    # Brands with no small tee are not offered.
    assert facet(page, "brand") == {"Oakline": (2, True)}

    page = get(client, "/search?q=tee&opt.Size=L")
    assert facet(page, "opt.Size") == {"S": (2, False), "M": (2, False), "L": (2, True)}
    assert facet(page, "brand") == {"Northwind": (1, False), "Fieldcraft": (1, False)}
    assert facet(page, "on_sale") == {"On sale": (1, False)}
    # Sand (3 stars) and Rust (1.5): no threshold without a product is offered.
    assert facet(page, "rating") == {"3 stars & up": (1, False), "2 stars & up": (1, False), "1 star & up": (2, False)}


def test_rating_thresholds_count_products_at_or_above_them(client, shelf):
    page = get(client, "/search?q=tee")
    assert facet(page, "rating") == {"4 stars & up": (1, False), "3 stars & up": (2, False),
                                     "2 stars & up": (2, False), "1 star & up": (3, False)}
    page = get(client, "/search?q=tee&rating=3")
    assert facet(page, "rating")["3 stars & up"] == (2, True)


def test_category_facet_counts_down_the_branches_and_narrows_one_level_at_a_time(client, shelf):
    page = get(client, "/search?q=tee")
    assert f"/search?q=tee&category={shelf['clothing'].slug}" in links(page)
    assert re.search(rf'category={shelf["clothing"].slug}">Clothing</a> <span class="facet-count">4', page)

    page = get(client, f"/search?q=tee&category={shelf['clothing'].slug}")
    assert re.search(rf'category={shelf["tops"].slug}">Tops</a> <span class="facet-count">3', page)
    assert re.search(rf'category={shelf["kids"].slug}">Kids</a> <span class="facet-count">1', page)
    assert "Knitwear</a>" not in page  # no tee there
    assert "/search?q=tee" in links(page)  # back to every category


def test_a_hidden_category_hides_its_products_from_search(client, shelf):
    shelf["kids"].is_active = False
    db.session.commit()
    assert TINY not in names(get(client, "/search?q=tee"))


@pytest.mark.parametrize("sort, expected", [
    ("price_asc", [TINY, NAVY, SAND, RUST]),
    ("price_desc", [RUST, SAND, NAVY, TINY]),
    ("name", [NAVY, RUST, SAND, TINY]),
    ("newest", [TINY, RUST, SAND, NAVY]),
    ("rating", [NAVY, SAND, RUST, TINY]),  # 4.5, 3, 1.5 stars, then no reviews
])
def test_sorting_by_each_key(client, shelf, sort, expected):
    page = get(client, f"/search?q=tee&sort={sort}")
    assert names(page) == expected
    assert re.search(rf'<option value="{sort}"\s*selected>', page)


def test_relevance_is_the_default_of_a_search_and_puts_name_matches_first(client):
    category = make_category("Misc")
    make_product("Plain Mug", category=category).description = "Goes well with a navy tee."
    make_product("Navy Mug", category=category)
    db.session.commit()
    page = get(client, "/search?q=navy")
    assert names(page) == ["Navy Mug", "Plain Mug"]
    assert re.search(r'<option value="relevance"\s*selected>', page)


def test_at_equal_relevance_what_is_in_stock_comes_first(client):
    category = make_category("Twins")
    make_product("Twin Tee", category=category, stock=5)
    sold_out = make_product("Twin Tee", category=category, stock=0)  # newer, so it would lead on age alone
    db.session.commit()
    page = get(client, "/search?q=twin+tee")
    cards = page.split('<article class="card">')[1:]
    assert len(cards) == 2
    assert "Out of stock" not in cards[0] and "Out of stock" in cards[1]
    assert sold_out.slug in cards[1]


TWO_PER_PAGE = pytest.mark.parametrize("app_overrides", [{"PRODUCTS_PER_PAGE": 2}])


@TWO_PER_PAGE
def test_paging_and_sorting_keep_every_filter_and_the_text(client, shelf):
    oakline, northwind = shelf["oakline"].slug, shelf["northwind"].slug
    page = get(client, f"/search?q=tee&brand={oakline}&brand={northwind}&opt.Colour=Sand&opt.Colour=Navy"
                       "&sort=price_asc")
    assert names(page) == [TINY, NAVY]
    next_link = re.search(r'rel="next" href="([^"]*)"', page).group(1)
    kept = query_of(unescape(next_link))
    assert ("brand", oakline) in kept and ("brand", northwind) in kept
    assert ("opt.Colour", "Sand") in kept and ("opt.Colour", "Navy") in kept
    assert ("q", "tee") in kept and ("sort", "price_asc") in kept and ("page", "2") in kept

    second = get(client, unescape(next_link))
    assert names(second) == [SAND]
    previous = re.search(r'rel="prev" href="([^"]*)"', second).group(1)
    assert ("page", "1") not in query_of(unescape(previous)) and ("brand", northwind) in query_of(unescape(previous))

    sort_form = page.split('<form class="sort"', 1)[1].split("</form>", 1)[0]
    for name, value in (("q", "tee"), ("brand", oakline), ("brand", northwind), ("opt.Colour", "Sand")):
        assert f'<input type="hidden" name="{name}" value="{value}">' in sort_form
    assert 'name="page"' not in sort_form

    filter_form = page.split('<form class="filter-form"', 1)[1].split("</form>", 1)[0]
    assert '<input type="hidden" name="q" value="tee">' in filter_form
    assert '<input type="hidden" name="sort" value="price_asc">' in filter_form


def test_active_filters_are_chips_that_remove_themselves_and_clear_all_keeps_the_text(client, shelf):
    oakline = shelf["oakline"].slug
    page = get(client, f"/search?q=tee&brand={oakline}&in_stock=1&max_price=20")
    chips = page.split('<ul class="chips"', 1)[1].split("</ul>", 1)[0]
    assert "Brand: Oakline" in chips and "In stock" in chips and "Up to $20.00" in chips
    assert 'href="/search?q=tee&amp;max_price=20&amp;in_stock=1"' in chips  # Oakline's chip
    assert f'href="/search?q=tee&amp;brand={oakline}&amp;max_price=20"' in chips  # the in-stock chip
    assert 'class="chips-clear" href="/search?q=tee"' in chips
    assert "<summary>Filters (3)</summary>" in page


@pytest.mark.parametrize("bad", [
    "brand=no-such-brand", "category=no-such-category", "min_price=abc", "max_price=12.345", "min_price=-5",
    "min_price=50&max_price=10", "opt.Colour=Purple", "opt.Nothing=At+all", "rating=5", "rating=4.5", "rating=x",
    "in_stock=maybe", "on_sale=0", "sort=nonsense", "sort=", "page=-1", "page=0", "page=abc",
])
def test_filters_that_cannot_be_applied_are_ignored(client, shelf, bad):
    page = get(client, f"/search?q=tee&{bad}")
    assert set(names(page)) == {NAVY, SAND, RUST, TINY}
    assert "4 results for “tee”" in page
    assert 'class="chips"' not in page


@TWO_PER_PAGE
def test_a_page_past_the_end_shows_the_last_page(client, shelf):
    page = get(client, "/search?q=tee&sort=price_asc&page=999999")
    assert "Page 2 of 2" in page and names(page) == [SAND, RUST]


HOSTILE = [
    "q=%00", "brand=%00", "opt.Colour=%00", "opt.%00=Navy", "opt.=Navy", "opt.Colour=", "min_price=%00",
    "min_price=1e309", "max_price=" + "9" * 5000, "min_price=%EF%BC%91%EF%BC%92", "page=" + "9" * 5000,
    "page=%C2%B2", "category=../../etc/passwd", "brand=" + "x" * 10_000, "rating=%F0%9F%92%A5",
    "&".join(f"brand=b{n}" for n in range(1500)), "&".join(f"opt.O{n}=v" for n in range(300)),
    "&".join(f"opt.Colour=c{n}" for n in range(1000)), "sort=rating&sort=name", "q=" + "tee+" * 400,
    "q=%22tee&brand=%27%20OR%201=1--", "opt.Colour=Navy%27);DROP%20TABLE%20products;--",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_parameters_never_fail(client, shelf, query):
    assert client.get(f"/search?{query}").status_code == 200
    assert client.get(f"/categories/{shelf['clothing'].slug}?{query}").status_code == 200


def _statements(client, count_queries, url: str) -> int:
    with count_queries() as statements:
        assert client.get(url).status_code == 200
    return len(statements)


def test_searches_run_the_same_statements_however_many_products_and_filters(client, count_queries):
    clothing = make_category("Clothing")
    brand = make_brand("Oakline")

    def add(count: int):
        for number in range(count):
            make_product(f"Filler Tee {number}", category=make_category("Line", parent=clothing), brand=brand,
                         images=2, compare_at_cents=2500 if number % 2 else None,
                         variants=[{"size": "S", "colour": "Navy"}, {"size": "M", "colour": "Sand"}])
        db.session.commit()

    urls = ["/search?q=tee", f"/search?q=tee&brand={brand.slug}&opt.Size=S&opt.Colour=Navy&min_price=1"
            "&max_price=100&in_stock=1&on_sale=1&sort=price_desc", f"/search?brand={brand.slug}&opt.Size=M"]
    add(3)
    few = [_statements(client, count_queries, url) for url in urls]
    add(27)
    many = [_statements(client, count_queries, url) for url in urls]
    assert few == many
    assert len(set(many)) == 1 and many[0] <= 8, many


def test_nothing_found_offers_a_spelling_a_way_out_of_the_filters_and_categories(client, shelf):
    page = get(client, "/search?q=nayy")  # too short for typo tolerance, close enough for a suggestion
    advice = page.split('<div class="no-results">', 1)[1].split("</section>", 1)[0]
    assert 'Did you mean <a href="/search?q=navy">navy</a>?' in advice
    assert f'href="/categories/{shelf["clothing"].slug}"' in advice

    page = get(client, f"/search?q=tee&brand={shelf['northwind'].slug}&in_stock=1")
    advice = page.split('<div class="no-results">', 1)[1].split("</section>", 1)[0]
    assert "Did you mean" not in advice
    assert 'href="/search?q=tee&amp;in_stock=1">Remove “Brand: Northwind”' in advice
    assert f'href="/search?q=tee&amp;brand={shelf["northwind"].slug}">Remove “In stock”' in advice
    assert 'href="/search?q=tee">Remove every filter' in advice


class FormReader(HTMLParser):
    """Reads the filter form as a browser without JavaScript would submit it."""

    def __init__(self):
        super().__init__()
        self.inside = False
        self.action = ""
        self.fields: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and "data-filter-form" in attributes:
            self.inside, self.action = True, attributes["action"]
        elif self.inside and tag in ("input", "button"):
            self.fields.append({"tag": tag, **attributes})

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False


def test_the_filter_form_works_without_javascript(client, shelf):
    page = get(client, "/search?q=tee")
    reader = FormReader()
    reader.feed(page)
    assert reader.action == "/search"
    assert any(field["tag"] == "button" and field.get("type") == "submit" for field in reader.fields)
    assert "<details class=\"filters\"" in page and "<summary>Filters</summary>" in page
    # The shopper ticks Oakline and size S and types a maximum price, then presses Apply.
    ticked = {("brand", shelf["oakline"].slug), ("opt.Size", "S")}
    data = []
    for field in reader.fields:
        if field["tag"] != "input":
            continue
        if field["type"] == "hidden" or field["type"] == "text":
            data.append((field["name"], "12" if field["name"] == "max_price" else field.get("value", "")))
        elif (field["name"], field["value"]) in ticked or "checked" in field:
            data.append((field["name"], field["value"]))
    page = get(client, f"{reader.action}?{urlencode(data)}")
    assert names(page) == [TINY]
    assert "1 result for “tee”" in page
    assert 'value="12"' in page  # the maximum stays in its box


def test_the_listing_pages_load_the_filter_script_as_a_file(client, shelf):
    for url in ("/search?q=tee", f"/categories/{shelf['clothing'].slug}"):
        page = get(client, url)
        assert re.search(r'<script src="/static/js/filters\.js[^"]*" defer></script>', page)
    assert client.get("/static/js/filters.js").status_code == 200

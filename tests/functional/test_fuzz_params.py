"""Every query parameter the storefront reads, fuzzed with hypothesis: a page or a 4xx, never a 5xx, never a change.

Each page gets its own parameters with good values (a real brand, option value, variant, image, order
token), hostile ones (tests/fuzzing.py), repeated, or left out, plus made-up names and facets
(opt.<anything>). After every request:
- the answer is not a 5xx, and it is the page's usual answer (a listing ignores what it cannot apply);
- no row changed: reading a page writes nothing, whatever its query says;
- no script from the query comes back unescaped, and no page links to the product taken off sale;
- the sign-in pages keep no address off this site for after logging in.
test_every_query_parameter_is_fuzzed reads the storefront's code and templates for the names they
take from the query string: a new one fails it until it joins PAGES.
"""
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import shop
from shop.checkout.views import PLACED_ORDERS_KEY
from shop.core.static_files import static_version
from shop.extensions import db
from shop.models import Review
from shop.services.accounts import CONFIRM_TOKEN_SALT
from shop.services.discovery import OPTION_PREFIX, SORTS
from shop.services.orders import order_token
from tests.factories import make_brand, make_category, make_order, make_product, make_user
from tests.fuzzing import HUGE_ID, MARKUP, TEXT_JUNK, Snapshot, cause, error_log, fuzz_settings, junk, sign

EXAMPLES = 8
# Front-end servers refuse request lines much over 4 KB (gunicorn: 4094 bytes): no query carries 100 KB.
query_junk = junk.filter(lambda value: len(value) <= 4400)
ROOT = Path(shop.__file__).parent


@pytest.fixture
def errors(app):
    with error_log(app) as records:
        yield records


@dataclass
class Shelf:
    """What the pages show: a tent in two sizes with photos and reviews, an older tent off sale, a guest's order."""

    category_slug: str
    child_slug: str
    brand_slug: str
    product_slug: str
    hidden_slug: str
    variant_ids: list[str]
    image_ids: list[str]
    order_id: int
    order_number: str
    order_token: str


@pytest.fixture
def shelf(app) -> Shelf:
    tents = make_category("Tents")
    domes = make_category("Domes", parent=tents)
    acme = make_brand("Acme")
    tent = make_product("Alpine Tent", category=domes, brand=acme, images=2, compare_at_cents=2999,
                        variants=[{"size": "2P"}, {"size": "4P", "price_cents": 2999, "stock": 0}])
    hidden = make_product("Retired Tent", category=domes, brand=acme, is_active=False)
    for number in range(7):  # two pages of reviews
        author = make_user(name=f"Camper {number}")
        make_order(author, tent.variants[0], status="delivered", payment_status="paid")
        db.session.add(Review(product_id=tent.id, user_id=author.id, rating=number % 5 + 1, title=f"Night {number}",
                              author_name=author.name))
    order = make_order(None, tent.variants[0], email="guest@example.com")
    order.payment_reference = "test_guest-order"
    db.session.commit()
    return Shelf(category_slug=tents.slug, child_slug=domes.slug, brand_slug=acme.slug, product_slug=tent.slug,
                 hidden_slug=hidden.slug, variant_ids=[str(variant.id) for variant in tent.variants],
                 image_ids=[str(image.id) for image in tent.images], order_id=order.id, order_number=order.number,
                 order_token=order_token(order.number))


LISTING = {
    "q": lambda s: ["tent", "Alpine", "2P", "acme"], "category": lambda s: [s.category_slug, s.child_slug],
    "brand": lambda s: [s.brand_slug], f"{OPTION_PREFIX}Size": lambda s: ["2P", "4P"],
    "min_price": lambda s: ["10", "19.99", "$5"], "max_price": lambda s: ["30", "25.50"],
    "rating": lambda s: ["4", "1"], "in_stock": lambda s: ["1", "on"], "on_sale": lambda s: ["true", "yes"],
    "sort": lambda s: list(SORTS), "page": lambda s: ["1", "2"],
}


@dataclass(frozen=True)
class Page:
    """A storefront page: its address, the query parameters it reads with good values, and its usual answers."""

    endpoint: str
    path: Callable[[Shelf], str]
    params: dict[str, Callable[[Shelf], list[str]]]
    statuses: tuple[int, ...] = (200,)
    shopper: bool = False

    def __str__(self) -> str:
        return self.endpoint


PAGES = [
    Page("catalog.home", lambda s: "/", {}),
    Page("catalog.search", lambda s: "/search", LISTING),
    Page("catalog.category", lambda s: f"/categories/{s.category_slug}", LISTING),
    Page("catalog.product", lambda s: f"/products/{s.product_slug}",
         {"variant": lambda s: s.variant_ids, "image": lambda s: s.image_ids, "reviews_page": lambda s: ["1", "2"]}),
    Page("checkout.account_orders", lambda s: "/account/orders", {"page": lambda s: ["1", "2"]}, shopper=True),
    Page("checkout.order_detail", lambda s: f"/orders/{s.order_number}", {"token": lambda s: [s.order_token]}),
    Page("checkout.cancel_order_page", lambda s: f"/orders/{s.order_number}/cancel",
         {"token": lambda s: [s.order_token]}),
    # Only junk here: the real reference would pay or cancel the order, which these pages are for.
    Page("checkout.success", lambda s: "/checkout/success", {"session_id": lambda s: ["cs_test_unknown"]},
         statuses=(404,)),
    Page("checkout.cancel", lambda s: "/checkout/cancel", {"session_id": lambda s: ["cs_test_unknown"]},
         statuses=(302,)),
    Page("auth.login", lambda s: "/auth/login", {"next": lambda s: ["/cart", f"/products/{s.product_slug}"]}),
    Page("auth.register", lambda s: "/auth/register", {"next": lambda s: ["/checkout"]}),
    Page("auth.logged_out", lambda s: "/auth/logged-out", {"everywhere": lambda s: ["1"]}, statuses=(302,)),
    # A confirmation link signed over an id beyond the id column reached the database (OverflowError).
    Page("auth.confirm_email", lambda s: "/auth/confirm/" + sign(CONFIRM_TOKEN_SALT, HUGE_ID), {}, statuses=(302,)),
    Page("static", lambda s: "/static/css/shop.css", {"v": lambda s: [static_version("css/shop.css")]}),
]

READS_QUERY = re.compile(r"""(?:args|values)\.(?:get|getlist)\(\s*["']([^"']+)["']""")


def test_every_query_parameter_is_fuzzed():
    sources = [path for path in [*ROOT.rglob("*.py"), *ROOT.parent.joinpath("templates").rglob("*.html")]
               if "admin" not in path.relative_to(ROOT.parent).parts]
    read = {name for path in sources for name in READS_QUERY.findall(path.read_text(encoding="utf-8"))}
    fuzzed = {name for page in PAGES for name in page.params if not name.startswith(OPTION_PREFIX)}
    assert read == fuzzed


def _value(good: list[str]) -> st.SearchStrategy[list]:
    value = st.one_of(st.sampled_from(good), query_junk)
    return st.one_of(st.just([]), value.map(lambda one: [one]), st.lists(value, min_size=2, max_size=3))


def _query(page: Page, shelf: Shelf) -> st.SearchStrategy[list[tuple[str, object]]]:
    """Return query strings for the page: its parameters, good, hostile, repeated or left out, and made-up ones."""
    known = st.fixed_dictionaries({name: _value(good(shelf)) for name, good in page.params.items()})
    names = st.one_of(st.sampled_from([f"{OPTION_PREFIX}Size", OPTION_PREFIX, f"{OPTION_PREFIX}{'x' * 200}",
                                       f"{OPTION_PREFIX}\x00", "page", "q", "brand"]),
                      st.text(max_size=20), st.sampled_from(TEXT_JUNK[:40]).map(lambda text: text[:200]))
    made_up = st.lists(st.tuples(names, query_junk), max_size=3)
    return st.tuples(known, made_up).map(
        lambda parts: [(name, value) for name, values in parts[0].items() for value in values] + parts[1])


def _encode(pairs: list[tuple[str, object]]) -> str:
    return "&".join(f"{quote_plus(name)}={quote_plus(value)}" for name, value in pairs)


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_hostile_query_strings_show_the_page_and_change_nothing(app, client, auth, errors, shelf, page):
    if page.shopper:
        make_user("shopper@example.com")
        db.session.commit()
        assert auth.login("shopper@example.com").status_code == 302
    with client.session_transaction() as session:
        session[PLACED_ORDERS_KEY] = [shelf.order_id]
    path = page.path(shelf)

    @fuzz_settings(EXAMPLES)
    @given(pairs=_query(page, shelf))
    @example(pairs=[("page", "²"), ("sort", "\x00"), ("min_price", "1e309"), ("max_price", "NaN")])
    @example(pairs=[(f"{OPTION_PREFIX}Size", "2P"), (f"{OPTION_PREFIX}Size", "2P"), ("brand", "\x00")])
    def visit(pairs):
        before = Snapshot()
        query = _encode(pairs)
        logged = len(errors)
        response = client.get(path, query_string=query)
        what = f"GET {path}?{query[:600]}"
        assert response.status_code < 500, f"{what} -> {response.status_code} [{cause(errors, logged)}]"
        assert response.status_code in page.statuses, f"{what} -> {response.status_code}"
        after = Snapshot()
        assert after == before, f"{what} changed {after.changed(before)}"
        if response.mimetype == "text/html":
            html = response.get_data(as_text=True)
            assert not [markup for markup in MARKUP if markup in html], f"{what} echoed markup unescaped"
            assert f"/products/{shelf.hidden_slug}" not in html, f"{what} links to a product off sale"
            if page.endpoint.startswith("auth."):
                assert "evil.example" not in html, f"{what} keeps an address off this site"

    visit()

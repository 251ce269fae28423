"""/sitemap.xml against the sitemap protocol (sitemaps.org), its index past the limit, and /robots.txt."""
import re
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from shop.extensions import db
from shop.models import ContentPage
from shop.services import seo
from tests.factories import make_category, make_product

NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"
NS = {"sm": NAMESPACE}
# The W3C datetime formats the protocol allows: a date, or a date and time with a time zone.
W3C_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?"
)
MAX_URLS = 50_000
MAX_LOC = 2048


def problems_of_location(loc: str | None) -> list[str]:
    if not loc:
        return ["a <loc> is empty"]
    parts = urlsplit(loc)
    problems = []
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append(f"{loc!r} is not an absolute http(s) URL")
    if len(loc) > MAX_LOC:
        problems.append(f"{loc[:40]!r}... is longer than {MAX_LOC} characters")
    return problems


def urlset_problems(root: ElementTree.Element, limit: int = MAX_URLS) -> list[str]:
    """Check a parsed sitemap file against the protocol: namespace, url/loc/lastmod, the URL limit."""
    if root.tag != f"{{{NAMESPACE}}}urlset":
        return [f"the root is {root.tag}, not the protocol's urlset"]
    problems = []
    urls = root.findall("sm:url", NS)
    if len(urls) > limit:
        problems.append(f"{len(urls)} URLs in one file, more than {limit}")
    if len(urls) != len(root):
        problems.append("the urlset holds elements other than <url>")
    for url in urls:
        problems += problems_of_location(url.findtext("sm:loc", namespaces=NS))
        lastmod = url.findtext("sm:lastmod", namespaces=NS)
        if lastmod is not None and not W3C_DATETIME.fullmatch(lastmod):
            problems.append(f"lastmod {lastmod!r} is not a W3C datetime")
        unknown = {child.tag for child in url} - {f"{{{NAMESPACE}}}{name}" for name in
                                                   ("loc", "lastmod", "changefreq", "priority")}
        if unknown:
            problems.append(f"unknown elements in <url>: {unknown}")
    locations = [url.findtext("sm:loc", namespaces=NS) for url in urls]
    if len(set(locations)) != len(locations):
        problems.append("a URL is listed twice")
    return problems


def index_problems(root: ElementTree.Element) -> list[str]:
    """Check a parsed sitemap index: namespace, sitemap/loc, at most 50,000 files."""
    if root.tag != f"{{{NAMESPACE}}}sitemapindex":
        return [f"the root is {root.tag}, not the protocol's sitemapindex"]
    files = root.findall("sm:sitemap", NS)
    problems = [] if 0 < len(files) <= MAX_URLS else [f"{len(files)} files in the index"]
    for entry in files:
        problems += problems_of_location(entry.findtext("sm:loc", namespaces=NS))
    return problems


def fetch(client, path: str) -> ElementTree.Element:
    response = client.get(path)
    assert response.status_code == 200, path
    assert response.mimetype == "application/xml"
    return ElementTree.fromstring(response.get_data())


def when(lastmod: str | None) -> datetime:
    assert lastmod is not None and W3C_DATETIME.fullmatch(lastmod)
    return datetime.fromisoformat(lastmod)


def entries(root: ElementTree.Element) -> dict[str, str | None]:
    """Return {path: lastmod} of a sitemap file."""
    return {urlsplit(url.findtext("sm:loc", namespaces=NS)).path: url.findtext("sm:lastmod", namespaces=NS)
            for url in root.findall("sm:url", NS)}


@pytest.fixture
def catalogue():
    """Visible and hidden categories; listed, inactive and unbuyable products."""
    clothing = make_category("Clothing")
    tees = make_category("Tees", parent=clothing)
    archive = make_category("Archive")
    archive.is_active = False
    old_tees = make_category("Old tees", parent=archive)  # active, under a hidden category
    tee = make_product("Navy Tee", category=tees)
    tee.updated_at = datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=UTC)
    sold_out = make_product("Grey Tee", category=tees, stock=0)
    retired = make_product("Retired Tee", category=tees, is_active=False)
    unbuyable = make_product("Unbuyable Tee", category=tees)
    unbuyable.variants[0].is_active = False
    db.session.commit()
    return {"clothing": clothing, "tees": tees, "archive": archive, "old_tees": old_tees, "tee": tee,
            "sold_out": sold_out, "retired": retired, "unbuyable": unbuyable}


def test_the_sitemap_lists_home_information_pages_categories_and_listed_products(client, catalogue):
    # A starting page the owner saved unpublished is left out; one saved published has its last change.
    db.session.add_all([
        ContentPage(slug="about", title="About", body="Hidden for now", is_published=False),
        ContentPage(slug="gift-cards", title="Gift cards", body="Soon", is_published=True, show_in_footer=False,
                    updated_at=datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)),
    ])
    db.session.commit()
    root = fetch(client, "/sitemap.xml")
    assert urlset_problems(root) == []
    listed = entries(root)
    assert when(listed["/pages/gift-cards"]) == datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert set(listed) == {
        "/", "/pages/shipping-returns", "/pages/privacy", "/pages/terms", "/pages/contact", "/pages/gift-cards",
        f"/categories/{catalogue['clothing'].slug}", f"/categories/{catalogue['tees'].slug}",
        f"/products/{catalogue['tee'].slug}", f"/products/{catalogue['sold_out'].slug}",
    }
    assert when(listed[f"/products/{catalogue['tee'].slug}"]) == datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    # A category changed when the newest of the products in its branch did.
    newest = max(catalogue["tee"].updated_at, catalogue["sold_out"].updated_at).replace(microsecond=0)
    assert when(listed[f"/categories/{catalogue['clothing'].slug}"]) == newest
    assert all(url.startswith("http://localhost/") for url in
               (entry.findtext("sm:loc", namespaces=NS) for entry in root.findall("sm:url", NS)))


def test_the_validator_refuses_what_the_protocol_does(client, catalogue):
    root = fetch(client, "/sitemap.xml")
    url = root.find("sm:url", NS)
    url.find("sm:loc", NS).text = "/relative"
    ElementTree.SubElement(url, f"{{{NAMESPACE}}}lastmod").text = "04/03/2026"
    assert len(urlset_problems(root)) == 2
    assert urlset_problems(root, limit=3)[0].endswith("more than 3")
    assert urlset_problems(ElementTree.fromstring("<urlset><url><loc>http://a/</loc></url></urlset>"))


def test_past_the_limit_the_sitemap_is_an_index_of_files_that_list_everything_once(client, catalogue, monkeypatch):
    tees = catalogue["tees"]
    for number in range(9):
        make_product(f"Tee {number}", category=tees)
    db.session.commit()
    everything = entries(fetch(client, "/sitemap.xml"))
    assert len(everything) == 19  # home, 5 pages, 2 categories, 11 products
    assert client.get("/sitemap-1.xml").status_code == 404  # one file holds them all

    monkeypatch.setattr(seo, "SITEMAP_LIMIT", 4)
    index = fetch(client, "/sitemap.xml")
    assert index_problems(index) == []
    files = [entry.findtext("sm:loc", namespaces=NS) for entry in index.findall("sm:sitemap", NS)]
    assert files == [f"http://localhost/sitemap-{number}.xml" for number in range(1, 6)]
    seen: dict[str, str | None] = {}
    for file in files:
        root = fetch(client, urlsplit(file).path)
        assert urlset_problems(root, limit=4) == []
        assert not set(entries(root)) & set(seen)
        seen.update(entries(root))
    assert seen == everything
    assert client.get("/sitemap-6.xml").status_code == 404
    assert client.get("/sitemap-0.xml").status_code == 404
    assert client.get("/sitemap-99999999999.xml").status_code == 404


def test_the_sitemap_runs_the_same_queries_for_few_or_many_products(client, count_queries, monkeypatch):
    tees = make_category("Tees")
    make_product("Tee", category=tees)
    db.session.commit()
    with count_queries() as few:
        assert client.get("/sitemap.xml").status_code == 200
    for number in range(30):
        make_product(f"Tee {number}", category=make_category() if number % 3 else tees)
    db.session.commit()
    with count_queries() as many:
        assert client.get("/sitemap.xml").status_code == 200
    assert len(few) == len(many) <= 6
    monkeypatch.setattr(seo, "SITEMAP_LIMIT", 10)
    with count_queries() as later_file:
        assert client.get("/sitemap-3.xml").status_code == 200
    assert len(later_file) <= len(many)


def test_robots_txt_keeps_crawlers_out_of_private_pages_and_search_and_names_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    lines = [line for line in response.get_data(as_text=True).splitlines() if line]
    assert lines[0] == "User-agent: *"
    disallowed = {line.removeprefix("Disallow: ") for line in lines if line.startswith("Disallow: ")}
    assert disallowed == {"/account", "/admin", "/auth", "/cart", "/checkout", "/orders", "/search"}
    assert "Sitemap: http://localhost/sitemap.xml" in lines
    public = ["/", "/products/navy-tee", "/categories/tees", "/privacy", "/media/demo/tee.jpg", "/sitemap.xml"]
    assert [path for path in public if any(path.startswith(prefix) for prefix in disallowed)] == []
    private = ["/cart", "/checkout", "/account/orders", "/admin/", "/auth/login", "/orders/T1",
               "/search?q=tee&sort=name"]
    assert [path for path in private if not any(path.startswith(prefix) for prefix in disallowed)] == []

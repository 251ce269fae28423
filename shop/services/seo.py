"""What search engines and link previews read: absolute URLs, JSON-LD, the sitemap's entries, robots.txt's rules.

Every absolute URL is built on SHOP_BASE_URL, as emails are (shop.services.mail.external_url), so a
page's canonical address never follows the Host a request named.
"""
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from markupsafe import Markup, escape

from shop.config import DEVELOPMENT_BASE_URL
from shop.core.security import PERSONAL_BLUEPRINTS
from shop.extensions import db
from shop.models import Category, Product, ProductImage, ProductSearch, ProductVariant
from shop.money import decimal_places
from shop.services import content_pages, store_settings
from shop.services.catalog import Crumb, all_categories
from shop.services.images import rendition_name
from shop.services.rich_text import plain_text

# The sitemap protocol's limit of URLs per file; past it /sitemap.xml becomes an index of pages.
SITEMAP_LIMIT = 50_000
IN_STOCK = "https://schema.org/InStock"
OUT_OF_STOCK = "https://schema.org/OutOfStock"
# 180 px square (templates/seo/home_head.html gives the size): Google wants a raster logo of at least 112 px.
LOGO = "img/apple-touch-icon.png"
MAX_JSON_LD_DESCRIPTION = 5000

UrlBuilder = Callable[..., str]
UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")  # the characters a URL path carries as they are (RFC 3986)


def url_builder() -> UrlBuilder:
    """Return a function building absolute URLs on SHOP_BASE_URL, bound once for many links.

    The same rule as emails' links: only development runs without BASE_URL, and there a request's
    own (loopback) address is used.
    """
    base_url = current_app.config.get("BASE_URL")
    if not base_url and has_request_context():
        return lambda endpoint, **values: url_for(endpoint, _external=True, **values)
    parts = urlsplit(base_url or DEVELOPMENT_BASE_URL)
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    return lambda endpoint, **values: adapter.build(endpoint, values, force_external=True)


def absolute_url(endpoint: str, **values) -> str:
    """Return the absolute URL of a page, for canonical links, Open Graph and JSON-LD."""
    return url_builder()(endpoint, **values)


def image_url(image: ProductImage | str, build: UrlBuilder | None = None) -> str:
    """Return the absolute URL of a picture's largest JPEG (link previews take JPEG, not WebP).

    image is a ProductImage, or a stored picture's bare key (a category's image_key).
    """
    if isinstance(image, str):
        filename = rendition_name(image, "full", "jpg")
    else:
        filename = rendition_name(image.key, "full", "jpg") if image.key else image.filename
    return (build or url_builder())("core.media", filename=filename)


def logo_url() -> str:
    """Return the absolute URL of the shop's logo."""
    return absolute_url("static", filename=LOGO)


def price_text(cents: int, currency: str) -> str:
    """Return an amount in minor units as a decimal string, e.g. 1999 usd -> "19.99", 1250 jpy -> "1250"."""
    decimals = decimal_places(currency)
    if decimals == 0:
        return str(cents)
    major, minor = divmod(cents, 10**decimals)
    return f"{major}.{minor:0{decimals}d}"


def json_ld(data: dict) -> Markup:
    """Return data as JSON for a <script type="application/ld+json"> element, unable to close the element.

    < > & are written as \\u escapes, which JSON reads back as the same characters, so a product
    named "</script><script>..." stays text inside the data.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704  (every character that could end the element is escaped)


def product_structured_data(product: Product, variants: list[ProductVariant], trail: list[Crumb],
                            rating_count: int, rating_average: float | None) -> list[dict]:
    """Return the JSON-LD of a product page: the Product with an offer per active variant, and its breadcrumbs.

    variants are the active ones; the rating is that of the visible reviews (the reviews' page context).
    """
    build = url_builder()
    currency = current_app.config["CURRENCY"]
    url = build("catalog.product", slug=product.slug)
    offers = [
        {
            "@type": "Offer",
            "sku": variant.sku,
            "name": variant.label,
            "price": price_text(variant.price_cents, currency),
            "priceCurrency": currency.upper(),
            "availability": IN_STOCK if variant.stock > 0 else OUT_OF_STOCK,
            "url": build("catalog.product", slug=product.slug, variant=variant.id) if len(variants) > 1 else url,
        }
        for variant in variants
    ]
    data: dict = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name,
        "url": url,
        "sku": variants[0].sku,
    }
    if product.images:
        data["image"] = [image_url(image, build) for image in product.images]
    description = plain_text(product.description) or product.meta_description
    if description:
        data["description"] = description[:MAX_JSON_LD_DESCRIPTION]
    if product.brand:
        data["brand"] = {"@type": "Brand", "name": product.brand.name}
    if len(offers) == 1:
        data["offers"] = offers[0]
    else:
        prices = [variant.price_cents for variant in variants]
        data["offers"] = {
            "@type": "AggregateOffer",
            "lowPrice": price_text(min(prices), currency),
            "highPrice": price_text(max(prices), currency),
            "priceCurrency": currency.upper(),
            "offerCount": len(offers),
            "availability": IN_STOCK if any(variant.stock > 0 for variant in variants) else OUT_OF_STOCK,
            "offers": offers,
        }
    if rating_count and rating_average is not None:
        data["aggregateRating"] = {
            "@type": "AggregateRating",
            "ratingValue": round(rating_average, 1),
            "reviewCount": rating_count,
            "bestRating": 5,
            "worstRating": 1,
        }
    steps = [(store_settings.get("shop_name"), build("catalog.home"))]
    # A hidden category has no page to point at, so it is left out of the trail.
    steps += [(crumb.category.name, build("catalog.category", slug=crumb.category.slug))
              for crumb in trail if crumb.visible]
    steps.append((product.name, url))
    breadcrumbs = {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": position, "name": name, "item": item}
            for position, (name, item) in enumerate(steps, start=1)
        ],
    }
    return [data, breadcrumbs]


def home_structured_data() -> list[dict]:
    """Return the home page's JSON-LD: the shop as an Organization, and the WebSite with its search box."""
    build = url_builder()
    home = build("catalog.home")
    organization: dict = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "name": store_settings.get("shop_name"),
        "url": home,
        "logo": build("static", filename=LOGO),
    }
    if store_settings.get("contact_email"):
        organization["email"] = store_settings.get("contact_email")
        organization["contactPoint"] = {
            "@type": "ContactPoint", "contactType": "customer service", "email": store_settings.get("contact_email"),
        }
    if store_settings.get("address"):
        organization["address"] = store_settings.get("address")
    website = {
        "@context": "https://schema.org",
        "@type": "WebSite",
        "name": store_settings.get("shop_name"),
        "url": home,
        "potentialAction": {
            "@type": "SearchAction",
            # Built by hand: url_for would percent-encode the braces the template needs.
            "target": {"@type": "EntryPoint", "urlTemplate": build("catalog.search") + "?q={search_term_string}"},
            "query-input": "required name=search_term_string",
        },
    }
    return [organization, website]


@dataclass(frozen=True)
class SitemapEntry:
    loc: str
    lastmod: datetime | None = None


SITEMAP_NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
SITEMAP_CHUNK = 1000


def urlset_xml(entries: list[SitemapEntry]) -> Iterator[str]:
    """Yield a sitemap file listing the entries, a line per URL.

    Written by hand rather than by a template: for 50,000 URLs a template took twice as long.
    Times keep the offset the database gave them (a W3C datetime such as 2026-03-04T05:06:07+00:00).
    """
    yield f'{XML_DECLARATION}<urlset xmlns="{SITEMAP_NAMESPACE}">\n'
    for start in range(0, len(entries), SITEMAP_CHUNK):  # a write to the client per chunk, not per line
        lines = []
        for entry in entries[start:start + SITEMAP_CHUNK]:
            lastmod = f"<lastmod>{entry.lastmod.isoformat(timespec='seconds')}</lastmod>" if entry.lastmod else ""
            lines.append(f"<url><loc>{escape(entry.loc)}</loc>{lastmod}</url>\n")
        yield "".join(lines)
    yield "</urlset>\n"


def sitemap_index_xml(files: list[str]) -> str:
    """Return a sitemap index naming the sitemap files."""
    listed = "".join(f"<sitemap><loc>{escape(file)}</loc></sitemap>\n" for file in files)
    return f'{XML_DECLARATION}<sitemapindex xmlns="{SITEMAP_NAMESPACE}">\n{listed}</sitemapindex>\n'


def _listed_products(query):
    """Narrow a query of products to those a shopper can find and buy: active, with a price (an active variant)."""
    return query.join(ProductSearch, ProductSearch.product_id == Product.id).where(
        Product.is_active == sa.true(), ProductSearch.min_price_cents.is_not(None))


def _visible_categories() -> list[Category]:
    """Return the categories shoppers may open: active, under active ancestors."""
    categories = all_categories()
    by_id = {category.id: category for category in categories}
    visible = []
    for category in categories:
        current: Category | None = category
        seen: set[int] = set()
        while current is not None and current.is_active and current.id not in seen:
            seen.add(current.id)
            current = by_id.get(current.parent_id) if current.parent_id is not None else None
        if current is None:
            visible.append(category)
    return visible


def _category_lastmods(categories: list[Category]) -> dict[int, datetime]:
    """Return when a listed product of each category's branch last changed, in one query."""
    newest = dict(db.session.execute(
        _listed_products(sa.select(Product.category_id, sa.func.max(Product.updated_at)))
        .group_by(Product.category_id)
    ).all())
    by_id = {category.id: category for category in all_categories()}
    lastmods: dict[int, datetime] = {}
    for category_id, changed in newest.items():
        if changed is None:
            continue
        seen: set[int] = set()
        current = by_id.get(category_id)
        while current is not None and current.id not in seen:  # up the branch: a parent lists its children's products
            seen.add(current.id)
            if current.id not in lastmods or lastmods[current.id] < changed:
                lastmods[current.id] = changed
            current = by_id.get(current.parent_id) if current.parent_id is not None else None
    visible_ids = {category.id for category in categories}
    return {category_id: changed for category_id, changed in lastmods.items() if category_id in visible_ids}


def _fixed_entries(build: UrlBuilder, pages: list[tuple[str, datetime | None]]) -> list[SitemapEntry]:
    """Return the sitemap's entries other than products: home, the published pages, the visible categories."""
    categories = _visible_categories()
    lastmods = _category_lastmods(categories)
    entries = [SitemapEntry(build("catalog.home"))]
    entries += [SitemapEntry(build("pages.page", slug=slug), updated_at)
                for slug, updated_at in pages]
    entries += [SitemapEntry(build("catalog.category", slug=category.slug), lastmods.get(category.id))
                for category in categories]
    return entries


def sitemap_size() -> int:
    """Return how many URLs the sitemap lists, in three queries (the pages, the category tree, a product count)."""
    products = db.session.scalar(_listed_products(sa.select(sa.func.count()).select_from(Product))) or 0
    return _fixed_count(content_pages.sitemap_pages()) + products


def sitemap_page_count(size: int) -> int:
    """Return how many sitemap files size URLs fill."""
    return max(1, -(-size // SITEMAP_LIMIT))


def sitemap_entries(page: int) -> list[SitemapEntry]:
    """Return the entries of one sitemap file (1-based): the fixed pages first, then the products by id.

    A fixed number of queries whatever the catalogue's size: the pages, the category tree, the
    categories' last changes (only for a file that lists them) and one read of the file's products.
    """
    build = url_builder()
    start = (page - 1) * SITEMAP_LIMIT
    pages = content_pages.sitemap_pages()
    fixed_count = _fixed_count(pages)
    entries = _fixed_entries(build, pages)[start:start + SITEMAP_LIMIT] if start < fixed_count else []
    wanted = SITEMAP_LIMIT - len(entries)
    if wanted <= 0:
        return entries
    rows = db.session.execute(
        _listed_products(sa.select(Product.slug, Product.updated_at))
        .order_by(Product.id)
        .offset(max(0, start - fixed_count))
        .limit(wanted)
    )
    product_url = _product_url_maker(build)
    return entries + [SitemapEntry(product_url(slug), updated_at) for slug, updated_at in rows]


def _product_url_maker(build: UrlBuilder) -> Callable[[str], str]:
    """Return a function giving a product page's absolute URL from its slug, built once and filled in.

    Routing builds a URL in a few microseconds, which 50,000 products make a tenth of a second or more.
    """
    marker = "0slug0"
    before, after = build("catalog.product", slug=marker).split(marker)
    # Slugs are lower-case letters, digits and hyphens, which need no quoting (and quote() is slow).
    return lambda slug: before + (slug if UNRESERVED.fullmatch(slug) else quote(slug, safe="")) + after


def _fixed_count(pages: list[tuple[str, datetime | None]]) -> int:
    return 1 + len(pages) + len(_visible_categories())


def disallowed_paths() -> list[str]:
    """Return the path prefixes robots.txt keeps crawlers out of: every private page, and search.

    Taken from the routes themselves (the first part of each path of the private blueprints), so
    a new account or checkout page is covered without touching robots.txt.
    """
    prefixes = set()
    for rule in current_app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if blueprint in PERSONAL_BLUEPRINTS or rule.endpoint == "catalog.search":
            first = rule.rule.lstrip("/").split("/", 1)[0]
            if first and "<" not in first:
                prefixes.add("/" + first)
    return sorted(prefixes)

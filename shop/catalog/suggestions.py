"""What the product and cart pages suggest: related products and the shopper's recently viewed ones.

The session keeps only the ids of the products viewed, newest first; names, prices and whether a
product is still sold come from the database each time, so a product switched off drops out.
"""
from collections.abc import MutableMapping

from flask import session

from shop.core import page_cache
from shop.models import Product
from shop.services import catalog
from shop.services.cart import parse_id
from shop.services.catalog import ProductCard

RECENTLY_VIEWED_KEY = "recently_viewed"
RECENTLY_VIEWED_SHOWN = 8
# One more than shown: a product page leaves itself out of its own list and still shows eight.
RECENTLY_VIEWED_KEPT = RECENTLY_VIEWED_SHOWN + 1
RELATED_SHOWN = 8


def product_page_context(product: Product) -> dict:
    """Return the product's related products for the page (the same for every visitor)."""
    related = catalog.related_products(product, RELATED_SHOWN)
    return {"related_cards": catalog.cards(related)}


@page_cache.hole("recently_viewed")
def recently_viewed(product_id: int) -> str:
    """Note the product as viewed and render the visitor's other recently viewed products."""
    others = [viewed for viewed in read_recently_viewed(session) if viewed != product_id]
    cards = catalog.cards(catalog.active_products(others[:RECENTLY_VIEWED_SHOWN])) if others else []
    remember_view(session, [product_id] + [card.product.id for card in cards])
    return page_cache.render_part("catalog/_recently_viewed.html", recently_viewed_cards=cards) if cards else ""


def recently_viewed_cards() -> list[ProductCard]:
    """Return the shopper's recently viewed products that are still sold, most recent first."""
    return catalog.cards(catalog.active_products(read_recently_viewed(session)[:RECENTLY_VIEWED_SHOWN]))


def read_recently_viewed(store: MutableMapping) -> list[int]:
    """Return the product ids in the session, most recent first, ignoring anything forged or malformed."""
    raw = store.get(RECENTLY_VIEWED_KEY)
    if not isinstance(raw, list):
        return []
    ids: list[int] = []
    for value in raw[:RECENTLY_VIEWED_KEPT]:
        product_id = parse_id(value)
        if product_id is not None and product_id not in ids:
            ids.append(product_id)
    return ids


def remember_view(store: MutableMapping, ids: list[int]) -> None:
    """Keep the given product ids, most recent first, touching the session only when the list changed."""
    kept = list(dict.fromkeys(ids))[:RECENTLY_VIEWED_KEPT]
    if store.get(RECENTLY_VIEWED_KEY) != kept:
        store[RECENTLY_VIEWED_KEY] = kept

"""What the product and cart pages suggest: related products and the shopper's recently viewed ones.

The session keeps only the ids of the products viewed, newest first; names, prices and whether a
product is still sold come from the database each time, so a product switched off drops out.
"""
from collections.abc import MutableMapping

from flask import session

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
    """Note the product as viewed and return its related and recently viewed products for the page."""
    others = [product_id for product_id in read_recently_viewed(session) if product_id != product.id]
    related = catalog.related_products(product, RELATED_SHOWN)
    recent = catalog.active_products(others[:RECENTLY_VIEWED_SHOWN])
    related_ids = {item.id for item in related}
    # One pair of card queries for both lists; a product in both is built once.
    both = related + [item for item in recent if item.id not in related_ids]
    cards = {card.product.id: card for card in catalog.cards(both)}
    recent_cards = [cards[item.id] for item in recent if item.id in cards]
    remember_view(session, [product.id] + [card.product.id for card in recent_cards])
    return {
        "related_cards": [cards[item.id] for item in related if item.id in cards],
        "recently_viewed_cards": recent_cards,
    }


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

"""Shoppers' reviews on product pages: who may write one, the form, the list."""
from shop.models import Product


def product_page_context(product: Product) -> dict:
    """Return what the product page's rating summary and reviews section need."""
    return {}

"""What the product and cart pages suggest: related products and the shopper's recently viewed ones."""
from shop.models import Product


def product_page_context(product: Product) -> dict:
    """Note the product as viewed and return its related and recently viewed products for the page."""
    return {}

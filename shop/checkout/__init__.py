"""Checkout, payment, the payment provider's webhook and the shopper's order pages."""
from flask import Blueprint

from shop.checkout.countries import format_address_lines, region_name

bp = Blueprint("checkout", __name__)
# Order pages, invoices and emails print addresses the same way.
bp.add_app_template_global(format_address_lines)
bp.add_app_template_global(region_name)

# The route modules register their views on bp.
from shop.checkout import views, webhook  # noqa: E402,F401

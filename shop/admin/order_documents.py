"""An order's printable papers: the invoice and the packing slip."""
from flask import render_template

from shop.admin import bp
from shop.core.outcomes import load_or_404
from shop.services.order_documents import letterhead
from shop.services.order_units import still_to_ship
from shop.services.orders import order_with_items


@bp.get("/orders/<id:order_id>/invoice")
def order_invoice(order_id: int):
    """Show the order's invoice, ready to print; an order not paid yet has none (404, saying so)."""
    found = load_or_404(order_with_items, order_id)
    page = render_template("admin/order_invoice.html", order=found, shop=letterhead())
    return page, 200 if found.invoice_number else 404


@bp.get("/orders/<id:order_id>/packing-slip")
def order_packing_slip(order_id: int):
    """Show what to put in the parcel and where it goes, without prices, ready to print."""
    found = load_or_404(order_with_items, order_id)
    return render_template("admin/order_packing_slip.html", order=found, to_pack=still_to_ship(found),
                           shop=letterhead())

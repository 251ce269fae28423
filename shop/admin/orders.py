"""Admin order list: search, filters, sort and pagination, and the same list as a CSV download."""
from flask import Response, render_template, request, stream_with_context

from shop.admin import bp, listing
from shop.models import OrderStatus, PaymentStatus
from shop.services import order_search
from shop.services.order_search import SORTS, OrderFilters

ORDERS_PER_PAGE = 50
STATUSES = {"": "Any status", **{status.value: status.value.capitalize() for status in OrderStatus}}
PAYMENT_STATUSES = {"": "Any payment", **{status.value: status.value.capitalize() for status in PaymentStatus}}


def _filters(shipping_methods: dict[str, str]) -> OrderFilters:
    """Read the list's filters from the query string; values that are not offered are ignored."""
    placed_from, placed_to = order_search.day_range(request.args.get("placed_from", "", type=str),
                                                    request.args.get("placed_to", "", type=str))
    return OrderFilters(
        term=listing.search_term(), status=listing.choice("status", STATUSES),
        payment_status=listing.choice("payment", PAYMENT_STATUSES), placed_from=placed_from, placed_to=placed_to,
        shipping_method=listing.choice("shipping", shipping_methods),
        needs_attention=request.args.get("attention") == "1", sort=listing.choice("sort", SORTS, "newest"),
    )


@bp.get("/orders")
def orders():
    """List orders: search by number, email or name; filter by status, payment, dates, shipping, attention; sort."""
    shipping_methods = order_search.shipping_method_choices()
    filters = _filters(shipping_methods)
    pagination = order_search.list_orders(filters, listing.page(), ORDERS_PER_PAGE)
    return render_template("admin/orders.html", pagination=pagination, filters=filters, sorts=SORTS,
                           statuses=STATUSES, payment_statuses=PAYMENT_STATUSES,
                           shipping_methods={"": "Any shipping", **shipping_methods})


@bp.get("/orders/export.csv")
def orders_export():
    """Stream the orders the list's filters match as a CSV download."""
    filters = _filters(order_search.shipping_method_choices())
    response = Response(stream_with_context(order_search.export_chunks(filters)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={order_search.export_filename()}"
    return response

"""Admin order list: search, filters, sort and pagination."""
from flask import render_template, request

from shop.admin import bp, listing
from shop.models import OrderStatus
from shop.services.orders import ORDER_SORTS, all_orders

ORDERS_PER_PAGE = 50


@bp.get("/orders")
def orders():
    """List orders: search by number or email, filter by status or ?attention=1, sort."""
    attention = request.args.get("attention") == "1"
    term = listing.search_term()
    status = listing.choice("status", tuple(OrderStatus))
    sort = listing.choice("sort", ORDER_SORTS, "newest")
    pagination = all_orders(listing.page(), ORDERS_PER_PAGE, needs_attention=attention, term=term, status=status,
                            sort=sort)
    return render_template("admin/orders.html", pagination=pagination, attention=attention, term=term,
                           status=status, sort=sort, sorts=ORDER_SORTS,
                           statuses={"": "Any status", **{value: value.title() for value in OrderStatus}})

"""One order in the back office, and what an admin can do to it."""
from flask import flash, redirect, render_template, url_for

from shop.admin import bp
from shop.core.outcomes import flash_refusals, load_or_404
from shop.services.orders import fulfil_order, order_with_items, stock_movements
from shop.services.payments import refund_order


@bp.get("/orders/<id:order_id>")
def order(order_id: int):
    """Show one order with its items and stock movements."""
    found = load_or_404(order_with_items, order_id)
    return render_template("admin/orders_detail.html", order=found, movements=stock_movements(order_id))


@bp.post("/orders/<id:order_id>/refund")
def refund(order_id: int):
    """Refund the order's payment and put what it took back in stock."""
    with flash_refusals():
        changed = refund_order(order_id)
        flash("The order was refunded and its stock returned." if changed else "The order was already refunded.",
              "success" if changed else "info")
    return redirect(url_for("admin.order", order_id=order_id))


@bp.post("/orders/<id:order_id>/fulfil")
def fulfil(order_id: int):
    """Mark a paid order as shipped."""
    with flash_refusals():
        changed = fulfil_order(order_id)
        flash("The order is marked as shipped." if changed else "The order was already shipped.",
              "success" if changed else "info")
    return redirect(url_for("admin.order", order_id=order_id))

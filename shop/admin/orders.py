"""Admin order pages: the list with a needs-attention filter, one order, refund and fulfil."""
import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from sqlalchemy.orm import selectinload

from shop.admin.views import bp
from shop.core.params import page_number
from shop.extensions import db
from shop.models import Order, StockMovement
from shop.services import ShopError
from shop.services.orders import fulfil_order
from shop.services.payments import refund_order

ORDERS_PER_PAGE = 50


@bp.get("/orders")
def orders():
    """List orders, newest first; ?attention=1 shows only those that need a person."""
    attention = request.args.get("attention") == "1"
    page = page_number()
    query = sa.select(Order).order_by(Order.created_at.desc(), Order.id.desc())
    if attention:
        query = query.where(Order.needs_attention.is_(True))
    pagination = db.paginate(query, page=page, per_page=ORDERS_PER_PAGE, error_out=False)
    return render_template("admin/orders.html", pagination=pagination, attention=attention)


@bp.get("/orders/<int(max=2147483647):order_id>")
def order(order_id: int):
    """Show one order with its items and stock movements."""
    found = db.first_or_404(sa.select(Order).where(Order.id == order_id).options(selectinload(Order.items)))
    movements = db.session.scalars(
        sa.select(StockMovement).where(StockMovement.order_id == order_id).order_by(StockMovement.id)
    ).all()
    return render_template("admin/orders_detail.html", order=found, movements=movements)


@bp.post("/orders/<int(max=2147483647):order_id>/refund")
def refund(order_id: int):
    """Refund the order's payment and put what it took back in stock."""
    db.get_or_404(Order, order_id)
    try:
        changed = refund_order(order_id)
    except ShopError as error:
        flash(str(error), "error")
    else:
        flash("The order was refunded and its stock returned." if changed else "The order was already refunded.",
              "success" if changed else "info")
    return redirect(url_for("admin.order", order_id=order_id))


@bp.post("/orders/<int(max=2147483647):order_id>/fulfil")
def fulfil(order_id: int):
    """Mark a paid order as shipped."""
    db.get_or_404(Order, order_id)
    try:
        changed = fulfil_order(order_id)
    except ShopError as error:
        flash(str(error), "error")
    else:
        flash("The order is marked as shipped." if changed else "The order was already shipped.",
              "success" if changed else "info")
    return redirect(url_for("admin.order", order_id=order_id))

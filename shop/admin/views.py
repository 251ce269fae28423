"""The admin landing page (the gate is shop/admin/permissions.py)."""
from flask import render_template

from shop.admin import bp
from shop.services.admin_overview import low_stock_threshold, overview


@bp.get("/")
def index():
    """Show money taken over three periods, the orders and stock that need a person, and the latest orders."""
    return render_template("admin/index.html", overview=overview(), threshold=low_stock_threshold())

"""The admin landing page (the gate is shop/admin/permissions.py)."""
from flask import render_template

from shop.admin import bp
from shop.services.admin_overview import low_stock_threshold, overview


@bp.get("/")
def index():
    """Show today's orders, what needs a person, and what is running out."""
    return render_template("admin/index.html", overview=overview(), threshold=low_stock_threshold())


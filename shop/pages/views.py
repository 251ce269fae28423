"""One view per information page; the templates hold the words."""
from flask import render_template

from shop.pages import bp
from shop.services.checkout import active_shipping_methods


@bp.get("/shipping-returns")
def shipping_returns():
    """Show the shipping methods and their prices, and how returns work."""
    return render_template("pages/shipping_returns.html", shipping_methods=active_shipping_methods())


@bp.get("/privacy")
def privacy():
    """Say what the shop keeps about a shopper, why, and for how long."""
    return render_template("pages/privacy.html")


@bp.get("/terms")
def terms():
    """Show the terms of sale."""
    return render_template("pages/terms.html")


@bp.get("/contact")
def contact():
    """Show how to reach the shop."""
    return render_template("pages/contact.html")

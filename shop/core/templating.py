"""Template filters and the values every page needs."""
from flask import Flask, current_app, has_request_context, request, session
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from shop.checkout.countries import country_name, format_address_lines, region_name
from shop.core import page_cache
from shop.extensions import db
from shop.models import MONEY_TAKEN, Order, OrderStatus, PaymentStatus
from shop.money import format_money
from shop.services import store_settings
from shop.services.order_documents import letterhead
from shop.services.rich_text import render_markdown

FLASHES_KEY = "_flashes"


def order_status_label(order: Order) -> str:
    """Describe an order's state in the shopper's words."""
    if order.status == OrderStatus.PENDING:
        return "Payment processing" if order.payment_status == PaymentStatus.PROCESSING else "Awaiting payment"
    label = {
        OrderStatus.PAID: "Paid", OrderStatus.SHIPPED: "Shipped", OrderStatus.DELIVERED: "Delivered",
        OrderStatus.EXPIRED: "Expired (not paid)",
        OrderStatus.CANCELLED: "Payment failed" if order.payment_status == PaymentStatus.FAILED else "Cancelled",
    }.get(order.status, str(order.status))
    if order.payment_status == PaymentStatus.REFUNDED:
        return f"{label}, refunded" if order.status != OrderStatus.CANCELLED else "Cancelled and refunded"
    if order.payment_status == PaymentStatus.PARTIALLY_REFUNDED:
        return f"{label}, partly refunded"
    return label


def ship_address_lines(order: Order) -> list[str]:
    """Return the lines of the address an order goes to, as the destination's post writes them."""
    return format_address_lines(order.ship_name, order.ship_line1, order.ship_line2, order.ship_city,
                                order.ship_region, order.ship_postal_code, order.ship_country)


def register(app: Flask) -> None:
    """Add the money, order-status and markdown filters, the status enums, country names, header and footer values."""
    # Order pages, invoices and emails print addresses the same way.
    app.jinja_env.globals.update(OrderStatus=OrderStatus, PaymentStatus=PaymentStatus, MONEY_TAKEN=MONEY_TAKEN,
                                 country_name=country_name, region_name=region_name,
                                 format_address_lines=format_address_lines, ship_address_lines=ship_address_lines)
    app.add_template_filter(order_status_label, "order_status")
    page_cache.register(app)
    app.add_template_filter(render_markdown, "markdown")

    @app.template_filter("money")
    def money_filter(cents: int | None, currency: str | None = None) -> str:
        return format_money(cents, currency or current_app.config["CURRENCY"])

    # A logged-out visitor's links differ only by the cart count (and the path the shop is served
    # under), so each variant is rendered once per process.
    logged_out_links: dict[tuple[str, int], str] = {}

    @page_cache.hole("account_links")
    def account_links() -> str:
        from shop.services.cart import item_count

        count = item_count(session)
        if current_user.is_authenticated:
            return page_cache.render_part("personal/account_links.html", cart_count=count)
        key = (request.script_root, count)
        if key not in logged_out_links:
            logged_out_links[key] = page_cache.render_part("personal/account_links.html", cart_count=count)
        return logged_out_links[key]

    @page_cache.hole("flashes")
    def flashes() -> str:
        if FLASHES_KEY not in session:  # what get_flashed_messages reads; most requests have none
            return ""
        return page_cache.render_part("personal/flashes.html")

    @app.context_processor
    def header_context():
        from shop.services.catalog import top_categories

        config = current_app.config
        shop_details = {
            "shop_name": store_settings.get("shop_name"),
            "shop_contact_email": store_settings.get("contact_email"),
            "shop_address_lines": letterhead().address_lines,
            "card_payments_by_stripe": bool(config["STRIPE_SECRET_KEY"]),
        }
        if not has_request_context():
            # An email rendered by a command (reconcile-payments) or a worker has no header, only a footer.
            return shop_details
        try:
            categories = top_categories()
        except SQLAlchemyError:
            # Error pages must still render when the database is what failed.
            db.session.rollback()
            categories = []
        return {
            **shop_details,
            "nav_categories": categories,
        }

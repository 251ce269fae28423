"""Template filters and the values every page needs."""
from flask import Flask, current_app, has_request_context, session
from sqlalchemy.exc import SQLAlchemyError

from shop.extensions import db
from shop.models import OrderStatus, PaymentStatus

from shop.money import format_money


def register(app: Flask) -> None:
    """Add the money filter and header context to Jinja."""

    app.jinja_env.globals.update(OrderStatus=OrderStatus, PaymentStatus=PaymentStatus)

    @app.template_filter("money")
    def money_filter(cents: int | None, currency: str | None = None) -> str:
        return format_money(cents, currency or current_app.config["CURRENCY"])

    @app.context_processor
    def header_context():
        from shop.services.catalog import top_categories
        from shop.services.cart import item_count

        if not has_request_context():
            # An email rendered by a command (reconcile-payments) or a worker has no header.
            return {"shop_name": current_app.config["SHOP_NAME"]}
        try:
            categories = top_categories()
        except SQLAlchemyError:
            # Error pages must still render when the database is what failed.
            db.session.rollback()
            categories = []
        return {
            "shop_name": current_app.config["SHOP_NAME"],
            "nav_categories": categories,
            "cart_count": item_count(session),
        }

"""Download my data: what the shop keeps about one account, as a JSON document the shopper can take away."""
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from shop.extensions import db
from shop.models import Address, Order, Product, ProductVariant, Review, SavedItem, User, WishlistItem
from shop.models.base import now_utc
from shop.services import NotFound

FORMAT_VERSION = 1


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def export(user_id: int) -> dict[str, Any]:
    """Return the account's profile, addresses, orders with items, reviews, wishlist and saved items.

    At most seven queries whatever the account holds. Only the account's own orders are included: guest
    orders under the same email join the account once the email is confirmed.
    """
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("That account does not exist.")
    addresses = db.session.scalars(sa.select(Address).where(Address.user_id == user_id).order_by(Address.id))
    orders = db.session.scalars(
        sa.select(Order).where(Order.user_id == user_id).options(selectinload(Order.items))
        .order_by(Order.created_at, Order.id)
    )
    reviews = db.session.execute(
        sa.select(Review, Product.name).join(Product, Product.id == Review.product_id)
        .where(Review.user_id == user_id).order_by(Review.created_at, Review.id)
    )
    wishlist = db.session.execute(
        sa.select(WishlistItem.created_at, Product.name, Product.slug)
        .join(Product, Product.id == WishlistItem.product_id)
        .where(WishlistItem.user_id == user_id).order_by(WishlistItem.created_at, WishlistItem.id)
    )
    saved = db.session.execute(
        sa.select(SavedItem.quantity, SavedItem.created_at, ProductVariant.sku, Product.name)
        .join(ProductVariant, ProductVariant.id == SavedItem.variant_id)
        .join(Product, Product.id == ProductVariant.product_id)
        .where(SavedItem.user_id == user_id).order_by(SavedItem.created_at, SavedItem.id)
    )
    return {
        "format_version": FORMAT_VERSION,
        "exported_at": now_utc().isoformat(),
        "profile": {
            "name": user.name, "email": user.email, "role": user.role,
            "created_at": _when(user.created_at), "email_confirmed_at": _when(user.email_confirmed_at),
            "password_changed_at": _when(user.password_changed_at),
        },
        "addresses": [_address(address) for address in addresses],
        "orders": [_order(order) for order in orders],
        "reviews": [
            {"product": product_name, "rating": review.rating, "title": review.title, "body": review.body,
             "author_name": review.author_name, "hidden_by_the_shop": review.is_hidden,
             "created_at": _when(review.created_at), "updated_at": _when(review.updated_at)}
            for review, product_name in reviews
        ],
        "wishlist": [{"product": row.name, "slug": row.slug, "added_at": _when(row.created_at)} for row in wishlist],
        "saved_for_later": [{"product": row.name, "sku": row.sku, "quantity": row.quantity,
                             "saved_at": _when(row.created_at)} for row in saved],
    }


def _address(address: Address) -> dict[str, Any]:
    return {
        "full_name": address.full_name, "line1": address.line1, "line2": address.line2, "city": address.city,
        "region": address.region, "postal_code": address.postal_code, "country": address.country,
        "phone": address.phone, "is_default": address.is_default,
    }


def _order(order: Order) -> dict[str, Any]:
    return {
        "number": order.number, "email": order.email, "status": str(order.status),
        "payment_status": str(order.payment_status), "currency": order.currency,
        "subtotal_cents": order.subtotal_cents, "shipping_cents": order.shipping_cents,
        "discount_cents": order.discount_cents, "tax_cents": order.tax_cents, "tax_label": order.tax_label,
        "tax_included": order.tax_included, "total_cents": order.total_cents,
        "refunded_cents": order.refunded_cents, "coupon_code": order.coupon_code,
        "shipping_method": order.shipping_method_name,
        "ship_to": {
            "name": order.ship_name, "line1": order.ship_line1, "line2": order.ship_line2, "city": order.ship_city,
            "region": order.ship_region, "postal_code": order.ship_postal_code, "country": order.ship_country,
            "phone": order.ship_phone,
        },
        "reminder_consent": order.recovery_consent,
        "placed_at": _when(order.created_at), "paid_at": _when(order.paid_at),
        "shipped_at": _when(order.shipped_at), "delivered_at": _when(order.delivered_at),
        "cancelled_at": _when(order.cancelled_at),
        "items": [
            {"product": item.product_name, "variant": item.variant_name, "sku": item.sku,
             "unit_price_cents": item.unit_price_cents, "quantity": item.quantity}
            for item in order.items
        ],
    }

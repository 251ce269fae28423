"""Every mapped model, imported so metadata and migrations see them all."""
from shop.models.catalog import Brand, Category, Product, ProductImage, ProductVariant
from shop.models.commerce import Coupon, CouponKind, ShippingMethod, TaxRate
from shop.models.inventory import StockMovement, StockReason
from shop.models.lists import SavedItem, WishlistItem
from shop.models.order import Order, OrderItem, OrderStatus, PaymentStatus
from shop.models.outbox import OutboxEmail
from shop.models.payment import PaymentEvent
from shop.models.user import Address, User, UserSession

__all__ = [
    "Address", "Brand", "Category", "Coupon", "CouponKind", "Order", "OrderItem", "OrderStatus",
    "OutboxEmail", "PaymentEvent", "PaymentStatus", "Product", "ProductImage", "ProductVariant",
    "SavedItem", "ShippingMethod", "StockMovement", "StockReason", "TaxRate", "User", "UserSession", "WishlistItem",
]

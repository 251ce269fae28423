"""Every mapped model, imported so metadata and migrations see them all."""
from shop.models.audit import AuditRecord
from shop.models.catalog import (
    Brand,
    Category,
    Product,
    ProductImage,
    ProductOption,
    ProductOptionValue,
    ProductSlugRedirect,
    ProductSpecification,
    ProductVariant,
)
from shop.models.commerce import (
    Coupon,
    CouponKind,
    ShippingMethod,
    ShippingZone,
    TaxRate,
    coupon_categories,
    coupon_products,
)
from shop.models.inventory import ADJUSTMENT_REASONS, StockMovement, StockReason
from shop.models.lists import CartLine, SavedItem, WishlistItem
from shop.models.order import (
    MONEY_TAKEN,
    OPEN_REFUND_STATUSES,
    ActorKind,
    Counter,
    Order,
    OrderEvent,
    OrderEventKind,
    OrderItem,
    OrderStatus,
    PaymentStatus,
    Refund,
    RefundItem,
    RefundStatus,
    Shipment,
    ShipmentItem,
)
from shop.models.outbox import OutboxEmail
from shop.models.payment import PaymentEvent
from shop.models.review import Review
from shop.models.search import ProductFacetValue, ProductSearch, SearchWord
from shop.models.store import ContentPage, EmailOptOut, StoreSetting
from shop.models.user import Address, Role, User, UserSession

__all__ = [
    "MONEY_TAKEN", "OPEN_REFUND_STATUSES", "ActorKind", "Counter", "OrderEvent", "OrderEventKind", "Refund",
    "RefundItem", "RefundStatus", "Shipment", "ShipmentItem",
    "ADJUSTMENT_REASONS", "Address", "AuditRecord", "Brand", "Category", "Coupon", "CouponKind", "Order",
    "OrderItem", "OrderStatus",
    "OutboxEmail", "PaymentEvent", "PaymentStatus", "Product", "ProductImage",
    "ProductOption", "ProductOptionValue", "ProductSlugRedirect", "ProductSpecification", "ProductVariant",
    "CartLine", "ProductFacetValue", "ProductSearch", "Review", "SavedItem", "SearchWord",
    "ShippingMethod", "StockMovement", "StockReason", "TaxRate", "User", "UserSession",
    "WishlistItem", "ContentPage", "EmailOptOut", "Role", "ShippingZone", "StoreSetting", "coupon_categories",
    "coupon_products",
]

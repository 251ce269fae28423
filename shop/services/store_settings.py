"""Store settings the owner edits in the admin, each defaulting to its SHOP_* configuration value."""
from dataclasses import dataclass
from typing import Any

from flask import current_app

from shop.models import User


@dataclass(frozen=True)
class Setting:
    name: str
    config_key: str  # the SHOP_* setting (without the prefix) that gives the default
    label: str
    kind: str  # "text", "email", "emails", "address", "int", "money", "bool"


SETTINGS = (
    Setting("shop_name", "SHOP_NAME", "Shop name", "text"),
    Setting("contact_email", "CONTACT_EMAIL", "Contact email", "email"),
    Setting("address", "ADDRESS", "Postal address", "address"),
    Setting("order_notify_emails", "ORDER_NOTIFY_EMAILS", "Order notification emails", "emails"),
    Setting("low_stock_threshold", "LOW_STOCK_THRESHOLD", "Low-stock threshold", "int"),
    Setting("reservation_minutes", "RESERVATION_MINUTES", "Minutes an unpaid order holds its stock", "int"),
    Setting("low_stock_notify_emails", "LOW_STOCK_NOTIFY_EMAILS", "Low-stock notification emails", "emails"),
    Setting("low_stock_digest", "LOW_STOCK_DIGEST", "Send a daily low-stock digest", "bool"),
    Setting("prices_include_tax", "PRICES_INCLUDE_TAX", "Prices are entered including tax", "bool"),
    Setting("tax_shipping", "TAX_SHIPPING", "Shipping is taxed", "bool"),
    Setting("staff_refund_limit_cents", "STAFF_REFUND_LIMIT_CENTS", "Largest refund staff may give", "money"),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}


def get(name: str) -> Any:
    """Return a store setting's current value: the owner's, else its SHOP_* default."""
    return current_app.config[BY_NAME[name].config_key]


def save(actor: User, changes: dict[str, Any]) -> dict[str, list[Any]]:
    """Store the owner's values for some settings, audited; return {name: [before, after]} of what changed."""
    raise NotImplementedError("store settings are being built")

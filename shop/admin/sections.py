"""The admin navigation: its sections, and which one the current page belongs to."""
from dataclasses import dataclass

from flask import Flask, current_app, has_request_context, request
from flask_login import current_user

from shop.admin.permissions import may_open


@dataclass(frozen=True)
class Section:
    name: str
    label: str
    endpoint: str
    modules: tuple[str, ...]  # the shop.admin route modules whose pages belong to it


SECTIONS = (
    Section("dashboard", "Dashboard", "admin.index", ("views",)),
    Section("reports", "Reports", "admin.reports", ("reports",)),
    Section("orders", "Orders", "admin.orders", ("orders", "order_detail", "order_documents")),
    Section("customers", "Customers", "admin.customers", ("customers",)),
    Section("products", "Products", "admin.products", ("products", "images")),
    Section("categories", "Categories", "admin.categories", ("categories",)),
    Section("brands", "Brands", "admin.brands", ("brands",)),
    Section("inventory", "Inventory", "admin.inventory", ("inventory",)),
    Section("reviews", "Reviews", "admin.reviews", ("reviews",)),
    Section("transfer", "Import/Export", "admin.catalogue_transfer", ("transfer",)),
    Section("coupons", "Coupons", "admin.coupons", ("coupons",)),
    Section("shipping", "Shipping & tax", "admin.shipping_methods", ("shipping", "taxes")),
    Section("content", "Pages", "admin.content_pages", ("content_pages",)),
    Section("settings", "Settings", "admin.settings", ("settings",)),
    Section("audit", "Audit log", "admin.audit_log", ("audit_log",)),
)


def current_section() -> str | None:
    """Return the name of the section the requested admin page belongs to."""
    view = current_app.view_functions.get(request.endpoint or "")
    module = getattr(view, "__module__", "").rpartition(".")[2]
    return next((section.name for section in SECTIONS if module in section.modules), None)


def register(app: Flask) -> None:
    """Give admin templates the sections the admin may open, the current one, and a test for any page."""

    @app.context_processor
    def admin_navigation():
        # Emails rendered by the outbox thread or a command have no request.
        if not has_request_context() or not (request.blueprint or "").startswith("admin"):
            return {}
        sections = [section for section in SECTIONS if section.endpoint in current_app.view_functions
                    and may_open(current_user, section.endpoint)]
        return {"admin_sections": sections, "admin_current_section": current_section(),
                "admin_may_open": lambda endpoint: may_open(current_user, endpoint)}

"""The audit log's read side: every admin change, newest first, filtered and paged, each linked to its object.

Records are only ever added (shop.services.audit, in the transaction of the change they describe);
nothing here or anywhere in the admin edits or deletes one.
"""
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from shop.extensions import db
from shop.models import (
    AuditRecord,
    Brand,
    Category,
    ContentPage,
    Coupon,
    Order,
    Product,
    ProductImage,
    ProductVariant,
    Review,
    Role,
    ShippingMethod,
    TaxRate,
    User,
    lengths,
)
from shop.money import format_money
from shop.services.catalog import Page, contains_pattern


def _own_id(model) -> Callable[[], Any]:
    """Return a builder of the subquery giving the record's object id while that row exists."""
    return lambda: sa.select(model.id).where(model.id == AuditRecord.entity_id).scalar_subquery()


@dataclass(frozen=True)
class ObjectKind:
    """A kind of object the audit log names, and the admin page that shows one (if any)."""

    label: str
    endpoint: str | None = None
    param: str | None = None  # the endpoint's URL parameter; None when the page shows every object of the kind
    target: Callable[[], Any] | None = None  # the parameter's value while the object exists, NULL once it is gone
    anchor: str | None = None


OBJECT_KINDS: dict[str, ObjectKind] = {
    "order": ObjectKind("Order", "admin.order", "order_id", _own_id(Order)),
    "product": ObjectKind("Product", "admin.product_edit", "product_id", _own_id(Product)),
    "product_variant": ObjectKind("Variant", "admin.inventory_history", "variant_id", _own_id(ProductVariant)),
    "product_image": ObjectKind("Product photo", "admin.product_images", "product_id", lambda: sa.select(
        ProductImage.product_id).where(ProductImage.id == AuditRecord.entity_id).scalar_subquery()),
    "category": ObjectKind("Category", "admin.category_edit", "category_id", _own_id(Category)),
    "brand": ObjectKind("Brand", "admin.brand_edit", "brand_id", _own_id(Brand)),
    # Reviews have no admin page of their own: the product's page shows them.
    "review": ObjectKind("Review", "catalog.product", "slug", lambda: sa.select(Product.slug).join(
        Review, Review.product_id == Product.id).where(Review.id == AuditRecord.entity_id).scalar_subquery(),
        anchor="reviews"),
    "user": ObjectKind("Customer", "admin.customer", "user_id", _own_id(User)),
    "coupon": ObjectKind("Coupon", "admin.coupon_edit", "coupon_id", _own_id(Coupon)),
    "shipping_method": ObjectKind("Shipping method", "admin.shipping_method_edit", "method_id",
                                  _own_id(ShippingMethod)),
    "tax_rate": ObjectKind("Tax rate", "admin.tax_rate_edit", "rate_id", _own_id(TaxRate)),
    "content_page": ObjectKind("Page", "admin.content_page_edit", "page_id", _own_id(ContentPage)),
    "store_settings": ObjectKind("Store settings", "admin.settings"),
}


@dataclass(frozen=True)
class AuditFilters:
    person: str = ""  # part of the acting admin's email
    object_type: str = ""
    since: date | None = None
    until: date | None = None  # inclusive: the whole day, in UTC

    @property
    def active(self) -> bool:
        return bool(self.person or self.object_type or self.since or self.until)


@dataclass(frozen=True)
class Change:
    """One field of a record's before/after, each side in words; `paired` is False for a lone value."""

    name: str
    before: str
    after: str
    paired: bool = True


@dataclass(frozen=True)
class AuditEntry:
    record: AuditRecord
    kind_label: str
    link: tuple[str, dict[str, Any]] | None  # (endpoint, URL values) while the object still exists
    changes: list[Change] = field(default_factory=list)


def object_types() -> dict[str, str]:
    """Return the object types the log can be filtered by, type -> label."""
    return {name: kind.label for name, kind in OBJECT_KINDS.items()}


def valid_object_type(text: str) -> str:
    """Return the type if it could name objects in the log (known or not, records keep any), else ""."""
    text = text.strip()
    if len(text) <= lengths.ENTITY_TYPE and text.replace("_", "").isascii() and text.replace("_", "").isalpha():
        return text.lower()
    return ""


def admin_emails() -> list[str]:
    """Return the emails of today's staff and owners, to suggest in the person filter."""
    return list(db.session.scalars(
        sa.select(User.email).where(User.role.in_([Role.STAFF, Role.OWNER])).order_by(User.email)))


def _conditions(filters: AuditFilters) -> list[Any]:
    conditions: list[Any] = []
    if filters.person:
        conditions.append(AuditRecord.actor_email.ilike(contains_pattern(filters.person.lower()), escape="\\"))
    if filters.object_type:
        conditions.append(AuditRecord.entity_type == filters.object_type)
    if filters.since:
        conditions.append(AuditRecord.created_at >= datetime.combine(filters.since, time(), UTC))
    if filters.until and filters.until < date.max:
        conditions.append(AuditRecord.created_at < datetime.combine(filters.until + timedelta(days=1), time(), UTC))
    return conditions


def _link_target() -> Any:
    """Return a CASE giving, per record, its object's URL value while the object exists (NULL when gone)."""
    pages = current_app.view_functions
    whens = [(AuditRecord.entity_type == name, sa.cast(kind.target(), sa.String))
             for name, kind in OBJECT_KINDS.items() if kind.target is not None and kind.endpoint in pages]
    return sa.case(*whens, else_=sa.null()) if whens else sa.null()


def audit_entries(filters: AuditFilters, page: int, per_page: int) -> Page:
    """Return a page of audit records, newest first, as AuditEntries; two statements whatever the log's size."""
    condition = sa.and_(sa.true(), *_conditions(filters))
    total = db.session.scalar(sa.select(sa.func.count(AuditRecord.id)).where(condition)) or 0
    rows = db.session.execute(
        sa.select(AuditRecord, _link_target().label("link_value")).where(condition)
        .order_by(AuditRecord.created_at.desc(), AuditRecord.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    currency = current_app.config["CURRENCY"]
    return Page([_entry(record, link_value, currency) for record, link_value in rows], page, per_page, total)


def _entry(record: AuditRecord, link_value: str | None, currency: str) -> AuditEntry:
    kind = OBJECT_KINDS.get(record.entity_type)
    label = kind.label if kind else record.entity_type.replace("_", " ").capitalize()
    return AuditEntry(record, label, _link(kind, record, link_value), _changes(record.changes, currency))


def _link(kind: ObjectKind | None, record: AuditRecord, value: str | None) -> tuple[str, dict[str, Any]] | None:
    if kind is None or kind.endpoint is None or kind.endpoint not in current_app.view_functions:
        return None
    values: dict[str, Any] = {"_anchor": kind.anchor} if kind.anchor else {}
    if kind.param is None:
        return kind.endpoint, values
    if value is None:
        return None  # the object is gone
    return kind.endpoint, {kind.param: value, **values}


def _changes(changes: Any, currency: str) -> list[Change]:
    if not isinstance(changes, dict):
        return [Change("", "", _words("changes", changes, currency), paired=False)] if changes else []
    found = []
    for name, value in changes.items():
        if isinstance(value, list) and len(value) == 2:
            found.append(Change(_field_label(name), _words(name, value[0], currency),
                                _words(name, value[1], currency)))
        else:
            found.append(Change(_field_label(name), "", _words(name, value, currency), paired=False))
    return found


def _field_label(name: str) -> str:
    """Return a field's name as words: "price_cents" -> "price", "TEE-M.price_cents" -> "TEE-M price"."""
    owner, _, field_name = str(name).rpartition(".")
    words = field_name.removesuffix("_cents").replace("_", " ")
    return f"{owner} {words}" if owner else words


def _words(name: str, value: Any, currency: str) -> str:
    """Return a recorded value in words; amounts in cents (a field named *_cents) as money."""
    if value is None or value == "":
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and str(name).endswith("cents"):
        return format_money(value, currency)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)

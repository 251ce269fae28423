"""Inventory: the stock list, an admin's stock adjustments, and each variant's ledger."""
from dataclasses import dataclass

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import contains_eager, joinedload

from shop.database import write_transaction
from shop.extensions import db
from shop.models import Order, Product, ProductVariant, StockMovement, StockReason, User
from shop.models.inventory import ADJUSTMENT_REASONS
from shop.services import NotFound, ShopError
from shop.services.admin_overview import low_stock_threshold
from shop.services.audit import record
from shop.text import storable

# The most one variant may hold, and so the largest single change: far above any real shelf, and far
# below what the 32-bit stock column overflows at.
MAX_STOCK = 1_000_000
NOTE_LENGTH = 500

# What the ledger's reasons mean, in the words an admin reads.
REASON_WORDS = {
    StockReason.RESERVE: "Sale reservation",
    StockReason.LATE_SALE: "Late sale",
    StockReason.CANCELLED: "Cancelled",
    StockReason.EXPIRED: "Expired",
    StockReason.PAYMENT_FAILED: "Payment failed",
    StockReason.REFUND: "Refund",
    StockReason.RECEIVED: "Received",
    StockReason.DAMAGED: "Damaged",
    StockReason.RECOUNT: "Recount",
    StockReason.OTHER: "Other",
    StockReason.IMPORT: "Import",
}

STOCK_LEVELS = {"": "Any stock", "low": "Low stock", "out": "Out of stock"}
STATUSES = {"": "Any status", "active": "On sale", "inactive": "Not on sale"}
SORTS = {"stock": "Stock, lowest first", "sku": "SKU", "product": "Product name"}


@dataclass(frozen=True)
class InventoryFilters:
    term: str = ""  # part of a SKU or a product name
    stock: str = ""  # a key of STOCK_LEVELS
    status: str = ""  # a key of STATUSES
    sort: str = "stock"  # a key of SORTS


def list_variants(filters: InventoryFilters, page: int, per_page: int) -> Pagination:
    """Return one page of variants with their products, filtered and sorted: two queries whatever the page size."""
    on_sale = sa.and_(Product.is_active.is_(True), ProductVariant.is_active.is_(True))
    query = sa.select(ProductVariant).join(ProductVariant.product).options(contains_eager(ProductVariant.product))
    if filters.term:
        query = query.where(sa.or_(ProductVariant.sku.icontains(filters.term, autoescape=True),
                                   Product.name.icontains(filters.term, autoescape=True)))
    if filters.stock == "low":
        query = query.where(ProductVariant.stock.between(1, low_stock_threshold()))
    elif filters.stock == "out":
        query = query.where(ProductVariant.stock <= 0)
    if filters.status == "active":
        query = query.where(on_sale)
    elif filters.status == "inactive":
        query = query.where(sa.not_(on_sale))
    order = {
        "sku": (ProductVariant.sku,),
        "product": (Product.name, Product.id, ProductVariant.position),
    }.get(filters.sort, (ProductVariant.stock, ProductVariant.sku))
    return db.paginate(query.order_by(*order, ProductVariant.id), page=page, per_page=per_page, error_out=False)


def find_variant(variant_id: int) -> ProductVariant | None:
    """Return the variant with its product, as the database has it now."""
    return db.session.scalar(
        sa.select(ProductVariant).where(ProductVariant.id == variant_id).options(joinedload(ProductVariant.product))
        .execution_options(populate_existing=True)
    )


@dataclass(frozen=True)
class Adjustment:
    """What an adjustment did: the variant's stock before and after."""

    sku: str
    before: int
    after: int
    reason: StockReason

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def describe(self) -> str:
        if not self.changed:
            return f"Stock of {self.sku} is already {self.after}: nothing was changed or recorded."
        return f"Stock of {self.sku}: {self.before} → {self.after} ({REASON_WORDS[self.reason].lower()})."


def adjust_stock(actor: User, variant_id: int, reason: StockReason, note: str = "", *,
                 delta: int | None = None, set_to: int | None = None) -> Adjustment:
    """Add `delta` to a variant's stock, or set it to `set_to`, recording the movement and an audit record.

    The change is a conditional UPDATE, as a sale's is, so a checkout running at the same moment can
    never be driven below zero: removing more than is left is refused. Setting the count reads the
    stock under the write lock. A set that changes nothing records nothing.
    """
    note = _checked_note(reason, note)
    if (delta is None) == (set_to is None):
        raise ValueError("give exactly one of delta and set_to")
    if delta is not None and not (0 < abs(delta) <= MAX_STOCK):
        raise ShopError(f"The change must be a whole number from -{MAX_STOCK:,} to {MAX_STOCK:,}, and not 0.")
    if set_to is not None and not (0 <= set_to <= MAX_STOCK):
        raise ShopError(f"The stock can be set to a whole number from 0 to {MAX_STOCK:,}.")
    with write_transaction():
        if set_to is not None:
            sku, before = _locked_stock(variant_id)
            delta = set_to - before
            if delta == 0:
                return Adjustment(sku=sku, before=before, after=before, reason=reason)
        assert delta is not None
        changed = db.session.execute(
            sa.update(ProductVariant)
            .where(ProductVariant.id == variant_id, *_room_for(delta))
            .values(stock=ProductVariant.stock + delta)
            .returning(ProductVariant.sku, ProductVariant.stock)
            .execution_options(synchronize_session=False)
        ).one_or_none()
        if changed is None:
            raise ShopError(_refusal(variant_id, delta))
        sku, after = changed
        adjustment = Adjustment(sku=sku, before=after - delta, after=after, reason=reason)
        db.session.add(StockMovement(variant_id=variant_id, delta=delta, reason=reason, actor_id=actor.id, note=note))
        summary = adjustment.describe().removesuffix(".") + (f": {note}" if note else "")
        record(actor, "stock.adjust", "product_variant", variant_id, summary,
               {"stock": [adjustment.before, adjustment.after]})
    return adjustment


def _checked_note(reason: StockReason, note: str) -> str:
    if reason not in ADJUSTMENT_REASONS:
        raise ShopError("Choose why the stock changed: received, damaged, recount or other.")
    note = note.strip()
    if reason == StockReason.OTHER and not note:
        raise ShopError("Say in a note why the stock changed when the reason is “other”.")
    if len(note) > NOTE_LENGTH:
        raise ShopError(f"The note can be at most {NOTE_LENGTH} characters long.")
    if not storable(note):
        raise ShopError("The note contains characters we cannot store.")
    return note


def _locked_stock(variant_id: int) -> tuple[str, int]:
    """Read the variant's SKU and stock, locking its row until the transaction ends (SQLite's lock is already held)."""
    found = db.session.execute(
        sa.select(ProductVariant.sku, ProductVariant.stock).where(ProductVariant.id == variant_id).with_for_update()
    ).one_or_none()
    if found is None:
        raise NotFound("That variant does not exist.")
    return found.sku, found.stock


def _room_for(delta: int) -> list[sa.ColumnElement[bool]]:
    # Written as bounds on the stock rather than "stock + delta >= 0": the same test, but the sum
    # is never computed, so it cannot overflow the column's integer type.
    if delta < 0:
        return [ProductVariant.stock >= -delta]
    return [ProductVariant.stock <= MAX_STOCK - delta]


def _refusal(variant_id: int, delta: int) -> str:
    found = db.session.execute(
        sa.select(ProductVariant.sku, ProductVariant.stock).where(ProductVariant.id == variant_id)
    ).one_or_none()
    if found is None:
        raise NotFound("That variant does not exist.")
    if delta < 0:
        return f"Only {found.stock} in stock: cannot remove {-delta}."
    return f"{found.sku} has {found.stock:,} in stock: adding {delta:,} would pass the limit of {MAX_STOCK:,}."


@dataclass(frozen=True)
class LedgerLine:
    """One movement of a variant's stock, with the order number and admin it names."""

    movement: StockMovement
    order_number: str | None
    actor_email: str | None

    @property
    def reason_words(self) -> str:
        return REASON_WORDS[self.movement.reason]


@dataclass(frozen=True)
class VariantHistory:
    variant: ProductVariant
    page: Pagination  # of StockMovement, newest first
    lines: list[LedgerLine]


def variant_history(variant_id: int, page: int, per_page: int) -> VariantHistory | None:
    """Return the variant and one page of its stock movements, newest first: four queries whatever the page size."""
    variant = find_variant(variant_id)
    if variant is None:
        return None
    movements = db.paginate(
        sa.select(StockMovement).where(StockMovement.variant_id == variant_id)
        .order_by(StockMovement.id.desc()),
        page=page, per_page=per_page, error_out=False,
    )
    names: dict[int, tuple[str | None, str | None]] = {}
    if movements.items:
        rows = db.session.execute(
            sa.select(StockMovement.id, Order.number, User.email)
            .outerjoin(Order, Order.id == StockMovement.order_id)
            .outerjoin(User, User.id == StockMovement.actor_id)
            .where(StockMovement.id.in_([movement.id for movement in movements.items]))
        )
        names = {row.id: (row.number, row.email) for row in rows}
    lines = [LedgerLine(movement, *names.get(movement.id, (None, None))) for movement in movements.items]
    return VariantHistory(variant=variant, page=movements, lines=lines)

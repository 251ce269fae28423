"""A logged-in shopper's cart kept with the account (cart_lines), so it is there after logging out and on any device.

The session holds the working copy (shop.services.cart decides what goes in it); every change made
while logged in is written here too, inside the cart service's write transaction. Lines are
upserted on (user, variant), so two requests changing the same line at once leave one row: never a
duplicate, never an integrity error for the shopper.
"""
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from shop.extensions import db
from shop.models import CartLine, User
from shop.models.base import now_utc


@dataclass(frozen=True)
class SavedLine:
    """A line of the account's cart: the quantity and the unit price the shopper last saw."""

    quantity: int
    seen_price_cents: int | None


# The shop runs on these two databases; both spell "insert or update" as INSERT .. ON CONFLICT.
_UPSERTS: dict[str, Callable] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def lock_saved_cart(user_id: int) -> None:
    """Make another login of this account wait until this transaction has merged its cart.

    SQLite's writers already queue one at a time (BEGIN IMMEDIATE); Postgres needs the row lock.
    """
    db.session.execute(sa.select(User.id).where(User.id == user_id).with_for_update())


def saved_lines(user_id: int) -> dict[int, SavedLine]:
    """Return the account's cart as {variant_id: line}, oldest line first."""
    rows = db.session.execute(
        sa.select(CartLine.variant_id, CartLine.quantity, CartLine.seen_price_cents)
        .where(CartLine.user_id == user_id)
        .order_by(CartLine.id)
    )
    return {row.variant_id: SavedLine(row.quantity, row.seen_price_cents) for row in rows}


def keep_lines(user_id: int, lines: Mapping[int, SavedLine]) -> None:
    """Write these lines to the account's cart, replacing the quantity and seen price of lines already there."""
    if not lines:
        return
    now = now_utc()
    insert = _UPSERTS[db.session.get_bind().dialect.name](CartLine).values([
        {"user_id": user_id, "variant_id": variant_id, "quantity": line.quantity,
         "seen_price_cents": line.seen_price_cents, "updated_at": now}
        for variant_id, line in lines.items()
    ])
    db.session.execute(insert.on_conflict_do_update(
        index_elements=[CartLine.user_id, CartLine.variant_id],
        set_={"quantity": insert.excluded.quantity, "seen_price_cents": insert.excluded.seen_price_cents,
              "updated_at": insert.excluded.updated_at},
    ))


def drop_lines(user_id: int, variant_ids: Iterable[int]) -> None:
    """Take these variants out of the account's cart."""
    ids = list(variant_ids)
    if ids:
        db.session.execute(
            sa.delete(CartLine).where(CartLine.user_id == user_id, CartLine.variant_id.in_(ids)),
            execution_options={"synchronize_session": False},
        )


def forget_saved_cart(user_id: int) -> None:
    """Empty the account's cart."""
    db.session.execute(
        sa.delete(CartLine).where(CartLine.user_id == user_id), execution_options={"synchronize_session": False}
    )

"""The session cart: variant ids and quantities; names, prices, images and stock come from the database.

Beside the quantities the session keeps, per line, the unit price the shopper last saw. It is a
display-only reference used to say "the price changed"; nothing is ever priced or charged from it.

The session is the working copy. A logged-in shopper's cart is also kept with the account
(shop.services.saved_cart): every change takes `user_id` and writes the changed lines there in the
same request, and logging in merges a guest cart into the saved one.
"""
from collections.abc import Iterable, Mapping, MutableMapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import contains_eager

from shop.database import write_transaction
from shop.extensions import db
from shop.models import Product, ProductImage, ProductVariant
from shop.models.catalog import item_name
from shop.money import format_money
from shop.services import ShopError, saved_cart
from shop.services.catalog import first_images
from shop.services.saved_cart import SavedLine

CART_KEY = "cart"
SEEN_PRICES_KEY = "cart_prices"
# Every session key the cart uses, for code that resets the session but keeps the cart (login).
CART_SESSION_KEYS = (CART_KEY, SEEN_PRICES_KEY)
MAX_QUANTITY = 99
MAX_LINES = 50
MAX_ID = 2**31 - 1  # the largest id the integer primary keys can hold

QUANTITY_MESSAGE = f"Please choose a quantity from 1 to {MAX_QUANTITY}."
UNAVAILABLE_MESSAGE = "Sorry, that item is no longer available."


def parse_id(value) -> int | None:
    """Return value as a database id when it is one, else None (forged or malformed input)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and 0 < len(value) <= 10 and value.isascii() and value.isdigit():
        number = int(value)
    else:
        return None
    return number if 1 <= number <= MAX_ID else None


def read_cart(session: MutableMapping) -> dict[int, int]:
    """Return the session cart as {variant_id: quantity}, dropping anything forged or malformed."""
    raw = session.get(CART_KEY)
    if not isinstance(raw, dict):
        return {}
    cart: dict[int, int] = {}
    for key, quantity in raw.items():
        variant_id = parse_id(key)
        if variant_id is None or isinstance(quantity, bool) or not isinstance(quantity, int):
            continue
        if 1 <= quantity <= MAX_QUANTITY and len(cart) < MAX_LINES:
            cart[variant_id] = quantity
    return cart


def write_cart(session: MutableMapping, cart: dict[int, int]) -> None:
    """Store the cart in the session (JSON keys must be strings), forgetting prices of removed lines."""
    session[CART_KEY] = {str(variant_id): quantity for variant_id, quantity in cart.items()}
    seen = _read_seen_prices(session)
    session[SEEN_PRICES_KEY] = {str(v): seen[v] for v in cart if v in seen}


def clear_cart(session: MutableMapping, user_id: int | None = None) -> None:
    """Empty the cart, e.g. once an order has been placed from it; a logged-in shopper's on every device."""
    if user_id is not None:
        with write_transaction():
            saved_cart.forget_saved_cart(user_id)
    session.pop(CART_KEY, None)
    session.pop(SEEN_PRICES_KEY, None)


def item_count(session: MutableMapping) -> int:
    """Return the number of units in the cart, for the header."""
    return sum(read_cart(session).values())


def _read_seen_prices(session: MutableMapping) -> dict[int, int]:
    raw = session.get(SEEN_PRICES_KEY)
    if not isinstance(raw, dict):
        return {}
    seen = {}
    for key, cents in raw.items():
        variant_id = parse_id(key)
        if variant_id is not None and isinstance(cents, int) and not isinstance(cents, bool) and cents >= 0:
            seen[variant_id] = cents
    return seen


def _remember_price(session: MutableMapping, variant_id: int, cents: int) -> None:
    seen = {str(k): v for k, v in _read_seen_prices(session).items()}
    seen[str(variant_id)] = cents
    session[SEEN_PRICES_KEY] = seen


def _account_transaction(user_id: int | None) -> AbstractContextManager:
    """Return a write transaction for a logged-in shopper's change; a guest's cart touches no table."""
    return write_transaction() if user_id is not None else nullcontext()


def _keep_in_account(user_id: int | None, cart: Mapping[int, int], changed: Iterable[int],
                     seen: Mapping[int, int]) -> None:
    """Write the changed lines of a logged-in shopper's cart to the account, inside the caller's transaction."""
    if user_id is None:
        return
    changed = list(changed)
    saved_cart.keep_lines(user_id, {v: SavedLine(cart[v], seen.get(v)) for v in changed if v in cart})
    saved_cart.drop_lines(user_id, [v for v in changed if v not in cart])


def _store(session: MutableMapping, cart: dict[int, int], user_id: int | None, changed: Iterable[int]) -> None:
    """Store the cart in the session and a logged-in shopper's changed lines in the account, account first."""
    with _account_transaction(user_id):
        _keep_in_account(user_id, cart, changed, _read_seen_prices(session))
    write_cart(session, cart)


def _money(cents: int) -> str:
    return format_money(cents, current_app.config["CURRENCY"])


@dataclass
class CartLine:
    """One line of the cart as shown: everything but the quantity comes from the database."""

    variant: ProductVariant
    product: Product
    image: ProductImage | None
    quantity: int
    unit_price_cents: int
    previous_price_cents: int | None = None  # what the shopper saw before a price change

    @property
    def line_total_cents(self) -> int:
        return self.unit_price_cents * self.quantity

    @property
    def name(self) -> str:
        return item_name(self.product.name, self.variant.label)


@dataclass
class Cart:
    """The reconciled cart and what the shopper must be told about changes to it."""

    lines: list[CartLine] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def subtotal_cents(self) -> int:
        return sum(line.line_total_cents for line in self.lines)

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def is_empty(self) -> bool:
        return not self.lines


def load_variants(variant_ids) -> dict[int, ProductVariant]:
    """Return the variants with their products loaded, in one query."""
    ids = list(variant_ids)
    if not ids:
        return {}
    variants = db.session.scalars(
        sa.select(ProductVariant)
        .join(ProductVariant.product)
        .options(contains_eager(ProductVariant.product))
        .where(ProductVariant.id.in_(ids))
    )
    return {variant.id: variant for variant in variants}


def load_cart(session: MutableMapping) -> Cart:
    """Reconcile the session cart with the database in two queries and store the cleaned cart.

    Lines whose product or variant is gone, deactivated or sold out are removed, quantities above stock are
    lowered, and price changes since the shopper last saw the cart are reported once.
    """
    raw = session.get(CART_KEY)
    stored = read_cart(session)
    seen = _read_seen_prices(session)
    variants = load_variants(stored)
    images = first_images(variant.product_id for variant in variants.values())

    cart = Cart()
    cleaned: dict[int, int] = {}
    prices: dict[int, int] = {}
    unreadable = isinstance(raw, dict) and len(raw) > len(stored)
    missing = 0
    for variant_id, quantity in stored.items():
        variant = variants.get(variant_id)
        if variant is None:
            missing += 1
            continue
        product = variant.product
        name = item_name(product.name, variant.label)
        if not (product.is_active and variant.is_active):
            cart.notices.append(f"{name} is no longer sold and was removed from your cart.")
            continue
        if variant.stock <= 0:
            cart.notices.append(f"{name} is sold out and was removed from your cart.")
            continue
        if quantity > variant.stock:
            cart.notices.append(
                f"Only {variant.stock} of {name} left, so we lowered the quantity in your cart "
                f"from {quantity} to {variant.stock}."
            )
            quantity = variant.stock
        line = CartLine(variant, product, images.get(product.id), quantity, variant.price_cents)
        previous = seen.get(variant_id)
        if previous is not None and previous != variant.price_cents:
            line.previous_price_cents = previous
            cart.notices.append(
                f"The price of {name} changed from {_money(previous)} to {_money(variant.price_cents)} "
                "since you added it."
            )
        cleaned[variant_id] = quantity
        prices[variant_id] = variant.price_cents
        cart.lines.append(line)
    if missing or unreadable:
        cart.notices.append("Some items in your cart are no longer available and were removed.")

    cart.lines.sort(key=lambda line: (line.product.name.lower(), line.variant.position, line.variant.id))
    if cleaned != stored or unreadable or prices != {v: seen.get(v) for v in cleaned}:
        write_cart(session, cleaned)
        session[SEEN_PRICES_KEY] = {str(v): cents for v, cents in prices.items()}
    return cart


@dataclass
class CartChange:
    """What happened to the cart, in words for the shopper; adjusted means not quite what was asked."""

    message: str
    adjusted: bool = False


def put_in_cart(session: MutableMapping, variant: ProductVariant, quantity: int,
                user_id: int | None = None) -> CartChange:
    """Add units of a variant to the cart within the stock, quantity and line limits.

    For a logged-in shopper the caller holds the write transaction the account's line is written in.
    """
    product = variant.product
    name = item_name(product.name, variant.label)
    if not (product.is_active and variant.is_active):
        raise ShopError(f"Sorry, {name} is no longer sold.")
    if variant.stock <= 0:
        raise ShopError(f"Sorry, {name} is sold out.")
    cart = read_cart(session)
    if variant.id not in cart and len(cart) >= MAX_LINES:
        raise ShopError(
            f"Your cart can hold at most {MAX_LINES} different items. "
            "Please check out or remove something first."
        )
    already = cart.get(variant.id, 0)
    wanted = already + quantity
    limit = min(variant.stock, MAX_QUANTITY)
    cart[variant.id] = min(wanted, limit)
    _keep_in_account(user_id, cart, [variant.id], {variant.id: variant.price_cents})
    write_cart(session, cart)
    _remember_price(session, variant.id, variant.price_cents)
    if wanted <= limit:
        return CartChange(f"Added {quantity} × {name} to your cart.")
    if variant.stock < MAX_QUANTITY and wanted > variant.stock:
        return CartChange(
            f"Only {variant.stock} of {name} available, so your cart now has {cart[variant.id]}.", adjusted=True
        )
    return CartChange(
        f"You can buy at most {MAX_QUANTITY} of {name} at a time, so your cart now has {MAX_QUANTITY}.",
        adjusted=True,
    )


def add_to_cart(session: MutableMapping, variant_id: int, quantity: int, user_id: int | None = None) -> CartChange:
    """Add a quantity of a variant to the cart, checking it is sold and in stock."""
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ShopError(QUANTITY_MESSAGE)
    with _account_transaction(user_id):
        variant = load_variants([variant_id]).get(variant_id)
        if variant is None:
            raise ShopError(UNAVAILABLE_MESSAGE)
        return put_in_cart(session, variant, quantity, user_id)


def update_quantity(session: MutableMapping, variant_id: int, quantity: int,
                    user_id: int | None = None) -> CartChange:
    """Set a line's quantity, 0 removing it, within the stock available."""
    if not 0 <= quantity <= MAX_QUANTITY:
        raise ShopError(f"Please choose a quantity from 0 to {MAX_QUANTITY}; 0 removes the item.")
    cart = read_cart(session)
    if variant_id not in cart:
        raise ShopError("That item is no longer in your cart.")
    if quantity == 0:
        return remove_from_cart(session, variant_id, user_id)
    variant = load_variants([variant_id]).get(variant_id)
    if variant is None or not (variant.product.is_active and variant.is_active) or variant.stock <= 0:
        name = "That item" if variant is None else item_name(variant.product.name, variant.label)
        del cart[variant_id]
        _store(session, cart, user_id, [variant_id])
        raise ShopError(f"{name} is no longer available and was removed from your cart.")
    name, stock = item_name(variant.product.name, variant.label), variant.stock
    cart[variant_id] = min(quantity, stock)
    _store(session, cart, user_id, [variant_id])
    if quantity > stock:
        return CartChange(f"Only {stock} of {name} available, so your cart now has {stock}.", adjusted=True)
    return CartChange(f"Updated {name} to {quantity}.")


def remove_from_cart(session: MutableMapping, variant_id: int, user_id: int | None = None) -> CartChange:
    """Take a line out of the cart."""
    cart = read_cart(session)
    if cart.pop(variant_id, None) is None:
        raise ShopError("That item is no longer in your cart.")
    variant = load_variants([variant_id]).get(variant_id)
    name = "The item" if variant is None else item_name(variant.product.name, variant.label)
    _store(session, cart, user_id, [variant_id])
    return CartChange(f"Removed {name} from your cart.")


def merge_saved_cart(session: MutableMapping, user_id: int) -> list[CartChange]:
    """At login, join the session's guest cart with the account's saved cart and store the result in both.

    Lines of the same variant are added together within the stock and MAX_QUANTITY; lines no longer
    sold are dropped; past MAX_LINES the guest's lines, just chosen, win over older saved ones.
    Returns what the shopper must be told. The session must hold only a guest cart: a logged-in
    cart is never kept in the session after its login ends (see shop.auth.sessions), so a copy of
    the saved cart is never added to itself.
    """
    guest = read_cart(session)
    guest_seen = _read_seen_prices(session)
    changes: list[CartChange] = []
    with write_transaction():
        saved_cart.lock_saved_cart(user_id)
        saved = saved_cart.saved_lines(user_id)
        variants = load_variants(set(guest) | set(saved))
        merged: dict[int, int] = {}
        seen: dict[int, int] = {}
        missing = left_out = 0
        for variant_id in [*guest, *(v for v in saved if v not in guest)]:
            variant = variants.get(variant_id)
            if variant is None:
                missing += 1
                continue
            name = item_name(variant.product.name, variant.label)
            if not (variant.product.is_active and variant.is_active):
                changes.append(CartChange(f"{name} is no longer sold and was removed from your cart.", adjusted=True))
                continue
            if variant.stock <= 0:
                changes.append(CartChange(f"{name} is sold out and was removed from your cart.", adjusted=True))
                continue
            if len(merged) >= MAX_LINES:
                left_out += 1
                continue
            wanted = guest.get(variant_id, 0) + (saved[variant_id].quantity if variant_id in saved else 0)
            merged[variant_id] = min(wanted, variant.stock, MAX_QUANTITY)
            if wanted > variant.stock and variant.stock < MAX_QUANTITY:
                changes.append(CartChange(
                    f"Only {variant.stock} of {name} available, so your cart now has {variant.stock}.", adjusted=True
                ))
            elif wanted > MAX_QUANTITY:
                changes.append(CartChange(
                    f"You can buy at most {MAX_QUANTITY} of {name} at a time, so your cart now has {MAX_QUANTITY}.",
                    adjusted=True,
                ))
            price = guest_seen.get(variant_id, saved[variant_id].seen_price_cents if variant_id in saved else None)
            if price is not None:
                seen[variant_id] = price
        saved_cart.keep_lines(user_id, {
            variant_id: SavedLine(quantity, seen.get(variant_id))
            for variant_id, quantity in merged.items()
            if saved.get(variant_id) != SavedLine(quantity, seen.get(variant_id))
        })
        saved_cart.drop_lines(user_id, [variant_id for variant_id in saved if variant_id not in merged])
    write_cart(session, merged)
    session[SEEN_PRICES_KEY] = {str(variant_id): cents for variant_id, cents in seen.items()}
    if missing:
        changes.append(CartChange("Some items in your cart are no longer available and were removed.", adjusted=True))
    if left_out:
        changes.append(CartChange(
            f"Your cart can hold at most {MAX_LINES} different items, so {left_out} "
            f"{'item' if left_out == 1 else 'items'} from the cart saved with your account "
            f"{'was' if left_out == 1 else 'were'} left out.",
            adjusted=True,
        ))
    if guest and saved:
        changes.insert(0, CartChange("The cart saved with your account was added to this one."))
    return changes

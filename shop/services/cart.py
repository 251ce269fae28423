"""The session cart: variant ids and quantities; names, prices, images and stock come from the database.

Beside the quantities the session keeps, per line, the unit price the shopper last saw. It is a
display-only reference used to say "the price changed"; nothing is ever priced or charged from it.
"""
from collections.abc import MutableMapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import contains_eager

from shop.extensions import db
from shop.models import Product, ProductImage, ProductVariant
from shop.models.catalog import item_name
from shop.money import format_money
from shop.services import ShopError
from shop.services.catalog import first_images

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


def clear_cart(session: MutableMapping) -> None:
    """Empty the cart, e.g. once an order has been placed from it."""
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


def put_in_cart(session: MutableMapping, variant: ProductVariant, quantity: int) -> CartChange:
    """Add units of a variant to the session cart within the stock, quantity and line limits."""
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


def add_to_cart(session: MutableMapping, variant_id: int, quantity: int) -> CartChange:
    """Add a quantity of a variant to the cart, checking it is sold and in stock."""
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ShopError(QUANTITY_MESSAGE)
    variant = load_variants([variant_id]).get(variant_id)
    if variant is None:
        raise ShopError(UNAVAILABLE_MESSAGE)
    return put_in_cart(session, variant, quantity)


def update_quantity(session: MutableMapping, variant_id: int, quantity: int) -> CartChange:
    """Set a line's quantity, 0 removing it, within the stock available."""
    if not 0 <= quantity <= MAX_QUANTITY:
        raise ShopError(f"Please choose a quantity from 0 to {MAX_QUANTITY}; 0 removes the item.")
    cart = read_cart(session)
    if variant_id not in cart:
        raise ShopError("That item is no longer in your cart.")
    if quantity == 0:
        return remove_from_cart(session, variant_id)
    variant = load_variants([variant_id]).get(variant_id)
    if variant is None or not (variant.product.is_active and variant.is_active) or variant.stock <= 0:
        del cart[variant_id]
        write_cart(session, cart)
        name = "That item" if variant is None else item_name(variant.product.name, variant.label)
        raise ShopError(f"{name} is no longer available and was removed from your cart.")
    name = item_name(variant.product.name, variant.label)
    cart[variant_id] = min(quantity, variant.stock)
    write_cart(session, cart)
    if quantity > variant.stock:
        return CartChange(
            f"Only {variant.stock} of {name} available, so your cart now has {variant.stock}.", adjusted=True
        )
    return CartChange(f"Updated {name} to {quantity}.")


def remove_from_cart(session: MutableMapping, variant_id: int) -> CartChange:
    """Take a line out of the cart."""
    cart = read_cart(session)
    if cart.pop(variant_id, None) is None:
        raise ShopError("That item is no longer in your cart.")
    write_cart(session, cart)
    variant = load_variants([variant_id]).get(variant_id)
    name = "The item" if variant is None else item_name(variant.product.name, variant.label)
    return CartChange(f"Removed {name} from your cart.")

"""Save for later and the wishlist: lists kept in the database so they follow the shopper."""
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, selectinload

from shop.database import write_transaction
from shop.extensions import db
from shop.models import Product, ProductImage, ProductVariant, SavedItem, WishlistItem
from shop.models.catalog import item_name
from shop.services import ShopError, saved_cart
from shop.services.cart import (
    MAX_QUANTITY,
    UNAVAILABLE_MESSAGE,
    CartChange,
    load_variants,
    put_in_cart,
    read_cart,
    write_cart,
)
from shop.services.catalog import first_images

RACE_MESSAGE = "That list changed in another window at the same moment. Please try again."


@dataclass
class SavedLine:
    """A saved-for-later item as shown under the cart."""

    item: SavedItem
    variant: ProductVariant
    product: Product
    image: ProductImage | None

    @property
    def name(self) -> str:
        return item_name(self.product.name, self.variant.label)

    @property
    def available(self) -> bool:
        return self.product.is_active and self.variant.is_active and self.variant.stock > 0


@dataclass
class WishlistEntry:
    """A wishlist product with what is needed to add it to the cart."""

    item: WishlistItem
    product: Product
    image: ProductImage | None

    @property
    def buyable_variants(self) -> list[ProductVariant]:
        if not self.product.is_active:
            return []
        return [variant for variant in self.product.variants if variant.is_active and variant.stock > 0]


@contextmanager
def _unless_raced() -> Iterator[None]:
    try:
        yield
    except IntegrityError:
        # A second tab inserted the same (user, item) row first; the unique constraint refused ours.
        raise ShopError(RACE_MESSAGE) from None


def saved_items(user_id: int) -> list[SavedLine]:
    """Return the shopper's saved-for-later items, newest first, in two queries."""
    items = list(
        db.session.scalars(
            sa.select(SavedItem)
            .join(SavedItem.variant)
            .join(ProductVariant.product)
            .options(contains_eager(SavedItem.variant).contains_eager(ProductVariant.product))
            .where(SavedItem.user_id == user_id)
            .order_by(SavedItem.created_at.desc(), SavedItem.id.desc())
        )
    )
    images = first_images(item.variant.product_id for item in items)
    return [SavedLine(item, item.variant, item.variant.product, images.get(item.variant.product_id)) for item in items]


def save_for_later(session: MutableMapping, user_id: int, variant_id: int) -> CartChange:
    """Move a cart line into the shopper's saved-for-later list."""
    cart = read_cart(session)
    quantity = cart.get(variant_id)
    if quantity is None:
        raise ShopError("That item is no longer in your cart.")
    with _unless_raced(), write_transaction():
        variant = load_variants([variant_id]).get(variant_id)
        if variant is None:
            del cart[variant_id]
            write_cart(session, cart)
            raise ShopError("That item is no longer available and was removed from your cart.")
        name = item_name(variant.product.name, variant.label)
        saved = db.session.scalar(
            sa.select(SavedItem).where(SavedItem.user_id == user_id, SavedItem.variant_id == variant_id)
        )
        if saved is None:
            db.session.add(SavedItem(user_id=user_id, variant_id=variant_id, quantity=quantity))
        else:
            saved.quantity = min(saved.quantity + quantity, MAX_QUANTITY)
        saved_cart.drop_lines(user_id, [variant_id])
    # The cart changes only once the saved item is safely stored, so nothing is ever lost.
    del cart[variant_id]
    write_cart(session, cart)
    return CartChange(f"Saved {name} for later.")


def _own_saved_item(user_id: int, saved_id: int) -> SavedItem:
    saved = db.session.scalar(
        sa.select(SavedItem)
        .where(SavedItem.id == saved_id, SavedItem.user_id == user_id)
        .options(selectinload(SavedItem.variant).selectinload(ProductVariant.product))
    )
    if saved is None:
        raise ShopError("That saved item is no longer in your list.")
    return saved


def move_to_cart(session: MutableMapping, user_id: int, saved_id: int) -> CartChange:
    """Bring a saved item back into the cart with the same stock checks as adding it."""
    with write_transaction():
        saved = _own_saved_item(user_id, saved_id)
        name = item_name(saved.variant.product.name, saved.variant.label)
        try:
            change = put_in_cart(session, saved.variant, saved.quantity, user_id)
        except ShopError as error:
            raise ShopError(f"{error} It stays in your saved items.") from None
        db.session.delete(saved)
    if change.adjusted:
        return change
    return CartChange(f"Moved {name} to your cart.")


def remove_saved(user_id: int, saved_id: int) -> CartChange:
    """Delete an item from the shopper's saved-for-later list."""
    with write_transaction():
        saved = _own_saved_item(user_id, saved_id)
        name = item_name(saved.variant.product.name, saved.variant.label)
        db.session.delete(saved)
    return CartChange(f"Removed {name} from your saved items.")


def wishlist(user_id: int) -> list[WishlistEntry]:
    """Return the shopper's wishlist, newest first, with variants and images, in three queries."""
    items = list(
        db.session.scalars(
            sa.select(WishlistItem)
            .join(WishlistItem.product)
            .options(contains_eager(WishlistItem.product).selectinload(Product.variants))
            .where(WishlistItem.user_id == user_id)
            .order_by(WishlistItem.created_at.desc(), WishlistItem.id.desc())
        )
    )
    images = first_images(item.product_id for item in items)
    return [WishlistEntry(item, item.product, images.get(item.product_id)) for item in items]


# Run on each product page a logged-in shopper sees: built once.
_WISHLIST_ITEM = sa.select(WishlistItem.id).where(WishlistItem.user_id == sa.bindparam("user_id"),
                                                  WishlistItem.product_id == sa.bindparam("product_id"))


def wishlist_item_id(user_id: int, product_id: int) -> int | None:
    """Return the id of the shopper's wishlist entry for the product, or None when it is not on the list."""
    return db.session.scalar(_WISHLIST_ITEM, {"user_id": user_id, "product_id": product_id})


def add_to_wishlist(user_id: int, product_id: int) -> CartChange:
    """Put a product on the shopper's wishlist; adding it twice is harmless."""
    with _unless_raced(), write_transaction():
        product = db.session.get(Product, product_id)
        if product is None or not product.is_active:
            raise ShopError(UNAVAILABLE_MESSAGE)
        name = product.name
        exists = db.session.scalar(
            sa.select(WishlistItem.id).where(WishlistItem.user_id == user_id, WishlistItem.product_id == product_id)
        )
        if exists is not None:
            return CartChange(f"{name} is already on your wishlist.", adjusted=True)
        db.session.add(WishlistItem(user_id=user_id, product_id=product_id))
    return CartChange(f"Added {name} to your wishlist.")


def remove_from_wishlist(user_id: int, item_id: int) -> CartChange:
    """Take a product off the shopper's wishlist."""
    with write_transaction():
        item = db.session.scalar(
            sa.select(WishlistItem)
            .where(WishlistItem.id == item_id, WishlistItem.user_id == user_id)
            .options(selectinload(WishlistItem.product))
        )
        if item is None:
            raise ShopError("That product is no longer on your wishlist.")
        name = item.product.name
        db.session.delete(item)
    return CartChange(f"Removed {name} from your wishlist.")

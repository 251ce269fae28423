"""The session cart, save for later and the wishlist pages."""
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from shop.cart import bp
from shop.cart.forms import AddToCartForm, LineForm, UpdateQuantityForm, WishlistAddForm
from shop.catalog import suggestions
from shop.core.outcomes import flash_refusals
from shop.core.redirects import safe_local_path
from shop.services import cart as cart_service
from shop.services import lists


def _back(default: str, next_path: str | None = None) -> str:
    """Return where to send the shopper back to: a safe `next`, else a same-site Referer, else default."""
    local = safe_local_path(next_path)
    if local:
        return local
    referrer = request.referrer
    if referrer:
        parts = urlsplit(referrer)
        if parts.netloc == request.host and parts.scheme in ("http", "https"):
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            local = safe_local_path(path)
            if local:
                return local
    return default


def _account_id() -> int | None:
    """Return the logged-in shopper's id, whose cart is kept with the account; None for a guest."""
    return current_user.id if current_user.is_authenticated else None


def _flash_change(change: cart_service.CartChange) -> None:
    flash(change.message, "warning" if change.adjusted else "success")


def _require_login(message: str, back: str):
    """Send an anonymous shopper to log in and come back; a POST cannot be replayed after login."""
    flash(message, "info")
    return redirect(url_for("auth.login", next=back))


@bp.get("/cart")
def view():
    """Show the cart reconciled with today's prices and stock, and the saved-for-later list."""
    cart = cart_service.load_cart(session)
    saved = lists.saved_items(current_user.id) if current_user.is_authenticated else []
    return render_template("cart/cart.html", cart=cart, saved=saved, max_quantity=cart_service.MAX_QUANTITY,
                           recently_viewed_cards=suggestions.recently_viewed_cards())


@bp.post("/cart/add")
def add():
    """Add a variant to the cart and go back to where the shopper was."""
    form = AddToCartForm()
    if not form.validate():
        if form.variant_id.errors:
            abort(400)
        flash(cart_service.QUANTITY_MESSAGE, "error")
        return redirect(_back(url_for("cart.view"), form.next.data))
    with flash_refusals():
        _flash_change(cart_service.add_to_cart(session, form.variant_id.data, form.quantity.data, _account_id()))
    return redirect(_back(url_for("cart.view"), form.next.data))


@bp.post("/cart/update")
def update():
    """Change a line's quantity; 0 removes it."""
    form = UpdateQuantityForm()
    if not form.validate():
        if form.variant_id.errors:
            abort(400)
        flash(f"Please choose a quantity from 0 to {cart_service.MAX_QUANTITY}; 0 removes the item.", "error")
        return redirect(url_for("cart.view"))
    with flash_refusals():
        _flash_change(
            cart_service.update_quantity(session, form.variant_id.data, form.quantity.data, _account_id())
        )
    return redirect(url_for("cart.view"))


@bp.post("/cart/remove")
def remove():
    """Take a line out of the cart."""
    form = LineForm()
    if not form.validate():
        abort(400)
    with flash_refusals():
        _flash_change(cart_service.remove_from_cart(session, form.variant_id.data, _account_id()))
    return redirect(url_for("cart.view"))


@bp.get("/cart/clear")
def confirm_clear():
    """Ask before emptying the cart: one click on "Empty cart" should not lose it."""
    count = cart_service.item_count(session)
    if not count:
        return redirect(url_for("cart.view"))
    return render_template("cart/empty.html", item_count=count)


@bp.post("/cart/clear")
def clear():
    """Empty the cart, a logged-in shopper's on every device."""
    cart_service.clear_cart(session, _account_id())
    flash("Your cart is now empty.", "success")
    return redirect(url_for("cart.view"))


@bp.post("/cart/save-for-later")
def save_for_later():
    """Move a cart line to the shopper's saved-for-later list."""
    if not current_user.is_authenticated:
        return _require_login("Please log in to save items for later.", url_for("cart.view"))
    form = LineForm()
    if not form.validate():
        abort(400)
    with flash_refusals():
        _flash_change(lists.save_for_later(session, current_user.id, form.variant_id.data))
    return redirect(url_for("cart.view"))


@bp.post("/cart/saved/<id:saved_id>/move-to-cart")
def move_to_cart(saved_id: int):
    """Bring a saved item back into the cart."""
    if not current_user.is_authenticated:
        return _require_login("Please log in to see your saved items.", url_for("cart.view"))
    with flash_refusals():
        _flash_change(lists.move_to_cart(session, current_user.id, saved_id))
    return redirect(url_for("cart.view"))


@bp.post("/cart/saved/<id:saved_id>/remove")
def remove_saved(saved_id: int):
    """Delete a saved-for-later item."""
    if not current_user.is_authenticated:
        return _require_login("Please log in to see your saved items.", url_for("cart.view"))
    with flash_refusals():
        _flash_change(lists.remove_saved(current_user.id, saved_id))
    return redirect(url_for("cart.view"))


@bp.get("/account/wishlist")
@login_required
def wishlist():
    """Show the shopper's wishlist with a way to add each product to the cart."""
    return render_template(
        "account/wishlist.html", entries=lists.wishlist(current_user.id), max_quantity=cart_service.MAX_QUANTITY
    )


@bp.post("/account/wishlist/add")
def wishlist_add():
    """Put a product on the wishlist and go back to it."""
    form = WishlistAddForm()
    back = _back(url_for("cart.wishlist"), form.next.data)
    if not current_user.is_authenticated:
        return _require_login("Please log in to keep a wishlist.", back)
    if not form.validate():
        abort(400)
    with flash_refusals():
        _flash_change(lists.add_to_wishlist(current_user.id, form.product_id.data))
    return redirect(back)


@bp.post("/account/wishlist/<id:item_id>/remove")
def wishlist_remove(item_id: int):
    """Take a product off the wishlist."""
    if not current_user.is_authenticated:
        return _require_login("Please log in to see your wishlist.", url_for("cart.wishlist"))
    with flash_refusals():
        _flash_change(lists.remove_from_wishlist(current_user.id, item_id))
    return redirect(url_for("cart.wishlist"))

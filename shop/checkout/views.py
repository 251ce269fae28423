"""Checkout, payment and the shopper's order pages."""
import secrets

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from shop.checkout import bp, limits
from shop.checkout.countries import COUNTRIES, RegionRefused, country_name
from shop.checkout.forms import CancelOrderForm, CheckoutForm, TestPaymentForm
from shop.core.outcomes import flash_refusals
from shop.core.params import page_number
from shop.core.templating import order_status_label as order_status
from shop.models import MONEY_TAKEN, Order
from shop.services import ShopError, accounts, payments, refunds
from shop.services.cart import clear_cart, read_cart
from shop.services.checkout import CheckoutDetails, active_shipping_methods, not_offered_message, preview_quote
from shop.services.lifecycle import Actor
from shop.services.order_file import OrderFile, order_file
from shop.services.orders import (
    OutOfStock,
    below_minimum_message,
    cancel_order,
    customer_orders,
    find_order_by_reference,
    order_token,
    order_with_items,
    record_payment_failure,
    token_allows,
)
from shop.services.purchase import minimum_total_cents, purchase

PLACED_ORDERS_KEY = "placed_orders"
MAX_REMEMBERED_ORDERS = 20
ORDERS_PER_PAGE = 10



@bp.route("/checkout", methods=["GET", "POST"])
@limits.placements_per_ip
@limits.placements_per_email
def start():
    """Show the checkout form and summary; recompute it, or place the order and send the shopper to pay."""
    cart = read_cart(session)
    if not cart:
        flash("Your cart is empty. Add something before checking out.", "info")
        return redirect(url_for("cart.view"))
    form = CheckoutForm()
    if request.method == "GET":
        _prefill(form)
    submitted_token = form.placement_token.data
    if not submitted_token:
        form.placement_token.data = secrets.token_urlsafe(24)

    user_id = current_user.id if current_user.is_authenticated else None
    # The address as typed picks the methods offered, so "Update summary" re-lists them without JavaScript.
    quote = preview_quote(cart, form.shipping_method.data, form.coupon.data or "", form.country.data,
                          _typed_region(form), form.email.data, user_id, releasing=_placed_order_ids())
    methods = quote.methods
    form.shipping_method.choices = [SelectChoice(method.id, method.name) for method in methods]
    shipping_note = None
    if quote.shipping_method is not None and form.shipping_method.data != quote.shipping_method.id:
        if form.shipping_method.data is not None and not form.place.data:
            shipping_note = (f"The shipping method you chose is not offered for this address, "
                             f"so {quote.shipping_method.name} is chosen instead.")
        if not form.place.data:
            form.shipping_method.data = quote.shipping_method.id
    # Only placing checks the details: recomputing the summary of a half-filled form is no mistake.
    valid = bool(form.place.data) and form.validate_on_submit()
    if form.shipping_method.errors and form.shipping_method.data not in {method.id for method in methods}:
        form.shipping_method.errors = [not_offered_message(form.shipping_method.data)]
    if quote.coupon_error:
        # A coupon the shop refused is the coupon field's error, shown beside it and in the error summary.
        form.coupon.errors = [*form.coupon.errors, quote.coupon_error]
    minimum_error = below_minimum_message(quote.total_cents, minimum_total_cents(), quote.currency)
    if quote.unavailable or not quote.lines:
        flash("Some items in your cart are no longer available. Please review your cart.", "warning")
        return redirect(url_for("cart.view"))
    nowhere = not methods and form.country.data in COUNTRIES and bool(active_shipping_methods())
    if not methods and not nowhere:
        flash("Checkout is closed: no shipping method is available right now.", "error")
    elif valid and methods and not quote.coupon_error and not minimum_error:
        if submitted_token:
            return _place(cart, form)
        flash("Please check your details and press “Place order and pay” again.", "info")
    return render_template("checkout/start.html", form=form, quote=quote, methods=methods,
                           minimum_error=minimum_error, test_mode=payments.is_test_mode(),
                           shipping_note=shipping_note,
                           no_shipping_to=country_name(form.country.data) if nowhere else None)


def _typed_region(form: CheckoutForm) -> str:
    """Return the region the form names, or "" while it names none the country has."""
    try:
        return form.region_to_store()
    except RegionRefused:
        return ""


def _prefill(form: CheckoutForm) -> None:
    if not current_user.is_authenticated:
        return
    form.email.data = current_user.email
    form.name.data = current_user.name
    address = accounts.default_address(current_user.id)
    if address is not None:
        form.name.data = address.full_name
        form.line1.data = address.line1
        form.line2.data = address.line2
        form.city.data = address.city
        form.postal_code.data = address.postal_code
        form.country.data = address.country
        form.show_region(address.country, address.region)
        form.phone.data = address.phone


def _place(cart, form: CheckoutForm):
    details = CheckoutDetails(
        email=form.email.data.lower(), name=form.name.data, line1=form.line1.data,
        line2=form.line2.data or "", city=form.city.data, region=form.region_to_store(),
        postal_code=form.postal_code.data, country=form.country.data, phone=form.phone.data or "",
        shipping_method_id=form.shipping_method.data, coupon_code=form.coupon.data or "",
        recovery_consent=bool(form.reminder.data),
    )
    user_id = current_user.id if current_user.is_authenticated else None
    try:
        placed = purchase(cart, details, user_id, form.placement_token.data, _placed_order_ids())
    except payments.PaymentUnavailable:
        return render_template("checkout/unavailable.html"), 503
    except OutOfStock as error:
        flash(str(error), "error")
        return redirect(url_for("cart.view"))
    except ShopError as error:
        flash(str(error), "error")
        return redirect(url_for("checkout.start"))
    if placed.newly_placed:
        limits.order_placed.set()
    _remember(placed.order_id)
    return redirect(placed.payment_url, code=303)


def _placed_order_ids() -> list[int]:
    placed = session.get(PLACED_ORDERS_KEY)
    return [value for value in placed if isinstance(value, int)] if isinstance(placed, list) else []


def _remember(order_id: int) -> None:
    """Let this browser see the order it placed, even as a guest."""
    placed = [value for value in _placed_order_ids() if value != order_id]
    session[PLACED_ORDERS_KEY] = (placed + [order_id])[-MAX_REMEMBERED_ORDERS:]


def _placed_here(order: Order) -> bool:
    placed = session.get(PLACED_ORDERS_KEY)
    if isinstance(placed, list) and order.id in placed:
        return True
    return current_user.is_authenticated and order.user_id == current_user.id


def _order_for_reference(reference: str) -> Order:
    order = find_order_by_reference(reference)
    if order is None or not _placed_here(order):
        abort(404)
    return order


@bp.get("/checkout/success")
def success():
    """Thank the shopper, empty the cart and show the order; ask the provider when it is not paid yet."""
    reference = request.args.get("session_id", "")
    order = _order_for_reference(reference)
    clear_cart(session, current_user.id if current_user.is_authenticated else None)
    if order.payment_status not in MONEY_TAKEN:
        payments.sync_payment(reference)
        order = order_with_items(order.id) or abort(404)
    return render_template("checkout/success.html", order=order, token=order_token(order.number))


@bp.get("/checkout/cancel")
def cancel():
    """Give back the reservation and return to the cart with its items intact."""
    order = find_order_by_reference(request.args.get("session_id", ""))
    if order is None or not _placed_here(order):
        flash("There was no checkout to cancel. Your cart is unchanged.", "info")
        return redirect(url_for("cart.view"))
    if order.payment_status in MONEY_TAKEN:
        flash(f"Order {order.number} is already paid, so it cannot be cancelled here.", "info")
        return redirect(url_for("checkout.order_detail", number=order.number, token=order_token(order.number)))
    # Close the provider's session first, so it cannot be paid while the stock goes back.
    payments.cancel_payment(order.payment_reference)
    cancel_order(order.id, "the shopper left the payment page", Actor.customer(order.user_id, order.email))
    flash("Checkout cancelled. Nothing was charged, and your cart is just as you left it.", "info")
    return redirect(url_for("cart.view"))


@bp.route("/checkout/test-payment/<reference>", methods=["GET", "POST"])
def test_payment(reference: str):
    """Offer Pay and Decline buttons in place of a real payment provider (test mode only)."""
    if not payments.is_test_mode():
        abort(404)
    order = _order_for_reference(reference)
    form = TestPaymentForm()
    if form.validate_on_submit():
        if form.pay.data:
            if payments.pay_test_order(order, reference) or order.payment_status in MONEY_TAKEN:
                return redirect(url_for("checkout.success", session_id=reference), code=303)
            flash(f"Order {order.number} was {order.status}, so it can no longer be paid. Nothing was charged.",
                  "error")
            return redirect(url_for("checkout.test_payment", reference=reference), code=303)
        if form.decline.data:
            if record_payment_failure(order.id, "declined on the test payment page",
                                      Actor.customer(order.user_id, order.email)):
                flash("The test payment was declined. Nothing was charged, and your cart is still here.",
                      "warning")
                return redirect(url_for("cart.view"))
            return redirect(url_for("checkout.success", session_id=reference), code=303)
    return render_template("checkout/test_payment.html", order=order, form=form)


def _shopper_order_file(number: str, token: str | None) -> OrderFile:
    """Return the order if this browser placed it, it is the user's, or the token is its signed link; else 404."""
    order = order_with_items(number=number)
    if order is None or not (_placed_here(order) or token_allows(token, order.number)):
        abort(404)
    return order_file(order.id) or abort(404)


@bp.get("/orders/<number>")
def order_detail(number: str):
    """Show one order to its owner, to the browser that placed it, or to whoever holds its signed link."""
    file = _shopper_order_file(number, request.args.get("token"))
    return render_template("orders/detail.html", order=file.order, file=file, token=order_token(file.order.number),
                           cancel_form=CancelOrderForm())


@bp.get("/account/orders/<number>")
@login_required
def account_order(number: str):
    """Send the account's order link to the order page (one page for account holders and guests)."""
    return redirect(url_for("checkout.order_detail", number=number), code=301)


@bp.route("/orders/<number>/cancel", methods=["GET", "POST"])
def cancel_order_page(number: str):
    """Ask the shopper to confirm, then cancel the order (refunding what was paid) if nothing has shipped."""
    token = request.values.get("token")
    file = _shopper_order_file(number, token)
    order = file.order
    back = redirect(url_for("checkout.order_detail", number=order.number, token=order_token(order.number)), code=303)
    if not file.cancellable:
        why = "part of it has already shipped" if file.shipments else f"it is {order_status(order).lower()}"
        flash(f"Order {order.number} can no longer be cancelled: {why}. Contact us if something is wrong with it.",
              "info")
        return back
    form = CancelOrderForm()
    if form.validate_on_submit():
        with flash_refusals():
            flash(refunds.cancel(order.id, Actor.customer(order.user_id, order.email), "cancelled by the customer"),
                  "success")
        return back
    return render_template("orders/cancel.html", order=order, file=file, form=form, token=order_token(order.number))


@bp.get("/account/orders")
@login_required
def account_orders():
    """List the logged-in shopper's orders, newest first."""
    page = page_number()
    pagination = customer_orders(current_user.id, page, ORDERS_PER_PAGE)
    return render_template("orders/list.html", pagination=pagination)

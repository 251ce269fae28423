"""One order in the back office, and what an admin can do to it: each action asks first."""
import re

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from shop.admin import bp
from shop.admin.confirm import Confirmation, ask, confirmed
from shop.admin.forms.orders import CancelForm, NoteForm, RefundForm, ShipForm
from shop.admin.permissions import refund_limit_cents
from shop.core.outcomes import flash_refusals, load_or_404
from shop.models import RefundStatus
from shop.models.catalog import item_name
from shop.money import format_money, parse_money
from shop.services import ShopError, fulfilment, lifecycle, orders, refunds
from shop.services.catalog_csv import format_amount
from shop.services.lifecycle import Actor
from shop.services.order_file import order_file

QUANTITY_FIELD = re.compile(r"qty-([0-9]{1,18})")
MAX_UNITS = 100_000


@bp.get("/orders/<id:order_id>")
def order(order_id: int):
    """Show one order: items, customer, payments, refunds, parcels, notes, history and stock movements."""
    found = load_or_404(order_file, order_id)
    return render_template("admin/orders_detail.html", file=found, order=found.order, ship_form=ShipForm(),
                           refund_form=RefundForm(), refund_all_form=RefundForm(), cancel_form=CancelForm(),
                           note_form=NoteForm(), refund_all=format_amount(found.refundable_cents, found.order.currency))


def _back(order_id: int) -> Response:
    return redirect(url_for("admin.order", order_id=order_id))


def _form_errors(form) -> None:
    for errors in form.errors.values():
        for error in errors:
            flash(str(error), "error")


def _quantities() -> dict[int, int]:
    """Read the qty-<item id> boxes of a ship or refund form; raise ShopError for anything but whole numbers."""
    wanted = {}
    for name, typed in request.form.items():
        match = QUANTITY_FIELD.fullmatch(name)
        if not match:
            continue
        typed = typed.strip()
        if not typed:
            continue
        if not (typed.isascii() and typed.isdigit()) or int(typed) > MAX_UNITS:
            raise ShopError("Enter each quantity as a whole number, such as 0 or 2.")
        wanted[int(match.group(1))] = int(typed)
    return wanted


def _posted_again() -> list[tuple[str, str]]:
    return [(name, value) for name, value in request.form.items(multi=True) if name not in ("csrf_token", "confirmed")]


def _item_lines(order, quantities: dict[int, int]) -> list[str]:
    items = {item.id: item for item in order.items}
    return [f"{quantity} × {item_name(items[item_id].product_name, items[item_id].variant_name)} "
            f"({items[item_id].sku})" for item_id, quantity in sorted(quantities.items())
            if quantity > 0 and item_id in items]


@bp.post("/orders/<id:order_id>/ship")
def ship(order_id: int):
    """Record a parcel with its tracking, after the admin confirms what it holds."""
    found = load_or_404(orders.order_with_items, order_id)
    form = ShipForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return _back(order_id)
    with flash_refusals():
        parcel = fulfilment.Parcel(quantities=_quantities(), carrier=form.carrier_name(),
                                   tracking_number=form.tracking_number.data or "",
                                   tracking_url=form.tracking_url.data or "", token=form.token.data)
        if not confirmed():
            everything = fulfilment.preview_shipment(found, parcel)
            link = fulfilment.tracking_link(parcel.carrier, parcel.tracking_number, parcel.tracking_url)
            return ask(Confirmation(
                title=f"Ship {'order' if everything else 'part of order'} {found.number}?", danger=False,
                question=f"Record this parcel as sent with {parcel.carrier or 'the carrier'}"
                         f"{f', tracking number {parcel.tracking_number}' if parcel.tracking_number else ''}, "
                         f"and email {found.email} the tracking{f' link {link}' if link else ''}.",
                action_url=url_for("admin.ship", order_id=order_id), button="Ship and email the customer",
                cancel_url=url_for("admin.order", order_id=order_id),
                items=_item_lines(found, parcel.quantities)), _posted_again())
        shipment = fulfilment.ship(order_id, parcel, Actor.admin(current_user))
        flash(f"Parcel recorded ({sum(item.quantity for item in shipment.items)} item(s)); "
              f"the customer has been emailed the tracking.", "success")
    return _back(order_id)


@bp.post("/orders/<id:order_id>/delivered")
def delivered(order_id: int):
    """Mark a shipped order delivered, after confirming."""
    found = load_or_404(orders.order_with_items, order_id)
    with flash_refusals():
        if not confirmed():
            return ask(Confirmation(
                title=f"Mark order {found.number} delivered?", danger=False,
                question=f"The customer ({found.email}) gets an email saying it has arrived.",
                action_url=url_for("admin.delivered", order_id=order_id), button="Mark delivered",
                cancel_url=url_for("admin.order", order_id=order_id)))
        changed = fulfilment.mark_delivered(order_id, Actor.admin(current_user))
        flash("The order is marked delivered." if changed else "The order was already marked delivered.",
              "success" if changed else "info")
    return _back(order_id)


@bp.post("/orders/<id:order_id>/refund")
def refund(order_id: int):
    """Refund an amount or some items, after a confirmation that names the amount."""
    found = load_or_404(orders.order_with_items, order_id)
    form = RefundForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return _back(order_id)
    with flash_refusals():
        try:
            amount = parse_money(form.amount.data, found.currency) if form.amount.data else None
        except ValueError as error:
            raise ShopError(f"Refund amount: {error}") from None
        wanted = refunds.RefundRequest(amount_cents=amount, lines=_quantities(), restock=form.restock.data,
                                       reason=form.reason.data or "", token=form.token.data,
                                       limit_cents=refund_limit_cents(current_user))
        if not confirmed():
            quote = refunds.quote_refund(order_id, wanted)
            items = _item_lines(found, quote.lines)
            if quote.restock:
                items.append("These items go back in stock.")
            return ask(Confirmation(
                title=f"Refund {quote.amount} on order {found.number}?",
                question=f"{quote.amount} goes back to the customer's original payment method through "
                         f"{found.payment_provider or 'the payment provider'}, and they are emailed. "
                         "This cannot be undone.",
                action_url=url_for("admin.refund", order_id=order_id), button=f"Refund {quote.amount}",
                cancel_url=url_for("admin.order", order_id=order_id), items=items), _posted_again())
        made = refunds.refund(order_id, wanted, Actor.admin(current_user))
        amount_text = format_money(made.amount_cents, found.currency)
        if made.status == RefundStatus.SUCCEEDED:
            flash(f"{amount_text} refunded; the customer has been emailed.", "success")
        elif made.is_open:
            flash(f"The refund of {amount_text} is {made.status} at Stripe; the order shows it as refunded once "
                  "Stripe confirms it.", "warning")
        else:
            flash(f"The refund of {amount_text} {made.status}: {made.failure_reason}. Nothing was refunded.", "error")
    return _back(order_id)


@bp.post("/orders/<id:order_id>/cancel")
def cancel(order_id: int):
    """Cancel an unshipped order, refunding what was paid, after a confirmation that names the refund."""
    file = load_or_404(order_file, order_id)
    form = CancelForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return _back(order_id)
    found = file.order
    limit = refund_limit_cents(current_user)
    with flash_refusals():
        if not confirmed():
            refunds.check_refund_limit(file.refundable_cents, found.currency, limit)
            refund_text = (f"{format_money(file.refundable_cents, found.currency)} is refunded to the customer, "
                           if file.refundable_cents else "Nothing was paid, so nothing is refunded; ")
            return ask(Confirmation(
                title=f"Cancel order {found.number}?",
                question=f"{refund_text}its items go back in stock and {found.email} is emailed. "
                         "This cannot be undone.",
                action_url=url_for("admin.cancel", order_id=order_id),
                button=(f"Cancel and refund {format_money(file.refundable_cents, found.currency)}"
                        if file.refundable_cents else "Cancel the order"),
                cancel_url=url_for("admin.order", order_id=order_id)), _posted_again())
        flash(refunds.cancel(order_id, Actor.admin(current_user), form.cancel_reason.data or "", limit), "success")
    return _back(order_id)


@bp.post("/orders/<id:order_id>/notes")
def add_note(order_id: int):
    """Add an internal note to the order's history."""
    load_or_404(orders.order_with_items, order_id)
    form = NoteForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return _back(order_id)
    with flash_refusals():
        lifecycle.add_note(order_id, form.note.data, Actor.admin(current_user))
        flash("Note added.", "success")
    return _back(order_id)


@bp.post("/orders/<id:order_id>/resend-confirmation")
def resend_confirmation(order_id: int):
    """Email the order confirmation again, after confirming."""
    found = load_or_404(orders.order_with_items, order_id)
    with flash_refusals():
        if not confirmed():
            return ask(Confirmation(
                title=f"Send the confirmation of order {found.number} again?", danger=False,
                question=f"{found.email} gets the order confirmation email again.",
                action_url=url_for("admin.resend_confirmation", order_id=order_id), button="Send it again",
                cancel_url=url_for("admin.order", order_id=order_id)))
        orders.resend_confirmation(order_id, Actor.admin(current_user))
        flash(f"The confirmation was sent again to {found.email}.", "success")
    return _back(order_id)

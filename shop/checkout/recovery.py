"""The links of the checkout reminder email: put the abandoned order back in the cart, and stop reminders.

Both links open a page with a button: following a link changes nothing, so a mail scanner that
fetches it cannot unsubscribe anyone, and another site cannot fill a shopper's cart.
"""
from flask import flash, redirect, render_template, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from shop.checkout import bp
from shop.core.outcomes import flash_refusals
from shop.services import ShopError, recovery


class ConfirmForm(FlaskForm):
    """The page's one button, with its CSRF token."""


def _invalid(error: ShopError):
    return render_template("checkout/recovery_invalid.html", message=str(error)), 404


@bp.route("/checkout/restore/<token>", methods=["GET", "POST"])
def recovery_restore(token: str):
    """Show the abandoned order's items; the button puts them back in the cart at today's prices and stock."""
    try:
        abandoned = recovery.abandoned_order(token)
    except ShopError as error:
        return _invalid(error)
    form = ConfirmForm()
    if form.validate_on_submit():
        with flash_refusals():
            user_id = current_user.id if current_user.is_authenticated else None
            for change in recovery.restore_cart(session, token, user_id):
                flash(change.message, "warning" if change.adjusted else "success")
            return redirect(url_for("cart.view"))
    return render_template("checkout/recovery.html", abandoned=abandoned, form=form)


@bp.route("/checkout/reminders/stop/<token>", methods=["GET", "POST"])
def recovery_unsubscribe(token: str):
    """Ask, then record, that the link's address wants no more checkout reminders; no login needed."""
    try:
        email = recovery.read_opt_out_token(token)
    except ShopError as error:
        return _invalid(error)
    form = ConfirmForm()
    if form.validate_on_submit():
        with flash_refusals():
            recovery.opt_out(token)
            flash(f"Done: {email} will get no more checkout reminders.", "success")
            return redirect(url_for("checkout.recovery_unsubscribe", token=token))
    return render_template("checkout/recovery_unsubscribe.html", email=email, form=form,
                           opted_out=recovery.is_opted_out(email))

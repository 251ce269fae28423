"""Admin shipping method pages: the list in checkout order, create, edit, reorder, deactivate and activate again."""
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from shop.admin import bp, listing
from shop.admin.categories import changes_sentence
from shop.admin.confirm import Confirmation, ask, confirmed
from shop.admin.forms.categories import MoveForm, refusals_shown_on
from shop.admin.forms.commerce import ShippingMethodForm
from shop.core.outcomes import flash_refusals, load_or_404
from shop.models import ShippingMethod
from shop.services import commerce_admin

METHODS_PER_PAGE = 50


def _actor():
    return current_user._get_current_object()


def _form_page(form: ShippingMethodForm, method: ShippingMethod | None):
    status = 422 if form.errors else 200
    return render_template("admin/shipping_method_form.html", form=form, method=method), status


@bp.get("/shipping")
def shipping_methods():
    """List shipping methods in the order checkout offers them, with where each is offered."""
    page = commerce_admin.shipping_list(listing.page(), METHODS_PER_PAGE)
    return render_template("admin/shipping_methods.html", page=page, place_name=commerce_admin.place_name)


@bp.route("/shipping/new", methods=["GET", "POST"])
def shipping_method_new():
    """Create a shipping method, offered after the others."""
    form = ShippingMethodForm()
    if form.validate_on_submit():
        with flash_refusals(), refusals_shown_on(form):
            saved = commerce_admin.create_shipping_method(_actor(), form.fields())
            flash(f"The shipping method {saved.name} was created.", "success")
            return redirect(url_for("admin.shipping_methods"))
    return _form_page(form, None)


@bp.route("/shipping/<id:method_id>", methods=["GET", "POST"])
def shipping_method_edit(method_id: int):
    """Edit a shipping method's name, price, free-over threshold and where it is offered."""
    method = load_or_404(commerce_admin.shipping_method_for_edit, method_id)
    form = ShippingMethodForm()
    if request.method == "GET":
        form.load(method, current_app.config["CURRENCY"])
    if form.validate_on_submit():
        with flash_refusals(), refusals_shown_on(form):
            saved = commerce_admin.update_shipping_method(_actor(), method_id, form.fields())
            flash(*changes_sentence(saved, "shipping method"))
            return redirect(url_for("admin.shipping_method_edit", method_id=method_id))
    return _form_page(form, method)


@bp.post("/shipping/<id:method_id>/move")
def shipping_method_move(method_id: int):
    """Move a shipping method one place up or down in the order checkout offers them."""
    form = MoveForm()
    page = listing.page()
    back = url_for("admin.shipping_methods", page=page) if page > 1 else url_for("admin.shipping_methods")
    if not form.validate_on_submit():
        flash("Choose whether to move the method up or down.", "error")
        return redirect(back)
    direction = form.direction.data or ""
    with flash_refusals():
        name, moved = commerce_admin.move_shipping_method(_actor(), method_id, direction)
        if moved:
            flash(f"{name} moved {direction}.", "success")
        else:
            flash(f"{name} is already {'first' if direction == 'up' else 'last'}.", "info")
    return redirect(back + f"#method-{method_id}")


@bp.route("/shipping/<id:method_id>/deactivate", methods=["GET", "POST"])
def shipping_method_deactivate(method_id: int):
    """Stop offering a shipping method at checkout, after confirmation."""
    return _set_active(method_id, active=False)


@bp.route("/shipping/<id:method_id>/activate", methods=["GET", "POST"])
def shipping_method_activate(method_id: int):
    """Offer a deactivated shipping method at checkout again, after confirmation."""
    return _set_active(method_id, active=True)


def _set_active(method_id: int, active: bool):
    method = load_or_404(commerce_admin.shipping_method_for_edit, method_id)
    back = url_for("admin.shipping_methods")
    if request.method == "POST" and confirmed():
        with flash_refusals():
            name, changed = commerce_admin.set_shipping_method_active(_actor(), method_id, active)
            if not changed:
                flash(f"{name} was already {'offered' if active else 'deactivated'}.", "info")
            else:
                flash(f"{name} is offered at checkout again." if active else
                      f"{name} is deactivated: checkout no longer offers it.", "success")
            return redirect(back)
    if active:
        question = f"Checkout will offer {method.name} again, where it is offered."
    else:
        others = commerce_admin.active_shipping_count() - (1 if method.is_active else 0)
        question = (f"Checkout will no longer offer {method.name}; orders already placed with it are not changed."
                    + ("" if others else " It is the last method offered: nobody will be able to check out "
                                         "until another one is active."))
    return ask(Confirmation(
        title=f"{'Activate' if active else 'Deactivate'} {method.name}?", question=question,
        action_url=url_for("admin.shipping_method_activate" if active else "admin.shipping_method_deactivate",
                           method_id=method_id),
        button=f"{'Activate' if active else 'Deactivate'} {method.name}", cancel_url=back, danger=not active,
    ))

"""Admin coupon pages: the list with uses and revenue, create, edit, deactivate and activate again."""
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from shop.admin import bp, listing
from shop.admin.categories import changes_sentence
from shop.admin.confirm import Confirmation, ask, confirmed
from shop.admin.forms.categories import refusals_shown_on
from shop.admin.forms.commerce import CouponForm
from shop.core.outcomes import flash_refusals, load_or_404
from shop.models import Coupon
from shop.services import commerce_admin

COUPONS_PER_PAGE = 50


def _actor():
    return current_user._get_current_object()


def _form_page(form: CouponForm, coupon: Coupon | None):
    chosen, matches = commerce_admin.coupon_product_choices(form.product_ids.data or [], form.product_search.data or "")
    status = 422 if form.errors else 200
    return render_template("admin/coupon_form.html", form=form, coupon=coupon, chosen_products=chosen,
                           product_matches=matches, categories=commerce_admin.coupon_category_choices(),
                           searched=bool(form.find_products.data and form.product_search.data)), status


def _searching(form: CouponForm) -> bool:
    """Return whether the owner pressed "Find products": the form comes back with matches, nothing is saved."""
    return request.method == "POST" and bool(form.find_products.data)


@bp.get("/coupons")
def coupons():
    """List coupons with uses and revenue; ?q= searches codes, ?status= and ?sort= narrow and order them."""
    term = listing.search_term()
    status = listing.choice("status", commerce_admin.COUPON_STATUSES)
    sort = listing.choice("sort", commerce_admin.COUPON_SORTS, "newest")
    page = commerce_admin.coupon_list(term, status, sort, listing.page(), COUPONS_PER_PAGE)
    return render_template("admin/coupons.html", page=page, term=term, status=status, sort=sort,
                           statuses=commerce_admin.COUPON_STATUSES, sorts=commerce_admin.COUPON_SORTS,
                           coupon_status=commerce_admin.coupon_status, last_day=commerce_admin.last_day)


@bp.route("/coupons/new", methods=["GET", "POST"])
def coupon_new():
    """Create a coupon."""
    form = CouponForm()
    if not _searching(form) and form.validate_on_submit():
        with flash_refusals(), refusals_shown_on(form):
            saved = commerce_admin.create_coupon(_actor(), form.fields())
            flash(f"The coupon {saved.name} was created.", "success")
            return redirect(url_for("admin.coupons"))
    return _form_page(form, None)


@bp.route("/coupons/<id:coupon_id>", methods=["GET", "POST"])
def coupon_edit(coupon_id: int):
    """Edit a coupon's code, discount, conditions, dates, limits and restrictions."""
    coupon = load_or_404(commerce_admin.coupon_for_edit, coupon_id)
    form = CouponForm()
    if request.method == "GET":
        form.load(coupon, current_app.config["CURRENCY"])
    if not _searching(form) and form.validate_on_submit():
        with flash_refusals(), refusals_shown_on(form):
            saved = commerce_admin.update_coupon(_actor(), coupon_id, form.fields())
            flash(*changes_sentence(saved, "coupon"))
            return redirect(url_for("admin.coupon_edit", coupon_id=coupon_id))
    return _form_page(form, coupon)


@bp.route("/coupons/<id:coupon_id>/deactivate", methods=["GET", "POST"])
def coupon_deactivate(coupon_id: int):
    """Stop a coupon working at checkout, after confirmation; orders that used it keep their discount."""
    return _set_active(coupon_id, active=False)


@bp.route("/coupons/<id:coupon_id>/activate", methods=["GET", "POST"])
def coupon_activate(coupon_id: int):
    """Let shoppers use a deactivated coupon again, after confirmation."""
    return _set_active(coupon_id, active=True)


def _set_active(coupon_id: int, active: bool):
    coupon = load_or_404(commerce_admin.coupon_for_edit, coupon_id)
    back = url_for("admin.coupon_edit", coupon_id=coupon_id)
    if request.method == "POST" and confirmed():
        with flash_refusals():
            code, changed = commerce_admin.set_coupon_active(_actor(), coupon_id, active)
            if not changed:
                flash(f"The coupon {code} was already {'active' if active else 'deactivated'}.", "info")
            else:
                flash(f"The coupon {code} works again at checkout." if active else
                      f"The coupon {code} is deactivated: shoppers can no longer use it.", "success")
            return redirect(back)
    if active:
        question = (f"Shoppers will be able to use {coupon.code} again, within its dates and limits.")
    else:
        question = (f"Shoppers will no longer be able to use {coupon.code}. Orders that already used it keep their "
                    "discount, and you can activate it again later.")
    return ask(Confirmation(
        title=f"{'Activate' if active else 'Deactivate'} the coupon {coupon.code}?", question=question,
        action_url=url_for("admin.coupon_activate" if active else "admin.coupon_deactivate", coupon_id=coupon_id),
        button=f"{'Activate' if active else 'Deactivate'} {coupon.code}", cancel_url=back, danger=not active,
    ))

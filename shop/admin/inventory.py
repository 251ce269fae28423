"""Admin inventory pages: the stock list, a variant's adjustment form, and its stock history."""
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from shop.admin import bp, listing
from shop.admin.forms.inventory import StockAdjustmentForm
from shop.core.outcomes import flash_refusals, load_or_404
from shop.core.redirects import safe_local_path
from shop.models import Product, StockReason
from shop.models.inventory import ADJUSTMENT_REASONS
from shop.services.admin_overview import low_stock_threshold
from shop.services.inventory import (
    REASON_WORDS,
    SORTS,
    STATUSES,
    STOCK_LEVELS,
    InventoryFilters,
    adjust_stock,
    find_variant,
    list_variants,
    variant_history,
)

VARIANTS_PER_PAGE = 50
MOVEMENTS_PER_PAGE = 50
# The list's one-line form has no note, so "other" (which needs one) is left to the variant's own page.
INLINE_REASONS = [(reason.value, REASON_WORDS[reason]) for reason in ADJUSTMENT_REASONS if reason != StockReason.OTHER]


def product_link(product: Product) -> str:
    """Link to the product's admin page when the products section has one, else to its storefront page."""
    if "admin.product_edit" in current_app.view_functions:
        return url_for("admin.product_edit", product_id=product.id)
    return url_for("catalog.product", slug=product.slug)


@bp.get("/inventory")
def inventory():
    """List variants and their stock; ?stock=low|out, ?status=active|inactive, ?q= and ?sort= narrow and order it."""
    filters = InventoryFilters(
        term=listing.search_term(), stock=listing.choice("stock", STOCK_LEVELS),
        status=listing.choice("status", STATUSES), sort=listing.choice("sort", SORTS, "stock"),
    )
    page = list_variants(filters, listing.page(), VARIANTS_PER_PAGE)
    threshold = low_stock_threshold()
    return render_template(
        "admin/inventory.html", page=page, filters=filters, threshold=threshold,
        stock_levels={**STOCK_LEVELS, "low": f"Low (1 to {threshold})"}, statuses=STATUSES, sorts=SORTS,
        inline_reasons=INLINE_REASONS, product_link=product_link,
    )


@bp.route("/inventory/<id:variant_id>", methods=["GET", "POST"])
def inventory_adjust(variant_id: int):
    """Show a variant's stock adjustment form; apply it, then show its history (or the list it came from)."""
    variant = load_or_404(find_variant, variant_id)
    form = StockAdjustmentForm()
    if form.validate_on_submit():
        quantity = form.quantity.data
        with flash_refusals():
            adjustment = adjust_stock(
                current_user._get_current_object(), variant_id, form.stock_reason, form.note.data or "",
                **({"set_to": quantity} if form.mode.data == "set" else {"delta": quantity}),
            )
            flash(adjustment.describe(), "success" if adjustment.changed else "info")
            back = _inventory_list_path(form.next.data)
            return redirect(back or url_for("admin.inventory_history", variant_id=variant_id))
        variant = load_or_404(find_variant, variant_id)  # the refusal names the stock as it is now; so does the page
    status = 422 if request.method == "POST" else 200
    return render_template("admin/variant_adjust.html", variant=variant, form=form,
                           product_link=product_link), status


@bp.get("/inventory/<id:variant_id>/history")
def inventory_history(variant_id: int):
    """Show every stock movement of a variant, newest first, with its current stock."""
    history = load_or_404(variant_history, variant_id, listing.page(), MOVEMENTS_PER_PAGE)
    return render_template("admin/variant_history.html", history=history, variant=history.variant,
                           product_link=product_link)


def _inventory_list_path(target: str | None) -> str | None:
    """Return target if it is the inventory list (with its filters), the only place an inline form goes back to."""
    path = safe_local_path(target)
    list_path = url_for("admin.inventory")
    if path is None or (path != list_path and not path.startswith(list_path + "?")):
        return None
    return path

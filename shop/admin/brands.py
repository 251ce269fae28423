"""Admin brand pages: the list, create, edit (name, slug, description, logo) and delete."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from shop.admin import bp, listing
from shop.admin.categories import changes_sentence
from shop.admin.confirm import Confirmation, ask, confirmed
from shop.admin.forms.brands import BrandForm
from shop.admin.forms.categories import refusals_shown_on
from shop.core.outcomes import flash_refusals, load_or_404
from shop.models import Brand
from shop.services import taxonomy

BRANDS_PER_PAGE = 50


def _actor():
    return current_user._get_current_object()


def _form_page(form: BrandForm, brand: Brand | None):
    status = 422 if form.errors else 200
    return render_template("admin/brand_form.html", form=form, brand=brand), status


@bp.get("/brands")
def brands():
    """List brands with their product counts; ?q= searches names, ?products= filters, ?sort= orders them."""
    term = listing.search_term()
    sort = listing.choice("sort", taxonomy.BRAND_SORTS, "name")
    products = listing.choice("products", taxonomy.BRAND_PRODUCT_FILTERS)
    page = taxonomy.brand_list(term, sort, listing.page(), BRANDS_PER_PAGE, products=products)
    return render_template("admin/brands.html", page=page, term=term, sort=sort, sorts=taxonomy.BRAND_SORTS,
                           products=products, product_filters=taxonomy.BRAND_PRODUCT_FILTERS)


@bp.route("/brands/new", methods=["GET", "POST"])
def brand_new():
    """Create a brand."""
    form = BrandForm()
    if form.validate_on_submit():
        with flash_refusals(), refusals_shown_on(form):
            saved = taxonomy.create_brand(_actor(), form.fields(), logo=form.logo.data)
            flash(f"The brand {saved.name} was created.", "success")
            return redirect(url_for("admin.brands"))
    return _form_page(form, None)


@bp.route("/brands/<id:brand_id>", methods=["GET", "POST"])
def brand_edit(brand_id: int):
    """Edit a brand's name, slug, description and logo."""
    brand = load_or_404(taxonomy.brand_for_edit, brand_id)
    form = BrandForm(obj=brand)
    if form.validate_on_submit():
        with flash_refusals(), refusals_shown_on(form):
            saved = taxonomy.update_brand(_actor(), brand_id, form.fields(), logo=form.logo.data,
                                          remove_logo=form.remove_logo.data)
            flash(*changes_sentence(saved, "brand"))
            return redirect(url_for("admin.brand_edit", brand_id=brand_id))
    return _form_page(form, brand)


@bp.route("/brands/<id:brand_id>/delete", methods=["GET", "POST"])
def brand_delete(brand_id: int):
    """Delete a brand after confirmation; its products stay, showing no brand."""
    brand = load_or_404(taxonomy.brand_for_edit, brand_id)
    if request.method == "POST" and confirmed():
        with flash_refusals():
            name, detached = taxonomy.delete_brand(_actor(), brand_id)
            products = f"{detached} product{'' if detached == 1 else 's'} now show{'s' if detached == 1 else ''}"
            flash(f"The brand {name} was deleted; {products} no brand.", "success")
            return redirect(url_for("admin.brands"))
    count = taxonomy.brand_product_count(brand_id)
    products = f"{count} product{'' if count == 1 else 's'} will show no brand" if count else "No product has it"
    return ask(Confirmation(
        title=f"Delete the brand {brand.name}?",
        question=f"{products}; the products themselves stay in the shop. Deleting it cannot be undone.",
        action_url=url_for("admin.brand_delete", brand_id=brand_id), button=f"Delete {brand.name}",
        cancel_url=url_for("admin.brand_edit", brand_id=brand_id),
    ))

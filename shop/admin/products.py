"""Admin product pages: the list with bulk status changes, create and edit, variants, delete."""
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import FieldList
from wtforms.fields.choices import SelectChoice

from shop.admin import bp
from shop.admin.confirm import Confirmation, ask, confirmed
from shop.admin.forms.products import (
    SPARE_SPECIFICATION_ROWS,
    BulkProductsForm,
    ProductForm,
    VariantsForm,
)
from shop.admin.listing import choice, id_filter, page, search_term
from shop.core.outcomes import flash_refusals, load_or_404
from shop.money import minor_units_per_major
from shop.services import NotFound, ShopError, catalog_admin
from shop.services.catalog_admin import (
    SORTS,
    STATUSES,
    STOCK_FILTERS,
    InvalidProduct,
    ProductFields,
    ProductFilters,
    VariantRow,
)

PRODUCTS_PER_PAGE = 50


def _actor():
    return current_user._get_current_object()


def _amount_text(cents: int | None) -> str:
    """Return cents as the admin types them: 1999 -> "19.99" (no symbol, no thousands separator)."""
    if cents is None:
        return ""
    if minor_units_per_major(current_app.config["CURRENCY"]) == 1:
        return str(cents)
    return f"{cents // 100}.{cents % 100:02d}"


def _show_errors(form, errors: dict[str, str]) -> None:
    """Put the service's messages next to their fields; one with no field of its own is flashed."""
    for name, message in errors.items():
        parts = name.split("-")
        field = form._fields.get(parts[0])
        if isinstance(field, FieldList):
            index = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else -1
            field = field.entries[index].form._fields.get(parts[2]) if 0 <= index < len(field.entries) else None
        if field is None:
            flash(message, "error")
        else:
            field.errors = [*field.errors, message]


def _other_pages() -> dict[str, bool]:
    """Say which pages other sections provide, so a product's pages link to them once they exist."""
    views = current_app.view_functions
    return {"images_page": "admin.product_images" in views, "inventory": "admin.inventory" in views,
            "inventory_adjust": "admin.inventory_adjust" in views}


def _attempt(form, use_case, *args):
    """Run the use case and return its result, or None once its refusal is on the page."""
    try:
        return use_case(_actor(), *args)
    except InvalidProduct as error:
        _show_errors(form, error.errors)
        flash(str(error), "error")
    except NotFound:
        abort(404)
    except ShopError as error:
        flash(str(error), "error")
    return None


@bp.get("/products")
def products():
    """List products with search, filters, sort and pagination; tick some to (de)activate them together."""
    filters = ProductFilters(
        term=search_term(), category_id=id_filter("category"), brand_id=id_filter("brand"),
        status=choice("status", STATUSES), stock=choice("stock", STOCK_FILTERS), sort=choice("sort", SORTS, "name"),
    )
    listing = catalog_admin.list_products(filters, page(), PRODUCTS_PER_PAGE)
    return render_template(
        "admin/products.html", page=listing, filters=filters, bulk_form=BulkProductsForm(),
        categories=catalog_admin.category_choices(), brands=catalog_admin.brand_choices(),
        sorts=SORTS, statuses=STATUSES, stock_filters=STOCK_FILTERS,
    )


def _with_choices(form: ProductForm) -> ProductForm:
    form.category.choices = [SelectChoice("", "Choose a category…")] + [
        SelectChoice(str(id_), label) for id_, label in catalog_admin.category_choices()]
    form.brand.choices = [SelectChoice("", "No brand")] + [
        SelectChoice(str(id_), name) for id_, name in catalog_admin.brand_choices()]
    return form


def _product_fields(form: ProductForm) -> ProductFields:
    return ProductFields(
        name=form.name.data, slug=form.slug.data or "", description=form.description.data or "",
        category_id=int(form.category.data), brand_id=int(form.brand.data) if form.brand.data else None,
        is_featured=form.is_featured.data, is_active=form.is_active.data, seo_title=form.seo_title.data or "",
        meta_description=form.meta_description.data or "", specifications=form.specification_pairs(),
        options=form.options(),
    )


def _blank_specifications() -> list[dict]:
    return [{"name": "", "value": ""}] * SPARE_SPECIFICATION_ROWS


@bp.route("/products/new", methods=["GET", "POST"])
def product_new():
    """Create a product; its variants are set on the next page."""
    if request.method == "POST":
        form = _with_choices(ProductForm())
    else:
        form = _with_choices(ProductForm(data={"is_active": True, "specifications": _blank_specifications()}))
    if form.validate_on_submit():
        product = _attempt(form, catalog_admin.create_product, _product_fields(form))
        if product is not None:
            flash(f"Created {product.name}. Now choose which combinations to sell and set their prices.", "success")
            return redirect(url_for("admin.product_variants", product_id=product.id))
    return render_template("admin/product_form.html", form=form, product=None, **_other_pages())


@bp.route("/products/<id:product_id>", methods=["GET", "POST"])
def product_edit(product_id: int):
    """Edit a product's details, options and specifications."""
    product = load_or_404(catalog_admin.product_for_edit, product_id)
    if request.method == "POST":
        form = _with_choices(ProductForm())
    else:
        options = {}
        for option in product.options:
            options[f"option{option.position + 1}_name"] = option.name
            options[f"option{option.position + 1}_values"] = ", ".join(value.value for value in option.values)
        form = _with_choices(ProductForm(data={
            "name": product.name, "slug": product.slug, "description": product.description,
            "category": str(product.category_id), "brand": str(product.brand_id or ""),
            "is_featured": product.is_featured, "is_active": product.is_active, "seo_title": product.seo_title,
            "meta_description": product.meta_description,
            "specifications": [{"name": spec.name, "value": spec.value} for spec in product.specifications]
            + _blank_specifications(),
            **options,
        }))
    if form.validate_on_submit():
        summary = _attempt(form, catalog_admin.update_product, product_id, _product_fields(form))
        if summary is not None:
            flash(summary, "success")
            return redirect(url_for("admin.product_edit", product_id=product_id))
    return render_template("admin/product_form.html", form=form, product=product, **_other_pages())


def _image_choices(product) -> list[SelectChoice]:
    return [SelectChoice("", "No image")] + [SelectChoice(str(image.id), image.alt or f"Image {number}")
                                             for number, image in enumerate(product.images, start=1)]


@bp.route("/products/<id:product_id>/variants", methods=["GET", "POST"])
def product_variants(product_id: int):
    """Choose which combinations of the option values are sold, with SKU, prices, image and initial stock."""
    product = load_or_404(catalog_admin.product_for_edit, product_id)
    grid = catalog_admin.variant_grid(product)
    if request.method == "POST":
        form = VariantsForm()
    else:
        form = VariantsForm(data={"variants": [{
            "combination": row.label, "enabled": row.enabled,
            "sku": row.variant.sku if row.variant else "",
            "price": _amount_text(row.variant.price_cents) if row.variant else "",
            "compare_at": _amount_text(row.variant.compare_at_cents) if row.variant else "",
            "image": str(row.variant.image_id or "") if row.variant else "", "initial_stock": 0,
        } for row in grid]})
    choices = _image_choices(product)
    for entry in form.variants.entries:
        entry.form.image.choices = choices
    if form.validate_on_submit():
        entries = [entry.form for entry in form.variants.entries]
        if [entry.combination.data for entry in entries] != [row.label for row in grid]:
            flash("The product's options changed since this page was loaded. Please check the list again.", "error")
            return redirect(url_for("admin.product_variants", product_id=product_id))
        rows = [VariantRow(
            values=row.values, enabled=entry.enabled.data, sku=entry.sku.data or "", price_cents=entry.price.cents,
            compare_at_cents=entry.compare_at.cents, image_id=int(entry.image.data) if entry.image.data else None,
            initial_stock=entry.initial_stock.data or 0,
        ) for row, entry in zip(grid, entries, strict=True)]
        summary = _attempt(form, catalog_admin.save_variants, product_id, rows)
        if summary is not None:
            flash(summary, "success")
            return redirect(url_for("admin.product_variants", product_id=product_id))
    return render_template(
        "admin/product_variants.html", form=form, product=product,
        rows=list(zip(grid, form.variants.entries, strict=False)), retired=catalog_admin.retired_variants(product),
        **_other_pages())


@bp.route("/products/bulk", methods=["POST"])
def products_bulk():
    """Activate or deactivate the ticked products, after a confirmation page."""
    form = BulkProductsForm()
    if not form.validate():
        flash("Select at least one product and an action.", "error")
        return redirect(url_for("admin.products"))
    chosen = catalog_admin.products_named(form.product_ids.data)
    if not chosen:
        flash("Those products no longer exist.", "error")
        return redirect(url_for("admin.products"))
    verb = form.action.data
    active = verb == "activate"
    if not confirmed():
        count = f"{len(chosen)} product{'s' if len(chosen) != 1 else ''}"
        return ask(Confirmation(
            title=f"{verb.title()} {count}?",
            question=("They will be for sale again." if active else
                      "They disappear from the shop, search and carts; their order history stays."),
            action_url=url_for("admin.products_bulk"), button=f"{verb.title()} {count}",
            cancel_url=url_for("admin.products"), items=[product.name for product in chosen], danger=not active,
        ), [("action", verb), *(("product_ids", str(product.id)) for product in chosen)])
    names = catalog_admin.set_products_active(_actor(), [product.id for product in chosen], active)
    if names:
        noun = "product" if len(names) == 1 else "products"
        flash(f"{'Activated' if active else 'Deactivated'} {len(names)} {noun}: {', '.join(names)}.", "success")
    else:
        flash(f"Nothing changed: those products were already {'active' if active else 'inactive'}.", "info")
    return redirect(url_for("admin.products"))


@bp.route("/products/<id:product_id>/delete", methods=["GET", "POST"])
def product_delete(product_id: int):
    """Delete a product after a confirmation page; one that was ever ordered is deactivated instead."""
    product = load_or_404(catalog_admin.product_for_edit, product_id)
    if not confirmed():
        ordered = catalog_admin.was_ordered(product_id)
        question = (
            "It has been ordered before, so it cannot be deleted: it will be deactivated instead. It leaves the "
            "shop, search and carts, and its orders keep their history." if ordered else
            f"The product, its {len(product.variants)} variant(s) and {len(product.images)} image(s) are deleted "
            "for good. This cannot be undone."
        )
        return ask(Confirmation(
            title=f"{'Deactivate' if ordered else 'Delete'} {product.name}?", question=question,
            action_url=url_for("admin.product_delete", product_id=product_id),
            button="Deactivate the product" if ordered else "Delete the product",
            cancel_url=url_for("admin.product_edit", product_id=product_id),
        ))
    with flash_refusals():
        result = catalog_admin.delete_product(_actor(), product_id)
        if result.deleted:
            flash(f"Deleted {result.name}.", "success")
        else:
            flash(f"{result.name} has been ordered, so it was deactivated instead of deleted; "
                  "its order history stays.", "success")
    return redirect(url_for("admin.products"))

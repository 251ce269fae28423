"""A product's photos: upload several at once, alt text, order, main photo, delete (after confirming)."""
from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from shop.admin import bp
from shop.admin.confirm import Confirmation, ask, confirmed
from shop.admin.forms.images import AltTextForm, MovePhotoForm, PhotoUploadForm
from shop.core.outcomes import flash_refusals, load_or_404
from shop.models import Product
from shop.services import product_images as photos
from shop.services.product_images import MAX_FILES_PER_UPLOAD


@bp.get("/products/<id:product_id>/images")
def product_images(product_id: int):
    """Show the product's photos with their alt text, order and actions, and the upload form."""
    product = load_or_404(photos.product_with_images, product_id)
    return _page(product, PhotoUploadForm())


@bp.post("/products/<id:product_id>/images")
def product_images_upload(product_id: int):
    """Store the chosen photos; each refused file is named with the reason."""
    form = PhotoUploadForm()
    if form.validate_on_submit():
        with flash_refusals():
            outcome = photos.add_images(_actor(), product_id, form.photos.data, form.alt.data)
            if outcome.added:
                flash(_added_message(outcome.added), "success")
                for refusal in outcome.refused:
                    flash(refusal, "error")
                return redirect(url_for("admin.product_images", product_id=product_id))
            form.photos.errors = list(outcome.refused)
    product = load_or_404(photos.product_with_images, product_id)
    return _page(product, form, status=422)


@bp.post("/products/<id:product_id>/images/<id:image_id>/alt")
def product_image_alt(product_id: int, image_id: int):
    """Change one photo's alt text."""
    form = AltTextForm()
    if form.validate_on_submit():
        with flash_refusals():
            changed = photos.set_alt(_actor(), product_id, image_id, form.alt.data)
            flash(f"The alt text is now “{form.alt.data}”." if changed else "The alt text was already that.",
                  "success" if changed else "info")
            return redirect(url_for("admin.product_images", product_id=product_id))
    product = load_or_404(photos.product_with_images, product_id)
    load_or_404(photos.product_image, product_id, image_id)
    return _page(product, PhotoUploadForm(formdata=None), alt_edit=(image_id, form.alt.data or "", form.alt.errors),
                 status=422)


@bp.post("/products/<id:product_id>/images/<id:image_id>/move")
def product_image_move(product_id: int, image_id: int):
    """Move a photo one place up or down."""
    form = MovePhotoForm()
    if not form.validate_on_submit():
        flash("Choose whether to move the photo up or down.", "error")
    else:
        with flash_refusals():
            moved = photos.move_image(_actor(), product_id, image_id, form.direction.data)
            flash(f"The photo moved {form.direction.data}." if moved
                  else f"The photo is already the {'first' if form.direction.data == 'up' else 'last'}.",
                  "success" if moved else "info")
    return redirect(url_for("admin.product_images", product_id=product_id))


@bp.post("/products/<id:product_id>/images/<id:image_id>/main")
def product_image_main(product_id: int, image_id: int):
    """Make a photo the product's main (first) photo."""
    with flash_refusals():
        changed = photos.make_main(_actor(), product_id, image_id)
        flash("This photo is now the main photo." if changed else "This photo already was the main photo.",
              "success" if changed else "info")
    return redirect(url_for("admin.product_images", product_id=product_id))


@bp.route("/products/<id:product_id>/images/<id:image_id>/delete", methods=["GET", "POST"])
def product_image_delete(product_id: int, image_id: int):
    """Ask, then delete a photo and its files."""
    product = load_or_404(photos.product_with_images, product_id)
    image = load_or_404(photos.product_image, product_id, image_id)
    back = url_for("admin.product_images", product_id=product_id)
    if not confirmed():
        return ask(Confirmation(
            title="Delete this photo?",
            question=f"The photo is removed from {product.name} and its files are deleted. "
                     "Variants that showed it show the main photo instead. This cannot be undone.",
            action_url=url_for("admin.product_image_delete", product_id=product_id, image_id=image_id),
            button="Delete the photo", cancel_url=back, items=[image.alt or image.filename]))
    with flash_refusals():
        alt = photos.delete_image(_actor(), product_id, image_id)
        flash(f"Deleted the photo “{alt}” of {product.name}.", "success")
    return redirect(back)


def _page(product: Product, form: PhotoUploadForm, alt_edit: tuple[int, str, list] | None = None,
          status: int = 200):
    views = current_app.view_functions
    return render_template(
        "admin/product_images.html", product=product, form=form, alt_edit=alt_edit,
        products_url=url_for("admin.products") if "admin.products" in views else None,
        edit_url=url_for("admin.product_edit", product_id=product.id) if "admin.product_edit" in views else None,
        max_mb=current_app.config["MAX_UPLOAD_MB"], max_files=MAX_FILES_PER_UPLOAD,
    ), status


def _added_message(alts: list[str]) -> str:
    if len(alts) == 1:
        return f"Added the photo “{alts[0]}”."
    return f"Added {len(alts)} photos: " + "; ".join(f"“{alt}”" for alt in alts) + "."


def _actor():
    return current_user._get_current_object()

"""Admin category pages: the tree, create, edit (rename, move, SEO, image), reorder siblings and delete."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from shop.admin import bp, listing
from shop.admin.confirm import Confirmation, ask, confirmed
from shop.admin.forms.categories import CategoryForm, MoveForm, refusals_shown_on
from shop.core.outcomes import flash_refusals, load_or_404
from shop.models import Category
from shop.services import taxonomy


def _actor():
    return current_user._get_current_object()


def changes_sentence(saved: taxonomy.Saved, noun: str) -> tuple[str, str]:
    """Return the flash message (and its category) saying exactly what an edit changed."""
    if not saved.changed:
        return f"Nothing changed in the {noun} {saved.name}.", "info"
    labels = saved.changed
    listed = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    return f"The {noun} {saved.name} was saved: {listed} changed.", "success"


def _form_page(form: CategoryForm, category: Category | None):
    status = 422 if form.errors else 200
    return render_template("admin/category_form.html", form=form, category=category), status


@bp.get("/categories")
def categories():
    """Show the category tree with product counts; ?q= searches names, ?status= filters."""
    term = listing.search_term()
    status = listing.choice("status", taxonomy.CATEGORY_STATUSES)
    rows = taxonomy.category_tree(term, status)
    return render_template("admin/categories.html", rows=rows, term=term, status=status,
                           statuses=taxonomy.CATEGORY_STATUSES, filtered=bool(term or status))


@bp.route("/categories/new", methods=["GET", "POST"])
def category_new():
    """Create a category; ?parent= preselects its parent."""
    form = CategoryForm()
    form.set_parents(taxonomy.parent_choices())
    if request.method == "GET":
        form.parent_id.data = listing.id_filter("parent")
    if form.validate_on_submit():
        with flash_refusals(), refusals_shown_on(form):
            saved = taxonomy.create_category(_actor(), form.fields(), image=form.image.data)
            flash(f"The category {saved.name} was created.", "success")
            return redirect(url_for("admin.categories", _anchor=f"category-{saved.id}"))
    return _form_page(form, None)


@bp.route("/categories/<id:category_id>", methods=["GET", "POST"])
def category_edit(category_id: int):
    """Edit a category: name, slug, parent (a move), description, SEO fields, active flag and image."""
    category = load_or_404(taxonomy.category_for_edit, category_id)
    form = CategoryForm(obj=category)
    form.set_parents(taxonomy.parent_choices(category_id))
    if form.validate_on_submit():
        with flash_refusals(), refusals_shown_on(form):
            saved = taxonomy.update_category(_actor(), category_id, form.fields(), image=form.image.data,
                                             remove_image=form.remove_image.data)
            flash(*changes_sentence(saved, "category"))
            return redirect(url_for("admin.category_edit", category_id=category_id))
    return _form_page(form, category)


@bp.post("/categories/<id:category_id>/move")
def category_move(category_id: int):
    """Move a category one place up or down among its siblings."""
    form = MoveForm()
    if not form.validate_on_submit():
        flash("Choose whether to move the category up or down.", "error")
        return redirect(url_for("admin.categories"))
    direction = form.direction.data
    with flash_refusals():
        name, moved = taxonomy.move_category(_actor(), category_id, direction)
        if moved:
            flash(f"{name} moved {direction}.", "success")
        else:
            flash(f"{name} is already {'first' if direction == 'up' else 'last'} among its siblings.", "info")
    return redirect(url_for("admin.categories", _anchor=f"category-{category_id}"))


@bp.route("/categories/<id:category_id>/delete", methods=["GET", "POST"])
def category_delete(category_id: int):
    """Delete an empty category after confirmation; one still holding products or subcategories is refused."""
    check = load_or_404(taxonomy.category_delete_check, category_id)
    edit_url = url_for("admin.category_edit", category_id=category_id)
    if check.refusal:
        flash(check.refusal, "error")
        return redirect(edit_url)
    if request.method == "POST" and confirmed():
        with flash_refusals():
            name = taxonomy.delete_category(_actor(), category_id)
            flash(f"The category {name} was deleted.", "success")
            return redirect(url_for("admin.categories"))
        return redirect(edit_url)
    name = check.category.name
    return ask(Confirmation(
        title=f"Delete the category {name}?",
        question=f"{name} holds no products and no subcategories. Deleting it cannot be undone.",
        action_url=url_for("admin.category_delete", category_id=category_id), button=f"Delete {name}",
        cancel_url=edit_url,
    ))

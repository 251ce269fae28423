"""Admin pages for the shop's information pages: the list, create, edit (text, publish, footer, order) and delete."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from shop.admin import bp, listing
from shop.admin.confirm import Confirmation, ask, confirmed
from shop.admin.forms.categories import refusals_shown_on, slug_field
from shop.core.fields import storable, storable_text, strip
from shop.core.outcomes import flash_refusals, load_or_404
from shop.models import ContentPage, lengths
from shop.services import content_pages

PAGES_PER_PAGE = 50
BODY_HELP = ("Markdown: a blank line between paragraphs, ## for a section heading, - for a list, **bold**, "
             "[a link](https://…). A paragraph of just [shipping methods] shows the shipping methods and their "
             "prices; one of just [contact details], the contact email and postal address.")


class PageForm(FlaskForm):
    title = StringField("Title", filters=[strip], validators=[
        DataRequired("Please enter the title."),
        Length(max=lengths.PAGE_TITLE, message=f"The title can be at most {lengths.PAGE_TITLE} characters long."),
        storable], render_kw={"maxlength": lengths.PAGE_TITLE})
    slug = slug_field(lengths.PAGE_SLUG)
    body = TextAreaField("Text", description=BODY_HELP, validators=[
        Optional(), Length(max=lengths.PAGE_BODY, message=f"The text can be at most {lengths.PAGE_BODY:,} characters "
                                                          "long."), storable_text], render_kw={"rows": 18})
    is_published = BooleanField("Published (shoppers can open it)")
    show_in_footer = BooleanField("Linked from the footer", default=True)
    position = IntegerField("Position (lower comes first in the footer)", default=0, validators=[
        InputRequired("Please enter the position as a whole number."),
        NumberRange(-10_000, 10_000, "The position must be between -10,000 and 10,000.")])

    def fields(self) -> content_pages.PageFields:
        """Return what was submitted in the shape the content pages service takes."""
        return content_pages.PageFields(
            title=self.title.data or "", slug=self.slug.data or "", body=self.body.data or "",
            is_published=bool(self.is_published.data), show_in_footer=bool(self.show_in_footer.data),
            position=self.position.data or 0)


def _actor():
    return current_user._get_current_object()


def _form_page(form: PageForm, page: ContentPage | None):
    return render_template("admin/content_page_form.html", form=form, page=page), 422 if form.errors else 200


@bp.get("/pages", endpoint="content_pages")
def page_list():
    """List the pages in their order; ?q= searches titles and slugs, ?status= shows published or unpublished."""
    term = listing.search_term()
    status = listing.choice("status", content_pages.ADMIN_STATUSES)
    page = content_pages.admin_pages(term, status, listing.page(), PAGES_PER_PAGE)
    return render_template("admin/content_pages.html", page=page, term=term, status=status,
                           statuses=content_pages.ADMIN_STATUSES, unsaved=content_pages.unsaved_starting_pages())


@bp.route("/pages/new", methods=["GET", "POST"])
def content_page_new():
    """Create a page; ?start=<slug> begins from a starting page's text (one the shop shows without a row)."""
    starting = content_pages.STARTING_BY_SLUG.get(request.args.get("start", "", type=str))
    if request.method == "GET" and starting:
        form = PageForm(data={"title": starting.title, "slug": starting.slug, "body": starting.body,
                              "is_published": True, "show_in_footer": True, "position": starting.position})
    else:
        form = PageForm()
    if form.validate_on_submit():
        with flash_refusals(), refusals_shown_on(form):
            saved = content_pages.create_page(_actor(), form.fields())
            state = "published" if form.is_published.data else "saved, not published yet"
            flash(f"The page {saved.title} was {state}.", "success")
            return redirect(url_for("admin.content_page_edit", page_id=saved.id))
    return _form_page(form, None)


@bp.route("/pages/<id:page_id>", methods=["GET", "POST"])
def content_page_edit(page_id: int):
    """Edit a page's title, slug, text, publish and footer flags and position."""
    page = load_or_404(content_pages.page_for_edit, page_id)
    form = PageForm(obj=page)
    if form.validate_on_submit():
        with flash_refusals(), refusals_shown_on(form):
            saved = content_pages.update_page(_actor(), page_id, form.fields())
            if saved.changed:
                flash(f"The page {saved.title} was saved: {_listed(saved.changed)} changed.", "success")
            else:
                flash(f"Nothing changed in the page {saved.title}.", "info")
            return redirect(url_for("admin.content_page_edit", page_id=page_id))
    return _form_page(form, page)


@bp.route("/pages/<id:page_id>/delete", methods=["GET", "POST"])
def content_page_delete(page_id: int):
    """Delete a page after confirmation; a starting page goes back to its starting text."""
    page = load_or_404(content_pages.page_for_edit, page_id)
    if request.method == "POST" and confirmed():
        with flash_refusals():
            title = content_pages.delete_page(_actor(), page_id)
            flash(f"The page {title} was deleted.", "success")
            return redirect(url_for("admin.content_pages"))
    starting = content_pages.STARTING_BY_SLUG.get(page.slug)
    if starting:
        question = (f"{page.title} is one of the shop's starting pages: once deleted, /pages/{page.slug} shows its "
                    "starting text again, in the footer too. To take it off the shop, unpublish it instead.")
    else:
        question = (f"Shoppers will no longer find /pages/{page.slug}, and links to it will show “not found”. "
                    "Deleting it cannot be undone; to hide it for a while, unpublish it instead.")
    return ask(Confirmation(
        title=f"Delete the page {page.title}?", question=question,
        items=[f"{page.title} (/pages/{page.slug}), {'published' if page.is_published else 'not published'}"],
        action_url=url_for("admin.content_page_delete", page_id=page_id), button=f"Delete {page.title}",
        cancel_url=url_for("admin.content_page_edit", page_id=page_id),
    ))


def _listed(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]

"""The category form, and the helpers the category and brand forms share."""
from collections.abc import Iterator
from contextlib import contextmanager

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from shop.core.converters import MAX_ID
from shop.core.fields import storable, storable_text, strip
from shop.models import lengths
from shop.services.taxonomy import MAX_DESCRIPTION, CategoryFields, FieldRefusal

TOP_LEVEL = ""
SLUG_HELP = "Lower-case letters, digits and hyphens; leave it empty to make one from the name."


def name_field(label: str, max_length: int) -> StringField:
    return StringField(label, filters=[strip], validators=[
        DataRequired(f"Please enter the {label.lower()}."),
        Length(max=max_length, message=f"The {label.lower()} can be at most {max_length} characters long."),
        storable], render_kw={"maxlength": max_length})


def slug_field(max_length: int) -> StringField:
    return StringField("Slug (in the address)", filters=[strip], description=SLUG_HELP, validators=[
        Optional(), Length(max=max_length, message=f"The slug can be at most {max_length} characters long."),
        Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z",
               message="A slug has lower-case letters and digits, joined by single hyphens (e.g. dome-tents).")],
        render_kw={"maxlength": max_length})


def description_field() -> TextAreaField:
    return TextAreaField("Description (Markdown: paragraphs, lists, **bold**, [links](https://…))", validators=[
        Optional(), Length(max=MAX_DESCRIPTION,
                           message=f"The description can be at most {MAX_DESCRIPTION:,} characters long."),
        storable_text])


def picture_field(label: str) -> FileField:
    return FileField(label, description="JPEG, PNG or WebP.",
                     render_kw={"accept": "image/jpeg,image/png,image/webp"})


@contextmanager
def refusals_shown_on(form: FlaskForm) -> Iterator[None]:
    """Show a service's refusal about one field next to that field (other refusals pass on)."""
    try:
        yield
    except FieldRefusal as refusal:
        field = getattr(form, refusal.field, None)
        if field is None:
            raise
        field.errors = [*field.errors, str(refusal)]


def category_id(value) -> int | None:
    """Turn the parent select's value into a category id, None for "top level"; refuse anything else."""
    if value is None or value == TOP_LEVEL:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10 and 0 < int(value) <= MAX_ID:
        return int(value)
    raise ValueError("Choose a category from the list.")


class CategoryForm(FlaskForm):
    name = name_field("Name", lengths.CATEGORY_NAME)
    slug = slug_field(lengths.CATEGORY_SLUG)
    # The service checks the parent (it exists, and is not the category or one of its descendants).
    parent_id = SelectField("Parent category", coerce=category_id, validate_choice=False,
                            invalid_value_message="Choose a category from the list.")
    description = description_field()
    seo_title = StringField("SEO title (the browser tab and search results; empty uses the name)", filters=[strip],
                            validators=[Optional(), Length(max=lengths.SEO_TITLE), storable],
                            render_kw={"maxlength": lengths.SEO_TITLE})
    meta_description = TextAreaField("Meta description (the summary search engines show)", filters=[strip],
                                     validators=[Optional(), Length(max=lengths.META_DESCRIPTION), storable],
                                     render_kw={"maxlength": lengths.META_DESCRIPTION, "rows": 3})
    is_active = BooleanField("Active (shoppers see it, and the categories under it)", default=True)
    image = picture_field("Image")
    remove_image = BooleanField("Remove the current image")

    def set_parents(self, choices: list[tuple[int, str]]) -> None:
        """Offer these categories as parents, after "top level"."""
        self.parent_id.choices = [SelectChoice(TOP_LEVEL, "(None: a top-level category)")] + [
            SelectChoice(str(value), label) for value, label in choices]

    def fields(self) -> CategoryFields:
        """Return what was submitted in the shape the taxonomy service takes."""
        return CategoryFields(
            name=self.name.data or "", slug=self.slug.data or "", parent_id=self.parent_id.data,
            description=self.description.data or "", seo_title=self.seo_title.data or "",
            meta_description=self.meta_description.data or "", is_active=bool(self.is_active.data),
        )


class MoveForm(FlaskForm):
    direction = SelectField("Move", choices=[SelectChoice("up", "Up"), SelectChoice("down", "Down")])

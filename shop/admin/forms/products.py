"""Forms of the product pages: the product itself, its variants, and the list's bulk action."""

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from shop.core.fields import storable, storable_text, strip
from shop.models import lengths
from shop.models.catalog import MAX_OPTIONS
from shop.money import parse_money
from shop.services.catalog_admin import MAX_BULK, MAX_INITIAL_STOCK, MAX_SPECIFICATIONS, MAX_VALUES_PER_OPTION

MAX_DESCRIPTION = 20_000
SPARE_SPECIFICATION_ROWS = 3


def split_values(text: str) -> list[str]:
    """Return the comma-separated values of an option, trimmed, blanks dropped, in the order typed."""
    return [value.strip() for value in text.split(",") if value.strip()]


class MoneyField(StringField):
    """A price typed as 19.99; .cents holds it in minor units (None when blank)."""

    cents: int | None = None

    def pre_validate(self, form):
        self.cents = None
        if not self.data:
            return
        try:
            self.cents = parse_money(self.data, current_app.config["CURRENCY"])
        except ValueError as error:
            raise ValidationError(str(error)) from None


class IdListField(Field):
    """Several ids under one name (checkboxes); anything that is not an id is dropped."""

    def _value(self):
        return ""

    def process_formdata(self, valuelist):
        ids = []
        for value in valuelist[:MAX_BULK]:
            if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
                number = int(value)
                if 0 < number < 2**31:
                    ids.append(number)
        self.data = ids

    def process_data(self, value):
        self.data = list(value or [])


def _option_fields(position: int) -> tuple[StringField, StringField]:
    name = StringField(f"Option {position} name", filters=[strip], validators=[
        Optional(), Length(max=lengths.OPTION_NAME), storable], render_kw={"placeholder": "e.g. Size"})
    values = StringField(f"Option {position} values, in order, separated by commas", filters=[strip], validators=[
        Length(max=MAX_VALUES_PER_OPTION * (lengths.OPTION_VALUE + 2)), storable],
        render_kw={"placeholder": "e.g. S, M, L"})
    return name, values


class SpecificationForm(Form):
    name = StringField("Name", filters=[strip], validators=[Length(max=lengths.SPEC_NAME), storable])
    value = StringField("Value", filters=[strip], validators=[Length(max=lengths.SPEC_VALUE), storable])


class ProductForm(FlaskForm):
    name = StringField("Name", filters=[strip], validators=[
        DataRequired("Please enter the product's name."), Length(max=lengths.PRODUCT_NAME), storable])
    slug = StringField("Slug (the address: /products/<slug>; left blank, it is made from the name)",
                       filters=[strip], validators=[Optional(), Length(max=lengths.SLUG), storable])
    description = TextAreaField("Description (Markdown: **bold**, *italic*, - lists, [links](https://...))",
                                validators=[Length(max=MAX_DESCRIPTION), storable_text])
    category = SelectField("Category", validators=[DataRequired("Please choose a category.")])
    brand = SelectField("Brand (optional)")
    is_featured = BooleanField("Featured on the home page")
    is_active = BooleanField("Active (for sale in the shop)", default=True)
    seo_title = StringField("SEO title (blank: the product's name)", filters=[strip], validators=[
        Length(max=lengths.SEO_TITLE), storable])
    meta_description = TextAreaField("Meta description (blank: the description's first sentence)",
                                     filters=[strip], validators=[Length(max=lengths.META_DESCRIPTION), storable_text])
    option1_name, option1_values = _option_fields(1)
    option2_name, option2_values = _option_fields(2)
    option3_name, option3_values = _option_fields(3)
    specifications = FieldList(FormField(SpecificationForm), max_entries=MAX_SPECIFICATIONS + SPARE_SPECIFICATION_ROWS)

    def option_rows(self) -> list[tuple[StringField, StringField]]:
        return [(self[f"option{n}_name"], self[f"option{n}_values"]) for n in range(1, MAX_OPTIONS + 1)]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        filled = [bool(name.data or values.data) for name, values in self.option_rows()]
        for position, (name, values) in enumerate(self.option_rows()):
            if not filled[position]:
                continue
            if not all(filled[:position]):
                name.errors = [*name.errors, "Fill the options in order: leave only the last rows blank."]
                valid = False
            elif not name.data:
                name.errors = [*name.errors, "Please name this option, e.g. Size."]
                valid = False
            elif not split_values(values.data or ""):
                values.errors = [*values.errors, "Please list this option's values, separated by commas."]
                valid = False
        for entry in self.specifications.entries:
            row = entry.form
            if bool(row.name.data) != bool(row.value.data):
                row.name.errors = [*row.name.errors, "Give both a name and a value, or leave both blank."]
                valid = False
        return valid

    def options(self) -> list[tuple[str, list[str]]]:
        return [(name.data, split_values(values.data or "")) for name, values in self.option_rows() if name.data]

    def specification_pairs(self) -> list[tuple[str, str]]:
        return [(entry.form.name.data, entry.form.value.data) for entry in self.specifications.entries
                if entry.form.name.data and entry.form.value.data]


class VariantRowForm(Form):
    combination = HiddenField()  # the row's label when the page was drawn: a changed option is caught
    enabled = BooleanField("Sell this combination")
    sku = StringField("SKU", filters=[strip], validators=[Length(max=lengths.SKU), storable])
    price = MoneyField("Price", filters=[strip], validators=[Length(max=20)])
    compare_at = MoneyField("Compare-at price", filters=[strip], validators=[Length(max=20)])
    image = SelectField("Image", choices=[SelectChoice("", "No image")])
    initial_stock = IntegerField("Initial stock", default=0, validators=[
        Optional(), NumberRange(min=0, max=MAX_INITIAL_STOCK, message=f"Enter 0 to {MAX_INITIAL_STOCK:,}.")])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.enabled.data:
            if not self.sku.data:
                self.sku.errors = [*self.sku.errors, "Please enter a SKU."]
                valid = False
            if not self.price.data:
                self.price.errors = [*self.price.errors, "Please enter a price."]
                valid = False
        return valid


class VariantsForm(FlaskForm):
    variants = FieldList(FormField(VariantRowForm))


BULK_ACTIONS = {"deactivate": "Deactivate", "activate": "Activate"}


class BulkProductsForm(FlaskForm):
    action = SelectField("With the selected products",
                         choices=[SelectChoice(value, label) for value, label in BULK_ACTIONS.items()])
    product_ids = IdListField("Products")

    def validate_product_ids(self, field):
        if not field.data:
            raise ValidationError("Select at least one product.")

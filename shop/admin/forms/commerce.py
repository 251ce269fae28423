"""Forms of the coupon, shipping method and tax rate pages."""
import re
from datetime import date
from typing import TYPE_CHECKING

from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import TextInput

from shop.admin.forms.products import IdListField, MoneyField
from shop.core.fields import storable, storable_text, strip
from shop.models import CouponKind, lengths
from shop.money import format_money
from shop.services.commerce_admin import (
    COUPON_KINDS,
    MAX_LIMIT,
    CouponFields,
    ShippingFields,
    TaxFields,
    last_day,
    percent_text,
    place_code,
    zones_text,
)

if TYPE_CHECKING:
    # Only for annotations: the hostile-input sweep reads every class a forms module holds, and a model's
    # query attribute needs an application.
    from shop.models import Coupon, ShippingMethod, TaxRate

DIGITS = re.compile(r"[0-9]{1,9}")


def upper(value):
    """Upper-case submitted text: codes are stored so, and shoppers type them in any case."""
    return value.upper() if isinstance(value, str) else value


class LimitField(Field):
    """A whole number of uses, or empty for no limit; anything else gets a message, not a guess."""

    widget = TextInput()  # a text box shows back what was typed, with its message

    def _value(self):
        return self.raw_data[0] if self.raw_data else ("" if self.data is None else str(self.data))

    def process_formdata(self, valuelist):
        typed = valuelist[0].strip() if valuelist and isinstance(valuelist[0], str) else ""
        self.data = None
        if typed:
            if not DIGITS.fullmatch(typed) or not 1 <= int(typed) <= MAX_LIMIT:
                raise ValueError(f"Enter a whole number from 1 to {MAX_LIMIT:,}, or leave it empty for no limit.")
            self.data = int(typed)


class DayField(Field):
    """A day as <input type="date"> sends it (YYYY-MM-DD), or empty."""

    widget = TextInput(input_type="date")

    def _value(self):
        return self.raw_data[0] if self.raw_data else (self.data.isoformat() if self.data else "")

    def process_formdata(self, valuelist):
        typed = valuelist[0].strip() if valuelist and isinstance(valuelist[0], str) else ""
        self.data = None
        if typed:
            try:
                self.data = date.fromisoformat(typed) if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", typed) else None
            except ValueError:
                self.data = None
            if self.data is None:
                raise ValueError("Enter a date as year-month-day, such as 2026-12-31.")


def _plain(cents: int, currency: str) -> str:
    """Return cents as an owner types them back: 123456 -> "1234.56" (no symbol, no thousands commas)."""
    shown = format_money(cents, currency)
    return "".join(character for character in shown if character.isdigit() or character == ".")


class CouponForm(FlaskForm):
    code = StringField("Code (what shoppers type; letters, digits, hyphens)", filters=[strip, upper], validators=[
        DataRequired("Please enter the code."),
        Length(max=lengths.COUPON_CODE, message=f"The code can be at most {lengths.COUPON_CODE} characters long."),
        storable], render_kw={"maxlength": lengths.COUPON_CODE, "autocapitalize": "characters"})
    kind = RadioField("Discount", default=CouponKind.PERCENT,
                      choices=[SelectChoice(value, label) for value, label in COUPON_KINDS.items()])
    amount = StringField("Amount off: a whole percent (10) or a sum of money (5.00); 0 with free shipping",
                         filters=[strip], validators=[Length(max=20)], render_kw={"inputmode": "decimal"})
    free_shipping = BooleanField("Free shipping as well")
    min_subtotal = MoneyField("Minimum subtotal (empty for none)", filters=[strip], validators=[Length(max=20)])
    starts_on = DayField("First day (UTC; empty to start now)")
    ends_on = DayField("Last day (UTC; empty for no end)")
    usage_limit = LimitField("Total uses allowed (empty for no limit)")
    per_customer_limit = LimitField("Uses per customer (empty for no limit)")
    category_ids = IdListField("Categories")
    product_ids = IdListField("Products")
    product_search = StringField("Find products by name", filters=[strip],
                                 validators=[Optional(), Length(max=100), storable])
    find_products = SubmitField("Find products")

    def load(self, coupon: "Coupon", currency: str) -> None:
        """Fill the form from a coupon, its money and days as an owner types them."""
        self.code.data = coupon.code
        self.kind.data = coupon.kind
        self.amount.data = str(coupon.value) if coupon.kind == CouponKind.PERCENT else _plain(coupon.value, currency)
        self.free_shipping.data = coupon.free_shipping
        self.min_subtotal.data = _plain(coupon.min_subtotal_cents, currency) if coupon.min_subtotal_cents else ""
        self.starts_on.data = coupon.starts_at.date() if coupon.starts_at else None
        self.ends_on.data = last_day(coupon)
        self.usage_limit.data = coupon.usage_limit
        self.per_customer_limit.data = coupon.per_customer_limit
        self.category_ids.data = [category.id for category in coupon.categories]
        self.product_ids.data = [product.id for product in coupon.products]

    def fields(self) -> CouponFields:
        """Return what was submitted in the shape the commerce service takes."""
        return CouponFields(
            code=self.code.data or "", kind=self.kind.data or "", amount=self.amount.data or "",
            free_shipping=bool(self.free_shipping.data), min_subtotal_cents=self.min_subtotal.cents,
            starts_on=self.starts_on.data, ends_on=self.ends_on.data, usage_limit=self.usage_limit.data,
            per_customer_limit=self.per_customer_limit.data, category_ids=list(self.category_ids.data or []),
            product_ids=list(self.product_ids.data or []),
        )


class ShippingMethodForm(FlaskForm):
    name = StringField("Name (what shoppers see)", filters=[strip], validators=[
        DataRequired("Please enter the name."),
        Length(max=lengths.SHIPPING_METHOD_NAME,
               message=f"The name can be at most {lengths.SHIPPING_METHOD_NAME} characters long."), storable],
        render_kw={"maxlength": lengths.SHIPPING_METHOD_NAME})
    price = MoneyField("Price", filters=[strip], validators=[DataRequired("Please enter the price (0 for free)."),
                                                               Length(max=20)])
    free_over = MoneyField("Free when the goods reach (empty: never free)", filters=[strip],
                           validators=[Length(max=20)])
    places = TextAreaField("Where it is offered: country codes, or regions as US-CA, CA-ON, AU-NSW, separated by "
                           "commas (empty: everywhere)", filters=[strip], validators=[Length(max=4000), storable_text],
                           render_kw={"rows": 3, "autocapitalize": "characters"})

    def load(self, method: "ShippingMethod", currency: str) -> None:
        """Fill the form from a method, its money as an owner types it."""
        self.name.data = method.name
        self.price.data = _plain(method.price_cents, currency)
        self.free_over.data = _plain(method.free_over_cents, currency) if method.free_over_cents is not None else ""
        self.places.data = zones_text(method)

    def fields(self) -> ShippingFields:
        """Return what was submitted in the shape the commerce service takes."""
        return ShippingFields(name=self.name.data or "", price_cents=self.price.cents,
                              free_over_cents=self.free_over.cents, places=self.places.data or "")


class TaxRateForm(FlaskForm):
    place = SelectField("Country, or state/province/territory", validate_choice=False)
    label = StringField("Label on receipts (Sales tax, VAT, GST)", default="Tax", filters=[strip], validators=[
        DataRequired("Please enter the label."),
        Length(max=lengths.TAX_LABEL, message=f"The label can be at most {lengths.TAX_LABEL} characters long."),
        storable], render_kw={"maxlength": lengths.TAX_LABEL})
    percent = StringField("Rate in percent (up to two decimals, such as 8.25)", filters=[strip],
                          validators=[DataRequired("Please enter the rate."), Length(max=10)],
                          render_kw={"inputmode": "decimal"})

    def set_places(self, choices: list[tuple[str, str]]) -> None:
        """Offer these places, after a prompt."""
        self.place.choices = [SelectChoice("", "Choose…")] + [SelectChoice(code, name) for code, name in choices]

    def load(self, rate: "TaxRate") -> None:
        """Fill the form from a rate."""
        self.place.data = place_code(rate.country, rate.region)
        self.label.data = rate.label
        self.percent.data = percent_text(rate.rate_bp)

    def fields(self) -> TaxFields:
        """Return what was submitted in the shape the commerce service takes."""
        return TaxFields(place=self.place.data or "", label=self.label.data or "", percent=self.percent.data or "")


class TaxSettingsForm(FlaskForm):
    prices_include_tax = BooleanField("Prices are entered including tax (checkout shows the tax the price includes)")
    tax_shipping = BooleanField("Shipping is taxed")

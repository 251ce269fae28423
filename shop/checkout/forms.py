"""Checkout and test-payment forms."""
import unicodedata

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

from shop.checkout.countries import COUNTRIES
from shop.models import lengths

COUNTRY_CHOICES = [SelectChoice("", "Choose a country…")] + [
    SelectChoice(code, name) for code, name in sorted(COUNTRIES.items(), key=lambda item: item[1])
]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _storable(form, field):
    # Control characters (NUL among them, which Postgres refuses) never belong on a parcel label.
    if field.data and any(unicodedata.category(char) in ("Cc", "Cs") for char in field.data):
        raise ValidationError("This contains characters we cannot store. Please retype it.")


class CheckoutForm(FlaskForm):
    email = StringField("Email", filters=[_strip], validators=[
        DataRequired("Please enter your email address."),
        Email("Please enter a valid email address."), Length(max=lengths.EMAIL),
    ])
    name = StringField("Full name", filters=[_strip], validators=[
        DataRequired("Please enter the name to ship to."), Length(max=lengths.PERSON_NAME), _storable])
    line1 = StringField("Address", filters=[_strip], validators=[
        DataRequired("Please enter the street address."), Length(max=lengths.ADDRESS_LINE), _storable])
    line2 = StringField("Address line 2 (optional)", filters=[_strip], validators=[
        Optional(), Length(max=lengths.ADDRESS_LINE), _storable])
    city = StringField("City", filters=[_strip], validators=[
        DataRequired("Please enter the city."), Length(max=lengths.CITY), _storable])
    postal_code = StringField("Postal code", filters=[_strip], validators=[
        DataRequired("Please enter the postal code."), Length(max=lengths.POSTAL_CODE), _storable])
    country = SelectField("Country", choices=COUNTRY_CHOICES, validate_choice=False, validators=[
        DataRequired("Please choose a country.")])
    phone = StringField("Phone (optional)", filters=[_strip], validators=[
        Optional(), Length(max=lengths.PHONE),
        Regexp(r"^[0-9+()./ -]+$", message="A phone number has only digits, spaces and + ( ) - ."),
    ])
    shipping_method = RadioField("Shipping", coerce=int, validate_choice=True)
    coupon = StringField("Coupon code (optional)", filters=[_strip],
                         validators=[Optional(), Length(max=lengths.COUPON_CODE)])
    # One-time token of this checkout page: sending the form twice places one order, not two.
    placement_token = HiddenField(validators=[
        Optional(), Length(max=lengths.PLACEMENT_TOKEN), Regexp(r"^[A-Za-z0-9_-]+$")])
    update = SubmitField("Update summary")
    place = SubmitField("Place order and pay")

    def validate_country(self, field):
        if field.data not in COUNTRIES:
            raise ValidationError("Please choose a country from the list.")


class TestPaymentForm(FlaskForm):
    pay = SubmitField("Pay")
    decline = SubmitField("Decline")

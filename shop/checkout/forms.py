"""Checkout and test-payment forms."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

from shop.checkout.countries import COUNTRIES
from shop.core.fields import storable, strip
from shop.models import lengths

COUNTRY_CHOICES = [SelectChoice("", "Choose a country…")] + [
    SelectChoice(code, name) for code, name in sorted(COUNTRIES.items(), key=lambda item: item[1])
]


class CheckoutForm(FlaskForm):
    email = StringField("Email", filters=[strip], validators=[
        DataRequired("Please enter your email address."),
        Email("Please enter a valid email address."), Length(max=lengths.EMAIL),
    ])
    name = StringField("Full name", filters=[strip], validators=[
        DataRequired("Please enter the name to ship to."), Length(max=lengths.PERSON_NAME), storable])
    line1 = StringField("Address", filters=[strip], validators=[
        DataRequired("Please enter the street address."), Length(max=lengths.ADDRESS_LINE), storable])
    line2 = StringField("Address line 2 (optional)", filters=[strip], validators=[
        Optional(), Length(max=lengths.ADDRESS_LINE), storable])
    city = StringField("City", filters=[strip], validators=[
        DataRequired("Please enter the city."), Length(max=lengths.CITY), storable])
    postal_code = StringField("Postal code", filters=[strip], validators=[
        DataRequired("Please enter the postal code."), Length(max=lengths.POSTAL_CODE), storable])
    country = SelectField("Country", choices=COUNTRY_CHOICES, validate_choice=False, validators=[
        DataRequired("Please choose a country.")])
    phone = StringField("Phone (optional)", filters=[strip], validators=[
        Optional(), Length(max=lengths.PHONE),
        Regexp(r"^[0-9+()./ -]+$", message="A phone number has only digits, spaces and + ( ) - ."),
    ])
    shipping_method = RadioField("Shipping", coerce=int, validate_choice=True)
    coupon = StringField("Coupon code (optional)", filters=[strip],
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


class CancelOrderForm(FlaskForm):
    """The shopper's "yes, cancel my order" button: a form only for its CSRF token."""

    confirm = SubmitField("Yes, cancel my order")

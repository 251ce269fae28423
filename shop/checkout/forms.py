"""Checkout and test-payment forms, and the address fields the account's address book shares."""
import json

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

from shop.checkout.countries import (
    COUNTRIES,
    OTHER_REGION_LABEL,
    REGION_KINDS,
    REGIONS,
    RegionRefused,
    checked_region,
    country_name,
    region_option,
)
from shop.core.fields import storable, strip
from shop.models import lengths

COUNTRY_CHOICES = [SelectChoice("", "Choose a country…")] + [
    SelectChoice(code, name) for code, name in sorted(COUNTRIES.items(), key=lambda item: item[1])
]
# One list for every country that has one, grouped by country, so the form works without JavaScript.
REGION_CHOICES = [SelectChoice("", "Choose…")] + [
    SelectChoice(region_option(country, code), name, optgroup=country_name(country))
    for country, regions in REGIONS.items() for code, name in sorted(regions.items(), key=lambda item: item[1])
]
# The region list's label once a listed country is chosen (static/js/address-form.js shows only its regions).
REGION_LABELS = json.dumps({country: kind.capitalize() for country, kind in REGION_KINDS.items()})
REGION_HINT = "For addresses in the United States, Canada and Australia."
OTHER_REGION_HINT = "For other countries, if the address has one."
SHIPPING_REFUSED = "Please choose one of the shipping methods offered."


def upper(value):
    """Upper-case submitted text, for country codes."""
    return value.upper() if isinstance(value, str) else value


def country_field() -> SelectField:
    """Return the country list of an address form."""
    return SelectField("Country", choices=COUNTRY_CHOICES, validate_choice=False, filters=[upper],
                       validators=[DataRequired("Please choose a country.")], render_kw={"autocomplete": "country"})


def region_field() -> SelectField:
    """Return the list of states, provinces and territories of the countries that need one."""
    return SelectField("State, province or territory", choices=REGION_CHOICES, validate_choice=False,
                       description=REGION_HINT,
                       render_kw={"autocomplete": "address-level1", "data-labels": REGION_LABELS})


def other_region_field() -> StringField:
    """Return the free-text county or region for countries without a list."""
    return StringField(OTHER_REGION_LABEL, filters=[strip], description=OTHER_REGION_HINT,
                       validators=[Optional(), Length(max=lengths.REGION), storable],
                       render_kw={"autocomplete": "address-level1"})


class AddressChecks:
    """The checks an address form with country_field, region_field and other_region_field makes."""

    country: SelectField
    region: SelectField
    region_other: StringField

    def validate_country(self, field):
        if field.data not in COUNTRIES:
            raise ValidationError("Please choose a country from the list.")

    def validate_region(self, field):
        if self.country.data not in COUNTRIES:
            return  # the country's own message says what to do first
        try:
            self.region_to_store()
        except RegionRefused as refused:
            raise ValidationError(str(refused)) from None

    def region_to_store(self) -> str:
        """Return the region the address keeps: a listed country's code ("OR"), else the county typed."""
        return checked_region(self.country.data or "", self.region.data or "", self.region_other.data or "")

    def show_region(self, country: str, region: str) -> None:
        """Fill the region fields from a saved address's country and region."""
        if country in REGIONS:
            self.region.data = region_option(country, region) if region else ""
            self.region_other.data = ""
        else:
            self.region.data = ""
            self.region_other.data = region


class CheckoutForm(AddressChecks, FlaskForm):
    email = StringField("Email", filters=[strip], validators=[
        DataRequired("Please enter your email address."),
        Email("Please enter a valid email address."), Length(max=lengths.EMAIL),
    ])
    name = StringField("Full name", filters=[strip], validators=[
        DataRequired("Please enter the name to ship to."), Length(max=lengths.PERSON_NAME), storable])
    country = country_field()
    line1 = StringField("Address", filters=[strip], validators=[
        DataRequired("Please enter the street address."), Length(max=lengths.ADDRESS_LINE), storable])
    line2 = StringField("Address line 2 (optional)", filters=[strip], validators=[
        Optional(), Length(max=lengths.ADDRESS_LINE), storable])
    city = StringField("City", filters=[strip], validators=[
        DataRequired("Please enter the city."), Length(max=lengths.CITY), storable])
    region = region_field()
    region_other = other_region_field()
    postal_code = StringField("Postal code", filters=[strip], validators=[
        DataRequired("Please enter the postal code."), Length(max=lengths.POSTAL_CODE), storable])
    phone = StringField("Phone (optional)", filters=[strip], validators=[
        Optional(), Length(max=lengths.PHONE),
        Regexp(r"^[0-9+()./ -]+$", message="A phone number has only digits, spaces and + ( ) - ."),
    ])
    shipping_method = RadioField("Shipping", coerce=int, validate_choice=True,
                                 invalid_value_message=SHIPPING_REFUSED, invalid_choice_message=SHIPPING_REFUSED)
    coupon = StringField("Coupon code (optional)", filters=[strip],
                         validators=[Optional(), Length(max=lengths.COUPON_CODE)])
    # Consent to one reminder email if the order is left unpaid; never ticked unless the shopper ticks it.
    reminder = BooleanField("Email me a reminder if I don't finish", default=False)
    # One-time token of this checkout page: sending the form twice places one order, not two.
    placement_token = HiddenField(validators=[
        Optional(), Length(max=lengths.PLACEMENT_TOKEN), Regexp(r"^[A-Za-z0-9_-]+$")])
    update = SubmitField("Update summary")
    place = SubmitField("Place order and pay")


class TestPaymentForm(FlaskForm):
    pay = SubmitField("Pay")
    decline = SubmitField("Decline")


class CancelOrderForm(FlaskForm):
    """The shopper's "yes, cancel my order" button: a form only for its CSRF token."""

    confirm = SubmitField("Yes, cancel my order")

"""Forms for the account pages."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from shop.auth.forms import email_field, new_password_fields
from shop.checkout.forms import AddressChecks, country_field, other_region_field, region_field
from shop.core.fields import strip
from shop.models import lengths
from shop.services.accounts import AddressFields
from shop.services.passwords import MAX_PASSWORD_LENGTH


def current_password_field(label: str = "Current password", required: bool = True) -> PasswordField:
    """Return a field for the password the user has now."""
    first = DataRequired("Please enter your current password.") if required else Optional()
    return PasswordField(label, validators=[first, Length(max=MAX_PASSWORD_LENGTH)],
                         render_kw={"autocomplete": "current-password"})


class ProfileForm(FlaskForm):
    name = StringField("Name", filters=[strip], validators=[
        DataRequired("Please enter your name."), Length(max=lengths.PERSON_NAME)])
    email = email_field()
    current_password = current_password_field("Current password (needed to change your email)", required=False)


class PasswordForm(FlaskForm):
    current_password = current_password_field()
    password, confirm = new_password_fields("New password")


class DeleteAccountForm(FlaskForm):
    password = current_password_field("Your password")


def _text(label: str, max_length: int, required: bool = True, **kwargs) -> StringField:
    first = DataRequired(f"Please enter the {label.lower()}.") if required else Optional()
    return StringField(label, filters=[strip], validators=[first, Length(max=max_length)], **kwargs)


class AddressForm(AddressChecks, FlaskForm):
    full_name = _text("Full name", lengths.PERSON_NAME, render_kw={"autocomplete": "name"})
    country = country_field()
    line1 = _text("Address line 1", lengths.ADDRESS_LINE, render_kw={"autocomplete": "address-line1"})
    line2 = _text("Address line 2 (optional)", lengths.ADDRESS_LINE, required=False,
                  render_kw={"autocomplete": "address-line2"})
    city = _text("City", lengths.CITY, render_kw={"autocomplete": "address-level2"})
    region = region_field()
    region_other = other_region_field()
    postal_code = _text("Postal code", lengths.POSTAL_CODE, render_kw={"autocomplete": "postal-code"})
    phone = StringField("Phone (optional)", filters=[strip], validators=[
        Optional(), Length(max=lengths.PHONE),
        Regexp(r"^[0-9+()./ -]+\Z", message="Use digits, spaces and + ( ) - . / only.")],
        render_kw={"autocomplete": "tel"})
    is_default = BooleanField("Use as my default shipping address")

    def __init__(self, *args, obj=None, **kwargs):
        super().__init__(*args, obj=obj, **kwargs)
        if obj is not None and not self.is_submitted():
            # The address keeps a code ("OR"); the form's list names it with its country ("US-OR").
            self.show_region(obj.country, obj.region)

    def fields_for_service(self) -> AddressFields:
        """Return the submitted address in the shape the accounts service takes."""
        return AddressFields(
            full_name=self.full_name.data, line1=self.line1.data, line2=self.line2.data or "",
            city=self.city.data, region=self.region_to_store(), postal_code=self.postal_code.data,
            country=self.country.data, phone=self.phone.data or "",
        )

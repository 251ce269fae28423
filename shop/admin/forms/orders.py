"""The forms on an order's admin page: ship a parcel, refund, cancel, write a note."""
import secrets

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from shop.core.fields import storable, storable_text, strip
from shop.models import lengths
from shop.services.fulfilment import CARRIERS, OTHER_CARRIER
from shop.services.lifecycle import MAX_NOTE
from shop.services.refunds import MAX_REASON


def new_token() -> str:
    """Return a one-time token for a form whose double submit must act once."""
    return secrets.token_urlsafe(16)


class OnceForm(FlaskForm):
    # Rendered fresh with each page; the confirmation page posts it again unchanged.
    token = HiddenField(default=new_token, validators=[InputRequired(), Length(max=lengths.PLACEMENT_TOKEN)])


class ShipForm(OnceForm):
    carrier = SelectField("Carrier", choices=[SelectChoice("", "Choose…")]
                          + [SelectChoice(name, name) for name in CARRIERS] + [SelectChoice(OTHER_CARRIER, "Other")],
                          validators=[InputRequired("Choose the carrier.")])
    other_carrier = StringField("Carrier's name (for Other)", filters=[strip],
                                validators=[Length(max=lengths.CARRIER), storable])
    tracking_number = StringField("Tracking number", filters=[strip],
                                  validators=[Length(max=lengths.TRACKING_NUMBER), storable])
    tracking_url = StringField("Tracking link (optional: made from the carrier and number when known)",
                               filters=[strip], validators=[Optional(), Length(max=lengths.URL), storable])

    def validate_other_carrier(self, field):
        if self.carrier.data == OTHER_CARRIER and not field.data:
            raise ValidationError("Type the carrier's name, or choose one from the list.")

    def carrier_name(self) -> str:
        return self.other_carrier.data if self.carrier.data == OTHER_CARRIER else self.carrier.data


class RefundForm(OnceForm):
    amount = StringField("Amount (leave empty to refund the chosen items' price)", filters=[strip],
                         validators=[Length(max=20)])
    restock = BooleanField("Put the refunded items back in stock")
    reason = StringField("Reason (the customer sees it)", filters=[strip],
                         validators=[Length(max=MAX_REASON), storable])


class CancelForm(FlaskForm):
    # Not "reason": the refund form on the same page has one, and ids must be unique.
    cancel_reason = StringField("Reason (optional)", filters=[strip], validators=[Length(max=MAX_REASON), storable])


class NoteForm(FlaskForm):
    note = TextAreaField("Internal note (only admins see it)", filters=[strip], validators=[
        InputRequired("Write the note first."),
        Length(max=MAX_NOTE, message=f"Notes are at most {MAX_NOTE} characters."), storable_text])

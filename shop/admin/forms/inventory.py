"""The stock adjustment form."""
import re

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import TextInput

from shop.core.fields import storable, strip
from shop.models import StockReason
from shop.models.inventory import ADJUSTMENT_REASONS
from shop.services.inventory import MAX_STOCK, NOTE_LENGTH, REASON_WORDS

WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,9}")


class WholeNumberField(IntegerField):
    """An integer typed with ASCII digits and an optional sign; anything else gets a message, not a guess."""

    # A text box, so what was typed comes back with its message (a number box would show it empty).
    widget = TextInput()

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        typed = valuelist[0].strip() if isinstance(valuelist[0], str) else ""
        if not typed:
            self.data = None  # InputRequired says what is missing
            return
        if not WHOLE_NUMBER.fullmatch(typed):
            self.data = None
            raise ValueError("Enter a whole number, such as 5 or -3.")
        self.data = int(typed)


class StockAdjustmentForm(FlaskForm):
    mode = RadioField("Change", default="delta", choices=[
        SelectChoice("delta", "Add or remove (5 adds five, -3 removes three)"),
        SelectChoice("set", "Set the stock to this count")],
        validators=[InputRequired("Choose whether to add or remove, or to set the count.")])
    quantity = WholeNumberField("Quantity", validators=[InputRequired("Enter how many, such as 5 or -3.")])
    reason = SelectField("Reason", choices=[SelectChoice("", "Choose a reason…")] + [
        SelectChoice(reason.value, REASON_WORDS[reason]) for reason in ADJUSTMENT_REASONS],
        validators=[InputRequired("Choose why the stock changed.")])
    # No Optional(): it would stop validate_note from asking for the note "Other" needs.
    note = StringField("Note (required for “Other”)", filters=[strip], validators=[
        Length(max=NOTE_LENGTH, message=f"The note can be at most {NOTE_LENGTH} characters long."),
        storable])
    # Where to go back to after adjusting from the inventory list (checked as a local path by the view).
    next = HiddenField(validators=[Optional(), Length(max=2000)])

    def validate_quantity(self, field):
        if field.data is None:
            return
        if self.mode.data == "set" and not 0 <= field.data <= MAX_STOCK:
            raise ValidationError(f"Set the stock to a count from 0 to {MAX_STOCK:,}.")
        if self.mode.data != "set" and field.data == 0:
            raise ValidationError("Enter a change other than 0, such as 5 or -3.")
        if self.mode.data != "set" and abs(field.data) > MAX_STOCK:
            raise ValidationError(f"Change the stock by at most {MAX_STOCK:,} at once.")

    def validate_note(self, field):
        if self.reason.data == StockReason.OTHER.value and not field.data:
            raise ValidationError("Say why the stock changed: a note is required when the reason is “Other”.")

    @property
    def stock_reason(self) -> StockReason:
        return StockReason(self.reason.data)

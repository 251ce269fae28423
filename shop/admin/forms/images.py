"""The product photos page's forms: upload several photos, one photo's alt text, move a photo."""

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, StopValidation

from shop.core.fields import one_line, storable
from shop.models import lengths

ALT_REQUIRED = "Please describe the photo in its alt text: people who cannot see it rely on it."
# Room for the " (photo 20)" that numbers the alt text of photos uploaded together.
UPLOAD_ALT_MAX = lengths.IMAGE_ALT - len(" (photo 20)")


def _some_file_chosen(form, field):
    if not field.data:
        raise StopValidation("Please choose at least one photo to upload.")


class PhotoUploadForm(FlaskForm):
    photos = MultipleFileField("Photos", validators=[_some_file_chosen],
                               render_kw={"accept": "image/jpeg,image/png,image/webp", "multiple": True})
    alt = StringField("Alt text", filters=[one_line], validators=[
        DataRequired(ALT_REQUIRED), Length(max=UPLOAD_ALT_MAX), storable],
        render_kw={"required": True, "maxlength": UPLOAD_ALT_MAX},
        description="Describe what the photo shows, e.g. “Green two-person tent, door open”. "
                    "Several photos get it numbered, “… (photo 1)”, “… (photo 2)”: refine each below.")


class AltTextForm(FlaskForm):
    alt = StringField("Alt text", filters=[one_line], validators=[
        DataRequired(ALT_REQUIRED), Length(max=lengths.IMAGE_ALT), storable])


class MovePhotoForm(FlaskForm):
    direction = RadioField("Direction", choices=[SelectChoice("up", "Up"), SelectChoice("down", "Down")])

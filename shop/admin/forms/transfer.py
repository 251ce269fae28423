"""The catalogue import's upload form."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SubmitField
from wtforms.validators import ValidationError


class ImportUploadForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to import.")])
    upload = SubmitField("Check the file")

    def validate_file(self, field):
        stream = field.data.stream
        first = stream.read(1)
        stream.seek(0)
        if not first:
            raise ValidationError("The file is empty.")

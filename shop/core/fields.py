"""Filters and validators every form shares."""
from wtforms.validators import ValidationError

from shop import text

CANNOT_STORE = "This contains characters we cannot store. Please retype it."


def strip(value):
    """Trim surrounding whitespace from submitted text."""
    return value.strip() if isinstance(value, str) else value


def one_line(value):
    """Collapse every run of whitespace, line breaks included, into one space."""
    return " ".join(value.split()) if isinstance(value, str) else value


def storable(form, field) -> None:
    """Refuse control characters in one-line text (NUL among them, which Postgres refuses)."""
    if isinstance(field.data, str) and not text.storable(field.data):
        raise ValidationError(CANNOT_STORE)


def storable_text(form, field) -> None:
    """Refuse control characters in text of several lines, where line breaks and tabs belong."""
    if isinstance(field.data, str) and not text.storable(field.data, multiline=True):
        raise ValidationError(CANNOT_STORE)

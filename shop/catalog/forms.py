"""Forms of the catalogue pages: a shopper's review."""
from typing import TYPE_CHECKING

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional

from shop.core.fields import storable, storable_text, strip
from shop.models import lengths
from shop.services.reviews import ReviewFields

if TYPE_CHECKING:  # a model class here would be read as a form by the tests' sweep of form modules
    from shop.models import Review

RATING_MESSAGE = "Please choose from 1 to 5 stars."
RATINGS = ("1", "2", "3", "4", "5")


def newlines(value):
    """Store line breaks as browsers count them against maxlength: one character each, not CR LF."""
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


class ReviewForm(FlaskForm):
    # Text values, checked here: an unknown value gets the same plain message as none at all.
    rating = RadioField("Your rating", choices=[SelectChoice(value, f"{value} star{'' if value == '1' else 's'}")
                                                for value in RATINGS],
                        validate_choice=False,
                        validators=[InputRequired(RATING_MESSAGE), AnyOf(RATINGS, message=RATING_MESSAGE)])
    title = StringField("Title", filters=[strip], validators=[
        DataRequired("Please give your review a title."),
        Length(max=lengths.REVIEW_TITLE, message=f"Please keep the title to {lengths.REVIEW_TITLE} characters."),
        storable], render_kw={"maxlength": lengths.REVIEW_TITLE})
    body = TextAreaField("Your review (optional)", filters=[strip, newlines], validators=[
        Optional(),
        Length(max=lengths.REVIEW_BODY, message=f"Please keep your review to {lengths.REVIEW_BODY:,} characters."),
        storable_text], render_kw={"maxlength": lengths.REVIEW_BODY, "rows": 6})

    @classmethod
    def filled_from(cls, review: "Review | None") -> "ReviewForm":
        """Return the form showing the shopper's review, or empty for a first one."""
        if review is None:
            return cls()
        return cls(data={"rating": str(review.rating), "title": review.title, "body": review.body})

    def fields(self) -> ReviewFields:
        """Return the submitted review in the shape the reviews service takes."""
        return ReviewFields(rating=int(self.rating.data), title=self.title.data, body=self.body.data or "")

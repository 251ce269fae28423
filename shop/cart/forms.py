"""Forms of the cart and list pages; CSRFProtect already guards every POST app-wide."""
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField
from wtforms.validators import InputRequired, NumberRange

from shop.services.cart import MAX_ID, MAX_QUANTITY


class _NoCsrfForm(FlaskForm):
    class Meta:
        csrf = False


class LineForm(_NoCsrfForm):
    """Names a cart line; a forged or missing id is a bad request, not a shopper's mistake."""

    variant_id = IntegerField(validators=[InputRequired(), NumberRange(1, MAX_ID)])


class AddToCartForm(LineForm):
    quantity = IntegerField(validators=[InputRequired(), NumberRange(1, MAX_QUANTITY)])
    next = HiddenField()


class UpdateQuantityForm(LineForm):
    quantity = IntegerField(validators=[InputRequired(), NumberRange(0, MAX_QUANTITY)])


class WishlistAddForm(_NoCsrfForm):
    product_id = IntegerField(validators=[InputRequired(), NumberRange(1, MAX_ID)])
    next = HiddenField()

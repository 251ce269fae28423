"""The brand form."""
from flask_wtf import FlaskForm
from wtforms import BooleanField

from shop.admin.forms.categories import description_field, name_field, picture_field, slug_field
from shop.models import lengths
from shop.services.taxonomy import BrandFields


class BrandForm(FlaskForm):
    name = name_field("Name", lengths.BRAND_NAME)
    slug = slug_field(lengths.BRAND_SLUG)
    description = description_field()
    logo = picture_field("Logo")
    remove_logo = BooleanField("Remove the current logo")

    def fields(self) -> BrandFields:
        """Return what was submitted in the shape the taxonomy service takes."""
        return BrandFields(name=self.name.data or "", slug=self.slug.data or "",
                           description=self.description.data or "")

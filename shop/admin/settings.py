"""Admin settings page: the shop's name and contact details, order and stock notifications, the reservation time."""
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from shop.admin import bp
from shop.admin.forms.categories import refusals_shown_on
from shop.core.fields import storable, storable_text, strip
from shop.core.outcomes import flash_refusals
from shop.money import format_money, parse_money
from shop.services import store_settings
from shop.services.catalog_csv import format_amount
from shop.services.store_settings import BY_NAME, MAX_ADDRESS, MAX_TEXT

# The tax settings live on the Shipping & tax page, beside the rates they change.
ON_THIS_PAGE = ("shop_name", "contact_email", "address", "order_notify_emails", "reservation_minutes",
                "staff_refund_limit_cents", "low_stock_threshold", "low_stock_notify_emails", "low_stock_digest")
EMAILS_HINT = "Addresses separated by commas; leave it empty to send none."


def _money(form, field) -> None:
    """Read the amount typed as integer cents into field.cents, or refuse it."""
    try:
        field.cents = parse_money(field.data or "", current_app.config["CURRENCY"])
    except ValueError as error:
        raise ValidationError(str(error)) from error


class WholeNumberField(IntegerField):
    """An integer field whose refusal names the setting, in the words the service uses."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(f"Please enter the {self.label.text.lower()} as a whole number.") from error


def _whole(label: str) -> WholeNumberField:
    return WholeNumberField(label, validators=[InputRequired(f"Please enter the {label.lower()} as a whole number.")],
                            render_kw={"inputmode": "numeric"})


class SettingsForm(FlaskForm):
    shop_name = StringField(BY_NAME["shop_name"].label, filters=[strip], validators=[
        InputRequired("Please enter the shop name."), Length(max=MAX_TEXT), storable],
        render_kw={"maxlength": MAX_TEXT})
    contact_email = StringField(BY_NAME["contact_email"].label, filters=[strip], validators=[Optional(), storable],
                                render_kw={"autocomplete": "off"})
    address = TextAreaField(BY_NAME["address"].label, validators=[Length(max=MAX_ADDRESS), storable_text],
                            render_kw={"rows": 4})
    order_notify_emails = StringField(BY_NAME["order_notify_emails"].label, filters=[strip], validators=[storable])
    reservation_minutes = _whole(BY_NAME["reservation_minutes"].label)
    staff_refund_limit_cents = StringField(BY_NAME["staff_refund_limit_cents"].label, filters=[strip],
                                           validators=[_money], render_kw={"inputmode": "decimal"})
    low_stock_threshold = _whole(BY_NAME["low_stock_threshold"].label)
    low_stock_notify_emails = StringField(BY_NAME["low_stock_notify_emails"].label, filters=[strip],
                                          validators=[storable])
    low_stock_digest = BooleanField(BY_NAME["low_stock_digest"].label)

    def values(self) -> dict[str, Any]:
        """Return what was submitted in the shape store_settings.save takes."""
        values = {name: getattr(self, name).data for name in ON_THIS_PAGE}
        values["staff_refund_limit_cents"] = self.staff_refund_limit_cents.cents
        values["address"] = self.address.data or ""
        return values


def _form_data(values: dict[str, Any]) -> dict[str, Any]:
    """Return the stored values as the form shows them: the address a line per part, money as an amount."""
    data = {name: values[name] for name in ON_THIS_PAGE}
    data["address"] = "\n".join(part.strip() for part in (values["address"] or "").split(",") if part.strip())
    data["staff_refund_limit_cents"] = format_amount(values["staff_refund_limit_cents"], current_app.config["CURRENCY"])
    return data


def default_text(name: str) -> str:
    """Describe a setting's SHOP_* default, which applies until the owner saves a value."""
    setting = BY_NAME[name]
    value = store_settings.default(name)
    if setting.kind == "bool":
        shown = "on" if value else "off"
    elif setting.kind == "money":
        shown = format_money(value, current_app.config["CURRENCY"])
    else:
        shown = str(value) if value not in ("", None) else "none"
    return f"Default {shown} (SHOP_{setting.config_key})."


def _saved_sentence(changed: dict[str, list[Any]]) -> tuple[str, str]:
    if not changed:
        return "Nothing changed in the settings.", "info"
    labels = [BY_NAME[name].label.lower() for name in changed]
    listed = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    return f"Settings saved: {listed} changed. Every page shows the new values within seconds.", "success"


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    """Show the store settings, and save the owner's changes (audited)."""
    form = SettingsForm() if request.method == "POST" else SettingsForm(data=_form_data(store_settings.stored_values()))
    if form.validate_on_submit():
        with flash_refusals(), refusals_shown_on(form):
            changed = store_settings.save(current_user._get_current_object(), form.values())
            flash(*_saved_sentence(changed))
            return redirect(url_for("admin.settings"))
    tax_page = url_for("admin.tax_rates") if "admin.tax_rates" in current_app.view_functions else None
    return render_template("admin/settings.html", form=form, default_text=default_text, emails_hint=EMAILS_HINT,
                           tax_page=tax_page), 422 if form.errors else 200

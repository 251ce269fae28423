"""Admin tax pages: rates per country and region (create, edit, deactivate, activate) and the two tax settings."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from shop.admin import bp, listing
from shop.admin.categories import changes_sentence
from shop.admin.confirm import Confirmation, ask, confirmed
from shop.admin.forms.categories import refusals_shown_on
from shop.admin.forms.commerce import TaxRateForm, TaxSettingsForm
from shop.checkout.countries import COUNTRIES
from shop.core.outcomes import flash_refusals, load_or_404
from shop.models import TaxRate
from shop.services import commerce_admin, store_settings

RATES_PER_PAGE = 50
SETTING_WORDS = {
    "prices_include_tax": ("prices are entered including tax", "prices are entered excluding tax"),
    "tax_shipping": ("shipping is taxed", "shipping is not taxed"),
}


def _actor():
    return current_user._get_current_object()


def _form_page(form: TaxRateForm, rate: TaxRate | None):
    status = 422 if form.errors else 200
    return render_template("admin/tax_rate_form.html", form=form, rate=rate,
                           place_name=commerce_admin.place_name), status


def _tax_rate_form() -> TaxRateForm:
    form = TaxRateForm()
    form.set_places(commerce_admin.place_choices())
    return form


@bp.get("/tax")
def tax_rates():
    """List tax rates by country (?country= and ?status= narrow them) above the tax settings form."""
    country = request.args.get("country", "", type=str).upper()
    country = country if country in COUNTRIES else ""
    status = listing.choice("status", commerce_admin.TAX_STATUSES)
    page = commerce_admin.tax_list(country, status, listing.page(), RATES_PER_PAGE)
    settings_form = TaxSettingsForm(formdata=None, data={
        "prices_include_tax": store_settings.get("prices_include_tax"),
        "tax_shipping": store_settings.get("tax_shipping")})
    countries = {"": "Every country", **dict(sorted(COUNTRIES.items(), key=lambda item: item[1]))}
    return render_template("admin/tax_rates.html", page=page, country=country, countries=countries, status=status,
                           statuses=commerce_admin.TAX_STATUSES, settings_form=settings_form,
                           place_name=commerce_admin.place_name, percent=commerce_admin.percent_text)


@bp.post("/tax/settings")
def tax_settings():
    """Save whether prices are entered including tax and whether shipping is taxed."""
    form = TaxSettingsForm()
    if not form.validate_on_submit():
        flash("The form had expired; nothing was saved. Please try again.", "error")
        return redirect(url_for("admin.tax_rates"))
    with flash_refusals():
        changed = commerce_admin.save_tax_settings(_actor(), bool(form.prices_include_tax.data),
                                                   bool(form.tax_shipping.data))
        if changed:
            words = [SETTING_WORDS[name][0 if after else 1] for name, (_, after) in changed.items()]
            flash(f"Tax settings saved: {' and '.join(words)}. Orders already placed keep the tax they were charged.",
                  "success")
        else:
            flash("Nothing changed in the tax settings.", "info")
    return redirect(url_for("admin.tax_rates"))


@bp.route("/tax/new", methods=["GET", "POST"])
def tax_rate_new():
    """Create a tax rate for a country, or for a state, province or territory."""
    form = _tax_rate_form()
    if request.method == "GET":
        form.place.data = request.args.get("place", "", type=str)[:12]
    if form.validate_on_submit():
        with flash_refusals(), refusals_shown_on(form):
            saved = commerce_admin.create_tax_rate(_actor(), form.fields())
            flash(f"The tax rate for {saved.name} was created.", "success")
            return redirect(url_for("admin.tax_rates"))
    return _form_page(form, None)


@bp.route("/tax/<id:rate_id>", methods=["GET", "POST"])
def tax_rate_edit(rate_id: int):
    """Edit a tax rate's place, label and percent."""
    rate = load_or_404(commerce_admin.tax_rate_for_edit, rate_id)
    form = _tax_rate_form()
    if request.method == "GET":
        form.load(rate)
    if form.validate_on_submit():
        with flash_refusals(), refusals_shown_on(form):
            saved = commerce_admin.update_tax_rate(_actor(), rate_id, form.fields())
            flash(*changes_sentence(saved, "tax rate for"))
            return redirect(url_for("admin.tax_rate_edit", rate_id=rate_id))
    return _form_page(form, rate)


@bp.route("/tax/<id:rate_id>/deactivate", methods=["GET", "POST"])
def tax_rate_deactivate(rate_id: int):
    """Stop charging a tax rate, after confirmation."""
    return _set_active(rate_id, active=False)


@bp.route("/tax/<id:rate_id>/activate", methods=["GET", "POST"])
def tax_rate_activate(rate_id: int):
    """Charge a deactivated tax rate again, after confirmation."""
    return _set_active(rate_id, active=True)


def _set_active(rate_id: int, active: bool):
    rate = load_or_404(commerce_admin.tax_rate_for_edit, rate_id)
    back = url_for("admin.tax_rates")
    name = commerce_admin.place_name(rate.country, rate.region)
    if request.method == "POST" and confirmed():
        with flash_refusals():
            name, changed = commerce_admin.set_tax_rate_active(_actor(), rate_id, active)
            if not changed:
                flash(f"The tax rate for {name} was already {'active' if active else 'deactivated'}.", "info")
            else:
                flash(f"The tax rate for {name} is charged again." if active else
                      f"The tax rate for {name} is deactivated: checkout no longer charges it.", "success")
            return redirect(back)
    rate_words = f"{rate.label} at {commerce_admin.percent_text(rate.rate_bp)} %"
    if active:
        question = f"Checkout will charge {rate_words} again on orders shipped to {name}."
    else:
        fallback = (f"the rate of {commerce_admin.place_name(rate.country, '')}, if it has an active one"
                    if rate.region else "no tax")
        question = (f"Checkout will stop charging {rate_words} on orders shipped to {name}; they will pay {fallback}. "
                    "Orders already placed keep the tax they were charged.")
    return ask(Confirmation(
        title=f"{'Activate' if active else 'Deactivate'} the tax rate for {name}?", question=question,
        action_url=url_for("admin.tax_rate_activate" if active else "admin.tax_rate_deactivate", rate_id=rate_id),
        button=f"{'Activate' if active else 'Deactivate'} the rate", cancel_url=back, danger=not active,
    ))

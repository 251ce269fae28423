"""The shopper's account pages: profile, password, logging out everywhere, address book, account deletion and
downloading one's data."""
import json

from flask import Response, flash, redirect, render_template, url_for
from flask_login import current_user

from shop.account import bp
from shop.account.forms import AddressForm, DeleteAccountForm, PasswordForm, ProfileForm
from shop.auth.sessions import current_session_id, end_session, logged_out_redirect, refresh_fingerprint
from shop.core.outcomes import flash_refusals, load_or_404
from shop.extensions import login_manager
from shop.services import accounts, my_data


@bp.before_request
def require_login():
    """Send visitors who are not logged in to the login page."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@bp.route("", methods=["GET", "POST"])
def index():
    """Show and change the name and email."""
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        with flash_refusals():
            accounts.update_profile(current_user.id, form.name.data, form.email.data, form.current_password.data)
            flash("Your details have been saved.", "success")
            return redirect(url_for("account.index"))
    return render_template("account/index.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
def password():
    """Change the password, which logs out every other session."""
    form = PasswordForm()
    if form.validate_on_submit():
        with flash_refusals():
            user = accounts.change_password(current_user.id, form.current_password.data, form.password.data,
                                            keep_session_id=current_session_id())
            refresh_fingerprint(user)
            flash("Your password has been changed.", "success")
            return redirect(url_for("account.index"))
    return render_template("account/password.html", form=form)


@bp.post("/logout-everywhere")
def logout_everywhere():
    """End every login of this account, on every device, this browser's included."""
    accounts.end_all_user_sessions(current_user.id)
    end_session()
    return logged_out_redirect(everywhere=True)


@bp.get("/addresses")
def addresses():
    """List the address book."""
    return render_template("account/addresses.html", addresses=accounts.list_addresses(current_user.id))


@bp.route("/addresses/new", methods=["GET", "POST"])
def add_address():
    """Add an address to the address book."""
    form = AddressForm()
    if form.validate_on_submit():
        with flash_refusals():
            accounts.add_address(current_user.id, form.fields_for_service(), form.is_default.data)
            flash("The address has been added.", "success")
            return redirect(url_for("account.addresses"))
    return render_template("account/address_form.html", form=form, address=None)


@bp.route("/addresses/<id:address_id>/edit", methods=["GET", "POST"])
def edit_address(address_id: int):
    """Change an address in the address book."""
    address = load_or_404(accounts.get_address, current_user.id, address_id)
    form = AddressForm(obj=address)
    if form.validate_on_submit():
        with flash_refusals():
            accounts.update_address(current_user.id, address_id, form.fields_for_service(), form.is_default.data)
            flash("The address has been saved.", "success")
            return redirect(url_for("account.addresses"))
    return render_template("account/address_form.html", form=form, address=address)


@bp.post("/addresses/<id:address_id>/default")
def default_address(address_id: int):
    """Make an address the default shipping address."""
    with flash_refusals():
        accounts.set_default_address(current_user.id, address_id)
        flash("Your default shipping address has been changed.", "success")
    return redirect(url_for("account.addresses"))


@bp.post("/addresses/<id:address_id>/delete")
def delete_address(address_id: int):
    """Remove an address from the address book."""
    with flash_refusals():
        accounts.delete_address(current_user.id, address_id)
        flash("The address has been deleted.", "success")
    return redirect(url_for("account.addresses"))


@bp.route("/delete", methods=["GET", "POST"])
def delete():
    """Delete the account after the password is confirmed."""
    form = DeleteAccountForm()
    if form.validate_on_submit():
        with flash_refusals():
            accounts.delete_account(current_user.id, form.password.data)
            end_session(keep_cart=True)
            flash("Your account has been deleted. Thank you for shopping with us.", "info")
            return redirect(url_for("catalog.home"))
    return render_template("account/delete.html", form=form)


@bp.post("/my-data")
def download_data():
    """Send everything the shop keeps about the account as a JSON file (a POST: the app's CSRF check guards it)."""
    document = json.dumps(my_data.export(current_user.id), ensure_ascii=False, indent=2)
    return Response(document, mimetype="application/json", headers={
        "Content-Disposition": 'attachment; filename="my-data.json"'})

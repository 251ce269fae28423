"""Registration, email confirmation, login, logout and password reset."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from shop.auth import bp, limits
from shop.auth.forms import LoginForm, RegisterForm, ResetPasswordForm, ResetRequestForm
from shop.auth.sessions import end_session, logged_out_redirect, start_session
from shop.core.outcomes import flash_refusals
from shop.core.redirects import safe_local_path
from shop.services import ShopError, accounts
from shop.services.mail import external_url

RESET_SENT = ("If an account exists for that email address, we have sent it a link to reset the password. "
              "The link works for one hour.")


def _after_login_target() -> str:
    return safe_local_path(request.args.get("next")) or url_for("catalog.home")


@bp.route("/register", methods=["GET", "POST"])
@limits.register_per_ip
def register():
    """Create an account and log it in."""
    if current_user.is_authenticated:
        return redirect(url_for("account.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        with flash_refusals():
            user = accounts.register_user(form.email.data, form.name.data, form.password.data)
            start_session(user, remember=False)
            flash(f"Welcome! Your account is ready. We have emailed {user.email} a link to confirm the address.",
                  "success")
            return redirect(_after_login_target())
    return render_template("auth/register.html", form=form, next=safe_local_path(request.args.get("next")))


@bp.route("/login", methods=["GET", "POST"])
@limits.login_per_ip
@limits.login_per_account
def login():
    """Log in with email and password."""
    if current_user.is_authenticated:
        return redirect(_after_login_target())
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data)
        except ShopError as error:
            limits.login_failed.set()
            flash(str(error), "error")
        else:
            start_session(user, remember=form.remember.data)
            flash(f"Welcome back, {user.name}.", "success")
            return redirect(_after_login_target())
    elif form.is_submitted():
        limits.login_failed.set()
    return render_template("auth/login.html", form=form, next=safe_local_path(request.args.get("next")))


@bp.post("/logout")
def logout():
    """Log out, ending this login on the server, and forget everything in the session."""
    end_session()
    return logged_out_redirect()


@bp.get("/logged-out")
def logged_out():
    """Tell the visitor that logging out worked, then show the home page."""
    if not current_user.is_authenticated:
        if request.args.get("everywhere"):
            flash("You have been logged out everywhere, on this device as well.", "info")
        else:
            flash("You have been logged out.", "info")
    return redirect(url_for("catalog.home"))


@bp.route("/reset", methods=["GET", "POST"])
@limits.reset_per_ip
@limits.reset_per_account
def reset_request():
    """Email a password reset link, saying the same thing whether or not the account exists."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        accounts.request_password_reset(
            form.email.data, lambda token: external_url("auth.reset_password", token=token)
        )
        flash(RESET_SENT, "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password through the link from the reset email."""
    try:
        accounts.check_reset_token(token)
    except ShopError as error:
        flash(str(error), "error")
        return redirect(url_for("auth.reset_request"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        with flash_refusals():
            accounts.reset_password(token, form.password.data)
            # A guest's cart is theirs alone; a logged-in shopper's waits in the account for the next login.
            end_session(keep_cart=not current_user.is_authenticated)
            flash("Your password has been changed. Please log in with the new one.", "success")
            return redirect(url_for("auth.login"))
    # The token in this page's address goes to no other site: shop.core.security sends
    # Referrer-Policy: same-origin for pages with a token.
    return render_template("auth/reset_password.html", form=form, token=token)


@bp.get("/confirm/<token>")
def confirm_email(token: str):
    """Confirm the email address a link was sent to; guest orders placed with it join the account."""
    with flash_refusals():
        outcome = accounts.confirm_email(token)
        if outcome.newly_confirmed:
            flash(f"Thank you: your email address {outcome.user.email} is confirmed.", "success")
        else:
            flash(f"Your email address {outcome.user.email} was already confirmed.", "info")
        if outcome.orders_joined:
            joined = "order" if outcome.orders_joined == 1 else "orders"
            flash(f"{outcome.orders_joined} {joined} you placed as a guest with this address now appear in your "
                  "account.", "info")
        if current_user.is_authenticated and current_user.id == outcome.user.id:
            return redirect(url_for("checkout.account_orders"))
        return redirect(url_for("auth.login"))
    return redirect(url_for("account.index") if current_user.is_authenticated else url_for("auth.login"))


@bp.post("/confirm")
@login_required
@limits.confirmation_per_account
def resend_confirmation():
    """Email the logged-in shopper a new link to confirm their address."""
    with flash_refusals():
        user = accounts.send_email_confirmation(current_user.id)
        flash(f"We have emailed {user.email} a new confirmation link. It works for a week.", "success")
    return redirect(url_for("account.index"))

"""Admin customer pages: the list (search, filters, sort, pages), one customer, and the owner's account actions
(disable, enable, password reset, role), each after confirmation."""
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from shop.admin import bp, listing
from shop.admin.confirm import Confirmation, ask, confirmed
from shop.core.outcomes import flash_refusals, load_or_404
from shop.models import Role, User
from shop.services import customers as customer_service
from shop.services.mail import external_url

CUSTOMERS_PER_PAGE = 50
ORDERS_PER_PAGE = 25


def _list_args() -> dict[str, Any]:
    """Return the list's search, filters, sort and page as the query string has them."""
    args: dict[str, Any] = {
        "q": listing.search_term(), "orders": listing.choice("orders", customer_service.ORDER_FILTERS),
        "kind": listing.choice("kind", customer_service.KIND_FILTERS),
        "sort": listing.choice("sort", customer_service.SORTS), "page": listing.page(),
    }
    return {name: value for name, value in args.items() if value and value != 1}


@bp.get("/customers")
def customers():
    """List accounts and guests; ?q= searches names and emails, ?orders=, ?kind= filter, ?sort= orders them."""
    args = _list_args()
    page = customer_service.customer_list(args.get("q", ""), args.get("orders", ""), args.get("kind", ""),
                                   args.get("sort", ""), listing.page(), CUSTOMERS_PER_PAGE)
    return render_template("admin/customers.html", page=page, args=args,
                           order_filters=customer_service.ORDER_FILTERS, kind_filters=customer_service.KIND_FILTERS,
                           sorts=customer_service.SORTS, role_labels=customer_service.ROLE_LABELS)


@bp.get("/customers/<id:user_id>")
def customer(user_id: int):
    """Show an account: figures, orders (its guest orders too), addresses, wishlist size, status and actions."""
    detail = load_or_404(customer_service.customer_detail, user_id, listing.page(), ORDERS_PER_PAGE)
    return render_template("admin/customer.html", detail=detail, role_labels=customer_service.ROLE_LABELS,
                           roles=list(Role))


@bp.get("/customers/guest")
def guest_customer():
    """Show a guest (?email=): the orders placed with the address; an address with an account shows the account."""
    email = request.args.get("email", "", type=str)
    account_id = customer_service.account_id_for_email(email)
    if account_id is not None:
        return redirect(url_for("admin.customer", user_id=account_id))
    detail = load_or_404(customer_service.guest_detail, email, listing.page(), ORDERS_PER_PAGE)
    return render_template("admin/customer.html", detail=detail, role_labels=customer_service.ROLE_LABELS, roles=[])


def _account(user_id: int) -> User:
    return load_or_404(customer_service.account, user_id)


def _actor() -> User:
    return current_user._get_current_object()


@bp.route("/customers/<id:user_id>/disable", methods=["GET", "POST"])
def customer_disable(user_id: int):
    """Disable an account after confirmation: it cannot log in, and its logins end at once."""
    return _set_disabled(user_id, disabled=True)


@bp.route("/customers/<id:user_id>/enable", methods=["GET", "POST"])
def customer_enable(user_id: int):
    """Let a disabled account log in again, after confirmation."""
    return _set_disabled(user_id, disabled=False)


def _set_disabled(user_id: int, disabled: bool):
    back = url_for("admin.customer", user_id=user_id)
    if request.method == "POST" and confirmed():
        with flash_refusals():
            outcome = customer_service.set_disabled(_actor(), user_id, disabled)
            email = outcome.user.email
            if not outcome.changed:
                flash(f"The account of {email} was already {'disabled' if disabled else 'enabled'}.", "info")
            elif disabled:
                flash(f"The account of {email} is disabled: it cannot log in, and every login of it has ended.",
                      "success")
            else:
                flash(f"The account of {email} is enabled again: it can log in.", "success")
        return redirect(back)
    user = _account(user_id)
    endpoint = "admin.customer_disable" if disabled else "admin.customer_enable"
    if disabled:
        question = (f"{user.name} will be logged out everywhere at once and will not be able to log in until an "
                    "owner enables the account again. Their orders are not changed.")
    else:
        question = f"{user.name} will be able to log in again with their password."
    return ask(Confirmation(
        title="Disable this account?" if disabled else "Enable this account again?",
        question=question, items=[f"{user.name} <{user.email}>"],
        action_url=url_for(endpoint, user_id=user_id),
        button="Disable the account" if disabled else "Enable the account", cancel_url=back, danger=disabled,
    ))


@bp.route("/customers/<id:user_id>/password-reset", methods=["GET", "POST"])
def customer_password_reset(user_id: int):
    """Email the account a password-reset link, after confirmation."""
    back = url_for("admin.customer", user_id=user_id)
    if request.method == "POST" and confirmed():
        with flash_refusals():
            user = customer_service.send_password_reset(
                _actor(), user_id, lambda token: external_url("auth.reset_password", token=token))
            flash(f"A password-reset email is on its way to {user.email}. The link works for one hour.", "success")
        return redirect(back)
    user = _account(user_id)
    return ask(Confirmation(
        title="Send a password-reset email?",
        question=(f"{user.email} will receive a link to choose a new password, valid for one hour. "
                  "The current password keeps working until a new one is chosen."),
        items=[f"{user.name} <{user.email}>"],
        action_url=url_for("admin.customer_password_reset", user_id=user_id),
        button="Send the email", cancel_url=back, danger=False,
    ))


ROLE_NOUNS = {Role.CUSTOMER: "a customer only", Role.STAFF: "staff", Role.OWNER: "an owner"}
ROLE_QUESTIONS = {
    Role.CUSTOMER: "They will no longer be able to open the back office; they can still shop with the account.",
    Role.STAFF: ("They will be able to run the catalogue, inventory, orders and fulfilment, but not reports, "
                 "customers, coupons, shipping and tax, pages, settings or the audit log."),
    Role.OWNER: ("They will be able to do everything in the back office, including managing staff and other "
                 "owners, refunds of any amount and the store settings."),
}


@bp.route("/customers/<id:user_id>/role/<role>", methods=["GET", "POST"])
def customer_role(user_id: int, role: str):
    """Make an account a customer, staff or an owner, after confirmation."""
    if role not in set(Role):
        abort(404)
    new_role = Role(role)
    back = url_for("admin.customer", user_id=user_id)
    if request.method == "POST" and confirmed():
        with flash_refusals():
            outcome = customer_service.set_role(_actor(), user_id, new_role)
            label = customer_service.ROLE_LABELS[new_role]
            if not outcome.changed:
                flash(f"{outcome.user.email} already has the role {label}.", "info")
            else:
                flash(f"{outcome.user.email} now has the role {label}.", "success")
                if outcome.user.id == current_user.id and new_role != Role.OWNER:
                    # They gave up the owner's pages, this one among them.
                    return redirect(url_for("admin.index") if new_role == Role.STAFF else url_for("account.index"))
        return redirect(back)
    user = _account(user_id)
    label = customer_service.ROLE_LABELS[new_role]
    if user.role == new_role:
        flash(f"{user.email} already has the role {label}.", "info")
        return redirect(back)
    question = ROLE_QUESTIONS[new_role]
    if user.id == current_user.id:
        question += " You are changing your own role: you will lose the owner's pages at once."
    return ask(Confirmation(
        title=f"Make {user.name} {ROLE_NOUNS[new_role]}?", question=question,
        items=[f"{user.name} <{user.email}>: {customer_service.ROLE_LABELS[Role(user.role)]} → {label}"],
        action_url=url_for("admin.customer_role", user_id=user_id, role=new_role.value),
        button=f"Make them {ROLE_NOUNS[new_role]}", cancel_url=back, danger=new_role == Role.OWNER,
    ))

"""Customers in the back office: the list, one customer's page, and what an owner may do to an account.

A customer is an account, or a guest: an email address that paid for an order without an account
of that address. Orders placed as a guest with an account's address are shown with the account
(and join it once the address is confirmed). An order counts towards a customer's figures once its
payment was taken; its lifetime value is what was taken minus what was refunded since.

Owners manage accounts: disable and re-enable them, send a password reset, change their role.
The shop always keeps an owner who can log in: every such change locks the enabled owners first
(in id order, so two changes cannot deadlock) and refuses one that would leave none.
"""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased, selectinload

from shop.database import write_transaction
from shop.extensions import db
from shop.models import Address, Order, Role, User, UserSession, WishlistItem
from shop.models.base import now_utc
from shop.models.order import MONEY_TAKEN
from shop.services import NotFound, ShopError, accounts, audit
from shop.services.catalog import Page, contains_pattern

ORDER_FILTERS = {"": "With or without orders", "yes": "With orders", "no": "Without orders"}
KIND_FILTERS = {"": "Everyone", "registered": "Registered accounts", "guest": "Guests", "team": "Staff and owners",
                "disabled": "Disabled accounts"}
SORTS = {"": "Last order", "value": "Lifetime value", "joined": "Newest account"}
ROLE_LABELS = {Role.CUSTOMER: "Customer", Role.STAFF: "Staff", Role.OWNER: "Owner"}
# Orders of deleted accounts keep an address at the reserved .invalid domain (accounts.delete_account): no one's.
ANONYMISED_DOMAIN = "@invalid"


class NotOwner(ShopError):
    """The actor is not an enabled owner, so may not manage accounts."""


@dataclass(frozen=True)
class Figures:
    """A customer's paid orders: how many, what they came to after refunds, and when the last was placed."""

    orders: int
    lifetime_cents: int
    last_order_at: datetime | None


@dataclass(frozen=True)
class CustomerRow:
    """One line of the customer list: an account (user_id set) or a guest's email address."""

    user_id: int | None
    email: str
    name: str
    role: str
    disabled: bool
    joined_at: datetime | None  # when the account was made; None for a guest
    figures: Figures

    @property
    def is_guest(self) -> bool:
        return self.user_id is None


@dataclass(frozen=True)
class CustomerDetail:
    """One customer's page: the account (None for a guest), figures, a page of orders, addresses, wishlist size."""

    user: User | None
    email: str
    figures: Figures
    orders: Page
    addresses: list[Address]
    wishlist_size: int


@dataclass(frozen=True)
class Change:
    """What an action did to an account; changed is False when it already was so."""

    user: User
    changed: bool


def _money_taken() -> sa.ColumnElement[bool]:
    return Order.payment_status.in_(MONEY_TAKEN)


def _figure_columns() -> list:
    paid = _money_taken()
    return [
        sa.func.coalesce(sa.func.sum(sa.case((paid, 1), else_=0)), 0).label("orders"),
        sa.func.coalesce(sa.func.sum(sa.case((paid, Order.total_cents - Order.refunded_cents), else_=0)), 0)
        .label("lifetime_cents"),
        sa.func.max(sa.case((paid, Order.created_at))).label("last_order_at"),
    ]


def _paid_orders_by_customer() -> sa.Subquery:
    """Return each customer's figures: a row per account (user_id) and per guest email (user_id NULL).

    An order placed as a guest with an account's address counts for the account.
    """
    by_email = aliased(User)
    owner_id = sa.func.coalesce(Order.user_id, by_email.id)
    guest_email = sa.case((owner_id.is_(None), Order.email))
    return (
        sa.select(owner_id.label("user_id"), guest_email.label("guest_email"),
                  sa.func.max(Order.ship_name).label("guest_name"),
                  sa.func.count().label("orders"),
                  sa.func.sum(Order.total_cents - Order.refunded_cents).label("lifetime_cents"),
                  sa.func.max(Order.created_at).label("last_order_at"))
        .select_from(Order)
        .outerjoin(by_email, sa.and_(Order.user_id.is_(None), by_email.email == Order.email))
        .where(_money_taken(), ~Order.email.endswith(ANONYMISED_DOMAIN))
        .group_by(owner_id, guest_email)
        .subquery("paid")
    )


def _everyone() -> sa.Subquery:
    """Return the accounts and the guests as one list with their figures."""
    paid = _paid_orders_by_customer()
    accounts_rows = (
        sa.select(User.id.label("user_id"), User.email.label("email"), User.name.label("name"),
                  User.role.label("role"), User.disabled_at.label("disabled_at"), User.created_at.label("joined_at"),
                  sa.func.coalesce(paid.c.orders, 0).label("orders"),
                  sa.func.coalesce(paid.c.lifetime_cents, 0).label("lifetime_cents"),
                  paid.c.last_order_at.label("last_order_at"))
        .select_from(User)
        .outerjoin(paid, paid.c.user_id == User.id)
    )
    guest_rows = (
        sa.select(sa.cast(sa.null(), sa.Integer).label("user_id"), paid.c.guest_email.label("email"),
                  paid.c.guest_name.label("name"),
                  sa.literal_column(f"'{Role.CUSTOMER.value}'", sa.String).label("role"),
                  sa.cast(sa.null(), User.disabled_at.type).label("disabled_at"),
                  sa.cast(sa.null(), User.created_at.type).label("joined_at"),
                  paid.c.orders, paid.c.lifetime_cents, paid.c.last_order_at)
        .where(paid.c.user_id.is_(None))
    )
    return sa.union_all(accounts_rows, guest_rows).subquery("customers")


def customer_list(term: str, orders: str, kind: str, sort: str, page: int, per_page: int) -> Page:
    """Return a page of CustomerRows (past the end, the last page); `term` matches names and emails.

    Two statements, whatever the data: the count, and the page.
    """
    everyone = _everyone()
    conditions = []
    if term:
        pattern = contains_pattern(term)
        conditions.append(sa.or_(everyone.c.name.ilike(pattern, escape="\\"),
                                 everyone.c.email.ilike(pattern, escape="\\")))
    if orders == "yes":
        conditions.append(everyone.c.orders > 0)
    elif orders == "no":
        conditions.append(everyone.c.orders == 0)
    if kind == "registered":
        conditions.append(everyone.c.user_id.is_not(None))
    elif kind == "guest":
        conditions.append(everyone.c.user_id.is_(None))
    elif kind == "team":
        conditions.append(everyone.c.role.in_((Role.STAFF.value, Role.OWNER.value)))
    elif kind == "disabled":
        conditions.append(everyone.c.disabled_at.is_not(None))
    condition = sa.and_(sa.true(), *conditions)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(everyone).where(condition)) or 0
    page = min(page, max(1, -(-total // per_page)))  # past the end: the last page
    # NULLs sort last whatever the database's habit, and ties are broken by email so pages never overlap.
    if sort == "value":
        order = [everyone.c.lifetime_cents.desc(), everyone.c.last_order_at.is_(None), everyone.c.last_order_at.desc()]
    elif sort == "joined":
        order = [everyone.c.joined_at.is_(None), everyone.c.joined_at.desc()]
    else:
        order = [everyone.c.last_order_at.is_(None), everyone.c.last_order_at.desc(), everyone.c.joined_at.desc()]
    rows = db.session.execute(
        sa.select(everyone).where(condition).order_by(*order, everyone.c.email)
        .limit(per_page).offset((page - 1) * per_page)
    )
    items = [
        CustomerRow(row.user_id, row.email, row.name or "", row.role, row.disabled_at is not None, row.joined_at,
                    Figures(int(row.orders), int(row.lifetime_cents), row.last_order_at))
        for row in rows
    ]
    return Page(items, page, per_page, total)


def _orders_of(condition: sa.ColumnElement[bool], page: int, per_page: int) -> tuple[Figures, Page]:
    """Return the figures and a page of the orders matching the condition, newest first (two statements)."""
    row = db.session.execute(sa.select(sa.func.count().label("total"), *_figure_columns()).where(condition)).one()
    figures = Figures(int(row.orders), int(row.lifetime_cents), row.last_order_at)
    pages = max(1, -(-row.total // per_page))
    page = min(max(1, page), pages)
    orders = list(db.session.scalars(
        sa.select(Order).where(condition).order_by(Order.created_at.desc(), Order.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    )) if row.total else []
    return figures, Page(orders, page, per_page, row.total)


def customer_detail(user_id: int, page: int, per_page: int) -> CustomerDetail:
    """Return an account's page: its orders and the guest orders placed with its address; raise NotFound."""
    wishlist_size = (sa.select(sa.func.count(WishlistItem.id)).where(WishlistItem.user_id == User.id)
                     .correlate(User).scalar_subquery())
    found = db.session.execute(
        sa.select(User, wishlist_size.label("wishlist_size")).where(User.id == user_id)
        .options(selectinload(User.addresses))
    ).one_or_none()
    if found is None:
        raise NotFound("That customer does not exist.")
    user, size = found
    mine = sa.or_(Order.user_id == user.id, sa.and_(Order.user_id.is_(None), Order.email == user.email))
    figures, orders = _orders_of(mine, page, per_page)
    addresses = sorted(user.addresses, key=lambda address: (not address.is_default, address.id))
    return CustomerDetail(user, user.email, figures, orders, addresses, int(size))


def account(user_id: int) -> User | None:
    """Return the account, or None."""
    return db.session.get(User, user_id)


def account_id_for_email(email: str) -> int | None:
    """Return the id of the account with this email address, if there is one."""
    return db.session.scalar(sa.select(User.id).where(User.email == email.strip().lower()))


def guest_detail(email: str, page: int, per_page: int) -> CustomerDetail:
    """Return a guest's page: the orders placed with this address by no account; raise NotFound without any."""
    email = email.strip().lower()
    figures, orders = _orders_of(sa.and_(Order.user_id.is_(None), Order.email == email), page, per_page)
    if not orders.total or email.endswith(ANONYMISED_DOMAIN):
        raise NotFound("No guest has ordered with that email address.")
    return CustomerDetail(None, email, figures, orders, [], 0)


def _enabled_owner_ids(actor: User) -> list[int]:
    """Lock the enabled owners (in id order) and return their ids; raise NotOwner unless the actor is one."""
    owner_ids = list(db.session.scalars(
        sa.select(User.id).where(User.role == Role.OWNER, User.disabled_at.is_(None))
        .order_by(User.id).with_for_update()
    ))
    if actor.id not in owner_ids:
        raise NotOwner("Only an owner can manage customers' accounts.")
    return owner_ids


def _locked_account(user_id: int) -> User:
    user = db.session.scalar(sa.select(User).where(User.id == user_id).with_for_update())
    if user is None:
        raise NotFound("That customer does not exist.")
    return user


def set_disabled(actor: User, user_id: int, disabled: bool) -> Change:
    """Disable an account (it can no longer log in, and every login of it ends now) or enable it again."""
    with write_transaction():
        owner_ids = _enabled_owner_ids(actor)
        user = _locked_account(user_id)
        if disabled and user.id == actor.id:
            raise ShopError("You cannot disable your own account.")
        if disabled and owner_ids == [user.id]:
            raise ShopError(f"{user.email} is the only owner who can log in, so the account cannot be disabled.")
        changed = user.is_disabled != disabled
        if changed:
            user.disabled_at = now_utc() if disabled else None
            if disabled:
                db.session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))
            verb = "Disabled" if disabled else "Enabled again"
            audit.record(actor, "customer.disable" if disabled else "customer.enable", "user", user.id,
                         f"{verb} the account of {user.email}", {"disabled": [not disabled, disabled]})
    return Change(user, changed)


def set_role(actor: User, user_id: int, role: Role) -> Change:
    """Make an account a customer, staff or an owner; the last enabled owner keeps the role."""
    with write_transaction():
        owner_ids = _enabled_owner_ids(actor)
        user = _locked_account(user_id)
        before = Role(user.role)
        if before == role:
            return Change(user, False)
        if role != Role.OWNER and owner_ids == [user.id]:
            raise ShopError(f"{user.email} is the only owner who can log in. Make another account an owner first.")
        user.role = role
        audit.record(actor, "customer.role", "user", user.id,
                     f"Changed the role of {user.email} from {ROLE_LABELS[before]} to {ROLE_LABELS[role]}",
                     {"role": [before.value, role.value]})
    return Change(user, True)


def send_password_reset(actor: User, user_id: int, link_for_token: Callable[[str], str]) -> User:
    """Email the account a password-reset link, as if they had asked for it; recorded in the audit log."""
    with write_transaction():
        _enabled_owner_ids(actor)
        user = _locked_account(user_id)
        if user.is_disabled:
            raise ShopError(f"The account of {user.email} is disabled: enable it before sending a password reset.")
        accounts.queue_password_reset(user, link_for_token)
        audit.record(actor, "customer.password_reset", "user", user.id,
                     f"Sent a password-reset email to {user.email}")
    return user

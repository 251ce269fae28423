"""Account use cases: registration, email confirmation, login sessions, password reset, profile, address book,
deletion."""
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from shop.database import rows_changed, write_transaction
from shop.extensions import db
from shop.models import Address, Order, OrderStatus, OutboxEmail, Role, User, UserSession, lengths
from shop.models.base import now_utc
from shop.services import NotFound, ShopError, secret_key
from shop.services.cart import MAX_ID
from shop.services.mail import external_url, queue_email
from shop.services.passwords import (
    check_new_password,
    hash_password,
    needs_rehash,
    spend_verification_time,
    verify_password,
)
from shop.text import storable

RESET_TOKEN_MAX_AGE = 3600
RESET_TOKEN_SALT = "password-reset"
CONFIRM_TOKEN_MAX_AGE = 7 * 86400
CONFIRM_TOKEN_SALT = "email-confirmation"
MAX_ADDRESSES = 50
LOGIN_FAILED = "Incorrect email or password."
EMAIL_TAKEN = "An account with that email address already exists."
ACCOUNT_DISABLED = ("This account has been disabled, so it cannot log in. "
                    "Please contact us if you think this is a mistake.")
# Orders in these states still need the shopper's address and email to be paid or shipped.
OPEN_ORDER_STATUSES = (OrderStatus.PENDING, OrderStatus.PAID)


class AddressNotFound(NotFound):
    """The address does not exist or belongs to someone else."""


@dataclass(frozen=True)
class EmailConfirmation:
    """What following a confirmation link did: the account, whether it was news, and the guest orders it gained."""

    user: User
    newly_confirmed: bool
    orders_joined: int


@dataclass(frozen=True)
class AddressFields:
    full_name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    country: str
    phone: str
    region: str = ""  # a listed country's code ("OR"), else the county or region typed, if any


def normalize_email(email: str) -> str:
    """Validate an email address's syntax and return it lower-cased."""
    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise ShopError(f"That email address is not valid: {error}") from error
    return result.normalized.lower()


def find_user_by_email(email: str) -> User | None:
    """Return the account with this email, whatever its case."""
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def clean_name(name: str) -> str:
    """Return the name trimmed, or raise ShopError when it is empty, too long or has control characters."""
    name = " ".join(name.split())
    if not name:
        raise ShopError("Please enter your name.")
    if len(name) > lengths.PERSON_NAME:
        raise ShopError(f"The name can be at most {lengths.PERSON_NAME} characters long.")
    _check_printable(name, "name")
    return name


def _check_printable(value: str, label: str) -> None:
    # Control characters (NUL among them, which Postgres refuses) never belong in a name or address.
    if not storable(value):
        raise ShopError(f"The {label} contains characters we cannot store.")


def _check_address(fields: AddressFields) -> None:
    for label, value in vars(fields).items():
        _check_printable(value, label.replace("_", " "))


def create_admin(email: str, password: str, name: str = "Admin") -> User:
    """Create an owner account, or make an existing one an owner and re-password it."""
    email = normalize_email(email)
    check_new_password(password)
    name = clean_name(name)
    password_hash = hash_password(password)
    with write_transaction():
        user = find_user_by_email(email)
        if user is None:
            user = User(email=email, name=name, password_hash=password_hash, role=Role.OWNER)
            db.session.add(user)
        else:
            # The console is how a locked-out shop gets its owner back, so this also re-enables the account.
            user.role = Role.OWNER
            user.disabled_at = None
            user.password_hash = password_hash
            user.password_changed_at = now_utc()
            _end_user_sessions(user.id)
    return user


def register_user(email: str, name: str, password: str) -> User:
    """Create a shopper account and email it a confirmation link; raise ShopError for a bad or taken email,
    name or password."""
    email = normalize_email(email)
    name = clean_name(name)
    check_new_password(password)
    password_hash = hash_password(password)
    try:
        with write_transaction():
            if find_user_by_email(email) is not None:
                raise ShopError(EMAIL_TAKEN)
            user = User(email=email, name=name, password_hash=password_hash)
            db.session.add(user)
            db.session.flush()
            _queue_confirmation(user)
    except IntegrityError as error:  # registered by a concurrent request since the check above
        raise ShopError(EMAIL_TAKEN) from error
    return user


def authenticate(email: str, password: str) -> User:
    """Return the account for these credentials, upgrading an outdated hash; else raise ShopError.

    A disabled account is refused only after its password checked out, so the message tells no
    stranger which addresses have accounts.
    """
    user = find_user_by_email(email)
    if user is None:
        spend_verification_time(password)
        raise ShopError(LOGIN_FAILED)
    if not verify_password(user.password_hash, password):
        raise ShopError(LOGIN_FAILED)
    if user.is_disabled:
        raise ShopError(ACCOUNT_DISABLED)
    if needs_rehash(user.password_hash):
        upgraded = hash_password(password)
        with write_transaction():
            db.session.execute(sa.update(User).where(User.id == user.id).values(password_hash=upgraded))
    return user


def open_user_session(user_id: int) -> str:
    """Record a new login of the account and return its id; forget its logins older than the lifetime."""
    lifetime = timedelta(days=int(current_app.config["SESSION_LIFETIME_DAYS"]))
    session_id = secrets.token_urlsafe(32)
    with write_transaction():
        db.session.execute(
            sa.delete(UserSession).where(UserSession.user_id == user_id, UserSession.created_at < now_utc() - lifetime)
        )
        db.session.add(UserSession(id=session_id, user_id=user_id))
    return session_id


# Run on every request of a logged-in shopper: built once, as building it cost as much as running it.
_SESSION_USER = (
    sa.select(User, UserSession.id)
    .outerjoin(UserSession, sa.and_(UserSession.user_id == User.id, UserSession.id == sa.bindparam("session_id")))
    .where(User.id == sa.bindparam("user_id"))
)


def find_session_user(user_id: int, session_id: str) -> tuple[User | None, bool]:
    """Return the account and whether this login of it is still open, in one query."""
    row = db.session.execute(_SESSION_USER, {"user_id": user_id, "session_id": session_id}).one_or_none()
    if row is None:
        return None, False
    user, open_session_id = row
    return user, open_session_id is not None


def end_user_session(session_id: str) -> None:
    """End one login, so that no copy of its cookie logs anyone in again."""
    with write_transaction():
        db.session.execute(sa.delete(UserSession).where(UserSession.id == session_id))


def end_all_user_sessions(user_id: int) -> None:
    """End every login of the account, on every device."""
    with write_transaction():
        _end_user_sessions(user_id)


def _end_user_sessions(user_id: int, keep_session_id: str | None = None) -> None:
    query = sa.delete(UserSession).where(UserSession.user_id == user_id)
    if keep_session_id is not None:
        query = query.where(UserSession.id != keep_session_id)
    db.session.execute(query)


def password_fingerprint(user: User) -> str:
    """Return a short value that changes whenever the user's password hash changes."""
    return hmac.new(secret_key(), f"{user.id}:{user.password_hash}".encode(), hashlib.sha256).hexdigest()[:32]


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key(), salt=RESET_TOKEN_SALT)


def make_reset_token(user: User) -> str:
    """Return a signed token that resets this user's current password within the hour."""
    return _reset_serializer().dumps({"id": user.id, "fp": password_fingerprint(user)})


def request_password_reset(email: str, link_for_token: Callable[[str], str]) -> None:
    """Email a reset link when an enabled account has this address; do nothing visible otherwise."""
    with write_transaction():
        user = find_user_by_email(email)
        if user is None or user.is_disabled:
            return
        queue_password_reset(user, link_for_token)


def queue_password_reset(user: User, link_for_token: Callable[[str], str]) -> None:
    """Add the email with a reset link for this account to the caller's transaction."""
    queue_email(user.email, "Reset your password", "password_reset",
                user=user, link=link_for_token(make_reset_token(user)),
                valid_minutes=RESET_TOKEN_MAX_AGE // 60)


def _account_id(payload: object) -> int | None:
    """Return the account id a signed link's payload names, or None for a shape the shop never signs."""
    user_id = payload.get("id") if isinstance(payload, dict) else None
    # A link signed with an older or leaked key may carry any number: one the id column cannot hold names no one.
    if isinstance(user_id, int) and not isinstance(user_id, bool) and 0 < user_id <= MAX_ID:
        return user_id
    return None


def _user_for_token(token: str, for_update: bool = False) -> User:
    try:
        payload = _reset_serializer().loads(token, max_age=RESET_TOKEN_MAX_AGE)
    except BadSignature as error:  # also covers SignatureExpired
        raise ShopError("That password reset link is invalid or has expired. Please ask for a new one.") from error
    user_id = _account_id(payload)
    user = None
    if user_id is not None:
        query = sa.select(User).where(User.id == user_id)
        user = db.session.scalar(query.with_for_update() if for_update else query)
    if user is None or not hmac.compare_digest(str(payload.get("fp")), password_fingerprint(user)):
        raise ShopError("That password reset link has already been used or is no longer valid. "
                        "Please ask for a new one.")
    return user


def check_reset_token(token: str) -> User:
    """Return the account a reset token is for; raise ShopError if expired, used or tampered with."""
    return _user_for_token(token)


def reset_password(token: str, new_password: str) -> User:
    """Set a new password through a reset token, which stops working afterwards."""
    check_new_password(new_password)
    with write_transaction():
        user = _user_for_token(token, for_update=True)
        _set_password(user, new_password)
    return user


def _set_password(user: User, password: str, keep_session_id: str | None = None) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = now_utc()
    # Whoever knew the old password may be logged in somewhere: end every other login.
    _end_user_sessions(user.id, keep_session_id)
    _notify_account_change(user.email, user, "password")


def _notify_account_change(recipient: str, user: User, change: str, new_email: str = "") -> None:
    """Tell the owner that their password or email changed, so a takeover does not go unseen."""
    subject = {"password": "Your password was changed", "email": "Your email address was changed"}[change]
    queue_email(recipient, subject, "account_changed", user=user, change=change, new_email=new_email,
                reset_url=external_url("auth.reset_request"))


def _locked_user(user_id: int) -> User:
    """Load the account locked against concurrent changes (inside write_transaction)."""
    user = db.session.scalar(sa.select(User).where(User.id == user_id).with_for_update())
    if user is None:
        raise ShopError("Your account no longer exists.")
    return user


def update_profile(user_id: int, name: str, email: str, current_password: str) -> User:
    """Change the name and email; a new email needs the current password."""
    name = clean_name(name)
    email = normalize_email(email)
    try:
        with write_transaction():
            user = _locked_user(user_id)
            if email != user.email:
                if not verify_password(user.password_hash, current_password or ""):
                    raise ShopError("To change your email address, enter your current password correctly.")
                if find_user_by_email(email) is not None:
                    raise ShopError(EMAIL_TAKEN)
                # The old address hears of it: it is the one the rightful owner still reads.
                _notify_account_change(user.email, user, "email", new_email=email)
                user.email = email
                # The confirmation was of the old address; the account page offers a link for the new one.
                user.email_confirmed_at = None
            user.name = name
    except IntegrityError as error:
        raise ShopError(EMAIL_TAKEN) from error
    return user


def change_password(user_id: int, current_password: str, new_password: str,
                    keep_session_id: str | None = None) -> User:
    """Replace the password after checking the current one, ending every login but the one to keep."""
    check_new_password(new_password)
    with write_transaction():
        user = _locked_user(user_id)
        if not verify_password(user.password_hash, current_password):
            raise ShopError("Your current password is not correct.")
        _set_password(user, new_password, keep_session_id)
    return user


def _confirmation_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key(), salt=CONFIRM_TOKEN_SALT)


def make_confirmation_token(user: User) -> str:
    """Return a signed token confirming this account's current email address, valid for a week."""
    return _confirmation_serializer().dumps({"id": user.id, "email": user.email})


def _queue_confirmation(user: User) -> None:
    link = external_url("auth.confirm_email", token=make_confirmation_token(user))
    queue_email(user.email, "Confirm your email address", "confirm_email", user=user, link=link,
                valid_days=CONFIRM_TOKEN_MAX_AGE // 86400)


def send_email_confirmation(user_id: int) -> User:
    """Email the account a new confirmation link; raise ShopError when its address is already confirmed."""
    with write_transaction():
        user = _locked_user(user_id)
        if user.email_confirmed_at is not None:
            raise ShopError(f"Your email address {user.email} is already confirmed.")
        _queue_confirmation(user)
    return user


def confirm_email(token: str) -> EmailConfirmation:
    """Confirm the address a link was sent to, and give the account the guest orders placed with it.

    Both happen in one transaction: an order placed as a guest joins the account exactly when the
    account has shown it reads that mailbox. Following the link again is harmless, and picks up
    guest orders placed since.
    """
    try:
        payload = _confirmation_serializer().loads(token, max_age=CONFIRM_TOKEN_MAX_AGE)
    except BadSignature as error:  # also covers SignatureExpired
        raise ShopError("That confirmation link is invalid or has expired. "
                        "Log in and ask for a new one on your account page.") from error
    user_id = _account_id(payload)
    if user_id is None:
        raise ShopError("That confirmation link is invalid. Log in and ask for a new one on your account page.")
    with write_transaction():
        user = db.session.scalar(sa.select(User).where(User.id == user_id).with_for_update())
        if user is None or user.email != payload.get("email"):
            raise ShopError("That confirmation link is for an email address the account no longer uses. "
                            "Log in and ask for a new one on your account page.")
        newly_confirmed = user.email_confirmed_at is None
        if newly_confirmed:
            user.email_confirmed_at = now_utc()
        orders_joined = rows_changed(
            sa.update(Order).where(Order.user_id.is_(None), Order.email == user.email).values(user_id=user.id)
            .execution_options(synchronize_session=False)
        )
    return EmailConfirmation(user, newly_confirmed, orders_joined)


def list_addresses(user_id: int) -> list[Address]:
    """Return the user's addresses, the default first."""
    return list(db.session.scalars(
        sa.select(Address).where(Address.user_id == user_id).order_by(Address.is_default.desc(), Address.id)
    ))


def default_address(user_id: int) -> Address | None:
    """Return the user's default shipping address, if they chose one."""
    return db.session.scalar(
        sa.select(Address).where(Address.user_id == user_id, Address.is_default.is_(True)).limit(1)
    )


def get_address(user_id: int, address_id: int) -> Address:
    """Return one of the user's addresses; raise AddressNotFound for anyone else's."""
    address = db.session.scalar(
        sa.select(Address).where(Address.id == address_id, Address.user_id == user_id)
    )
    if address is None:
        raise AddressNotFound("That address does not exist.")
    return address


def _make_default(user_id: int, address: Address) -> None:
    db.session.execute(
        sa.update(Address).where(Address.user_id == user_id, Address.id != address.id).values(is_default=False)
    )
    address.is_default = True


def add_address(user_id: int, fields: AddressFields, make_default: bool) -> Address:
    """Add an address; the first one, or one asked for, becomes the default."""
    _check_address(fields)
    with write_transaction():
        _locked_user(user_id)
        count = db.session.scalar(sa.select(sa.func.count(Address.id)).where(Address.user_id == user_id)) or 0
        if count >= MAX_ADDRESSES:
            raise ShopError(f"You can keep at most {MAX_ADDRESSES} addresses. Delete one first.")
        address = Address(user_id=user_id, is_default=False, **vars(fields))
        db.session.add(address)
        db.session.flush()
        if make_default or count == 0:
            _make_default(user_id, address)
    return address


def update_address(user_id: int, address_id: int, fields: AddressFields, make_default: bool) -> Address:
    """Change one of the user's addresses."""
    _check_address(fields)
    with write_transaction():
        _locked_user(user_id)
        address = get_address(user_id, address_id)
        for name, value in vars(fields).items():
            setattr(address, name, value)
        if make_default:
            _make_default(user_id, address)
    return address


def set_default_address(user_id: int, address_id: int) -> Address:
    """Make one of the user's addresses the default for checkout."""
    with write_transaction():
        _locked_user(user_id)
        address = get_address(user_id, address_id)
        _make_default(user_id, address)
    return address


def delete_address(user_id: int, address_id: int) -> None:
    """Delete one of the user's addresses; if it was the default, the oldest remaining one takes over."""
    with write_transaction():
        _locked_user(user_id)
        address = get_address(user_id, address_id)
        was_default = address.is_default
        db.session.delete(address)
        db.session.flush()
        if was_default:
            successor = db.session.scalar(
                sa.select(Address).where(Address.user_id == user_id).order_by(Address.id).limit(1)
            )
            if successor is not None:
                successor.is_default = True


def delete_account(user_id: int, password: str) -> None:
    """Delete the account and its personal data; its orders stay, anonymised, for the books."""
    with write_transaction():
        user = _locked_user(user_id)
        if not verify_password(user.password_hash, password):
            raise ShopError("Your password is not correct, so your account was not deleted.")
        open_order = db.session.scalar(
            sa.select(Order.number).where(Order.user_id == user_id, Order.status.in_(OPEN_ORDER_STATUSES)).limit(1)
        )
        if open_order is not None:
            raise ShopError(f"Order {open_order} is still being processed. You can delete your account "
                            "once it has shipped or been cancelled.")
        db.session.execute(
            sa.update(Order)
            .where(Order.user_id == user_id)
            .values(
                user_id=None,
                email=sa.literal("deleted-") + sa.cast(Order.id, sa.String) + sa.literal("@invalid"),
                # City, postal code and country stay: tax records need the place of supply.
                ship_name="", ship_line1="", ship_line2="", ship_phone="",
            )
            .execution_options(synchronize_session=False)
        )
        db.session.execute(sa.delete(OutboxEmail).where(OutboxEmail.recipient == user.email))
        db.session.delete(user)

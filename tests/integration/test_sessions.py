"""Login rows against a real database: pruning, and the password changes and deletions that end them."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import UserSession
from shop.models.base import now_utc
from shop.services import ShopError, accounts
from tests.factories import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.usefixtures("app")


def logins_of(user_id: int) -> set[str]:
    db.session.expire_all()
    return set(db.session.scalars(sa.select(UserSession.id).where(UserSession.user_id == user_id)))


def test_a_login_forgets_the_accounts_logins_past_the_lifetime(app):
    ann, bob = make_user("ann@example.com"), make_user("bob@example.com")
    lifetime = timedelta(days=app.config["SESSION_LIFETIME_DAYS"])
    db.session.add_all([
        UserSession(id="ann-expired", user_id=ann.id, created_at=now_utc() - lifetime - timedelta(minutes=1)),
        UserSession(id="ann-recent", user_id=ann.id, created_at=now_utc() - lifetime + timedelta(hours=1)),
        UserSession(id="bob-expired", user_id=bob.id, created_at=now_utc() - lifetime - timedelta(days=1)),
    ])
    db.session.commit()
    ann_id, bob_id = ann.id, bob.id

    new = accounts.open_user_session(ann_id)

    assert logins_of(ann_id) == {"ann-recent", new}
    assert logins_of(bob_id) == {"bob-expired"}, "only the account logging in is pruned"
    assert len(new) >= 40 and new != accounts.open_user_session(ann_id)


def test_a_password_reset_ends_every_login():
    ann = make_user("ann@example.com")
    db.session.commit()
    token = accounts.make_reset_token(ann)
    accounts.open_user_session(ann.id)
    accounts.open_user_session(ann.id)
    accounts.reset_password(token, "plum tangerine orbit")
    assert logins_of(ann.id) == set()


def test_a_password_change_keeps_only_the_login_that_made_it():
    ann = make_user("ann@example.com")
    db.session.commit()
    ann_id = ann.id
    mine, other = accounts.open_user_session(ann_id), accounts.open_user_session(ann_id)
    with pytest.raises(ShopError):
        accounts.change_password(ann_id, "wrong password", "plum tangerine orbit", keep_session_id=mine)
    assert logins_of(ann_id) == {mine, other}, "a refused change ends nothing"
    accounts.change_password(ann_id, DEFAULT_PASSWORD, "plum tangerine orbit", keep_session_id=mine)
    assert logins_of(ann_id) == {mine}


def test_create_admin_on_an_existing_account_ends_its_logins():
    ann = make_user("ann@example.com")
    db.session.commit()
    accounts.open_user_session(ann.id)
    accounts.create_admin("ann@example.com", "another fine password")
    assert logins_of(ann.id) == set()


def test_deleting_the_account_deletes_its_logins():
    ann = make_user("ann@example.com")
    db.session.commit()
    ann_id = ann.id
    accounts.open_user_session(ann_id)
    accounts.delete_account(ann_id, DEFAULT_PASSWORD)
    assert logins_of(ann_id) == set()

"""Account services against a real database."""
import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Address, Order, OutboxEmail, SavedItem, User, WishlistItem
from shop.services import ShopError, accounts
from tests.factories import DEFAULT_PASSWORD, make_address, make_order, make_product, make_user

pytestmark = pytest.mark.usefixtures("app")


def test_register_rejects_an_email_that_a_concurrent_request_took(monkeypatch):
    make_user("ann@example.com")
    db.session.commit()
    # The duplicate check passes (as if the other request had not committed yet); the UNIQUE index says no.
    monkeypatch.setattr(accounts, "find_user_by_email", lambda email: None)
    with pytest.raises(ShopError, match="already exists"):
        accounts.register_user("ANN@example.com", "Ann Again", "plum tangerine orbit")
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1


def test_delete_account_removes_personal_data_in_one_go():
    user = make_user("ann@example.com")
    make_address(user)
    product = make_product()
    db.session.add(SavedItem(user_id=user.id, variant_id=product.variants[0].id))
    db.session.add(WishlistItem(user_id=user.id, product_id=product.id))
    first = make_order(user, status="shipped", variant=product.variants[0], quantity=3)
    second = make_order(user, status="cancelled", variant=product.variants[0])
    db.session.add(OutboxEmail(recipient="ann@example.com", subject="Your order", body_text="Ann, 1 Main St",
                               body_html="<p>Ann</p>"))
    db.session.commit()
    user_id, ids = user.id, [first.id, second.id]

    accounts.delete_account(user_id, DEFAULT_PASSWORD)

    db.session.expire_all()
    for model in (Address, SavedItem, WishlistItem):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0
    assert db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))) == 0
    orders = db.session.scalars(sa.select(Order).where(Order.id.in_(ids)).order_by(Order.id)).all()
    assert [order.email for order in orders] == [f"deleted-{order_id}@invalid" for order_id in ids]
    assert all(order.user_id is None and order.ship_name == "" and order.ship_line1 == "" for order in orders)
    assert orders[0].subtotal_cents == product.variants[0].price_cents * 3
    assert orders[0].ship_country == "US"


def test_delete_account_with_wrong_password_changes_nothing():
    user = make_user("ann@example.com")
    order = make_order(user, status="shipped")
    db.session.commit()
    with pytest.raises(ShopError):
        accounts.delete_account(user.id, "not my password")
    db.session.expire_all()
    assert db.session.get(User, user.id) is not None
    assert db.session.get(Order, order.id).email == "ann@example.com"


def test_reset_token_is_bound_to_the_current_password():
    user = make_user("ann@example.com")
    db.session.commit()
    token = accounts.make_reset_token(user)
    assert accounts.check_reset_token(token).id == user.id
    accounts.reset_password(token, "plum tangerine orbit")
    with pytest.raises(ShopError, match="already been used"):
        accounts.check_reset_token(token)


def test_reset_token_for_a_deleted_account_is_refused():
    user = make_user("ann@example.com")
    db.session.commit()
    token = accounts.make_reset_token(user)
    accounts.delete_account(user.id, DEFAULT_PASSWORD)
    with pytest.raises(ShopError):
        accounts.reset_password(token, "plum tangerine orbit")


def test_only_one_default_address_at_a_time():
    user = make_user()
    db.session.commit()
    fields = accounts.AddressFields("Ann", "1 Road", "", "Town", "111", "US", "")
    first = accounts.add_address(user.id, fields, make_default=False)
    second = accounts.add_address(user.id, fields, make_default=True)
    third = accounts.add_address(user.id, fields, make_default=False)
    db.session.expire_all()
    defaults = db.session.scalars(sa.select(Address.id).where(Address.is_default)).all()
    assert defaults == [second.id]
    accounts.set_default_address(user.id, third.id)
    accounts.delete_address(user.id, third.id)
    db.session.expire_all()
    assert db.session.scalars(sa.select(Address.id).where(Address.is_default)).all() == [first.id]


def test_address_book_has_a_limit():
    user = make_user()
    for _ in range(accounts.MAX_ADDRESSES):
        make_address(user)
    db.session.commit()
    fields = accounts.AddressFields("Ann", "1 Road", "", "Town", "111", "US", "")
    with pytest.raises(ShopError, match="at most"):
        accounts.add_address(user.id, fields, make_default=False)


def test_create_admin_makes_and_promotes_admins():
    admin = accounts.create_admin("Boss@Example.com", "plum tangerine orbit")
    assert (admin.email, admin.is_admin) == ("boss@example.com", True)
    make_user("shopper@example.com")
    db.session.commit()
    assert accounts.create_admin("shopper@example.com", "another fine password").is_admin
    with pytest.raises(ShopError, match="most common"):
        accounts.create_admin("third@example.com", "password123")

"""Fixtures for the accounts tests, shared with every test that needs a logged-in shopper.

    def test_something(client, auth):
        make_user("ann@example.com"); db.session.commit()
        auth.login("ann@example.com")          # DEFAULT_PASSWORD unless given
        ...
        auth.logout()

`user` is an account that is already logged in on `client`; `admin` is the same for an admin.
"""
from urllib.parse import urlencode

import pytest

from shop.extensions import db
from shop.services.lifecycle import Actor
from tests.factories import DEFAULT_PASSWORD, make_user


class AuthActions:
    """Log the test client in and out through the real pages, as a shopper would."""

    def __init__(self, client):
        self._client = client

    def login(self, email: str, password: str = DEFAULT_PASSWORD, remember: bool = False, next: str | None = None,
              follow_redirects: bool = False):
        """Post the login form; return the response (a redirect when it worked)."""
        data = {"email": email, "password": password}
        if remember:
            data["remember"] = "y"
        url = "/auth/login" if next is None else "/auth/login?" + urlencode({"next": next})
        return self._client.post(url, data=data, follow_redirects=follow_redirects)

    def logout(self, follow_redirects: bool = False):
        """Post the logout form; return the response."""
        return self._client.post("/auth/logout", follow_redirects=follow_redirects)


@pytest.fixture
def auth(client):
    """Return login/logout helpers bound to the test client."""
    return AuthActions(client)


def _logged_in(auth, email: str, is_admin: bool):
    account = make_user(email, name="Admin Person" if is_admin else "Sam Shopper", is_admin=is_admin)
    db.session.commit()
    # Requests made by the test may close or expire this session; a loaded, detached copy keeps
    # user.id, user.email and user.name readable. Load it again to change it.
    db.session.refresh(account)
    db.session.expunge(account)
    response = auth.login(email)
    assert response.status_code == 302, "the login page did not accept the test account"
    return account


@pytest.fixture
def user(auth):
    """Return a shopper account (password DEFAULT_PASSWORD) logged in on `client`."""
    return _logged_in(auth, "shopper@example.com", is_admin=False)


@pytest.fixture
def admin(auth):
    """Return an admin account (password DEFAULT_PASSWORD) logged in on `client`."""
    return _logged_in(auth, "admin@example.com", is_admin=True)


@pytest.fixture
def boss(app):
    """Return an admin account, not logged in: the actor the back office's services are called with."""
    account = make_user("boss@example.com", is_admin=True)
    db.session.commit()
    return account


@pytest.fixture
def clerk(boss):
    """Return the boss as the admin actor an order's history records."""
    return Actor.admin(boss)

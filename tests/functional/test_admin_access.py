"""Only admins reach /admin; others are sent to log in or refused.

The gate is tested on every admin route in the URL map, so a new admin page is covered the day
it is added.
"""
import re

import pytest

from shop import create_app
from shop.extensions import db
from tests.factories import DEFAULT_PASSWORD, make_user

LANDING_PAGES = ["/admin/", "/admin/orders"]


def _admin_requests() -> list[tuple[str, str]]:
    """Return (method, url) for every method of every admin route, its parameters filled with 1."""
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            url = re.sub(r"<[^>]+>", "1", rule.rule)
            found += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


ADMIN_REQUESTS = _admin_requests()


def test_the_sweep_sees_the_admin_pages():
    assert ("GET", "/admin/") in ADMIN_REQUESTS and ("POST", "/admin/orders/1/refund") in ADMIN_REQUESTS


@pytest.mark.parametrize(("method", "url"), ADMIN_REQUESTS)
def test_anonymous_visitors_are_sent_to_log_in(client, method, url):
    response = client.open(url, method=method, data={"csrf_token": client.csrf_token()})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


@pytest.mark.parametrize(("method", "url"), ADMIN_REQUESTS)
def test_shoppers_are_refused(client, user, method, url):
    response = client.open(url, method=method, data={"csrf_token": client.csrf_token()})
    assert response.status_code == 403
    assert "You do not have permission to see this page." in response.get_data(as_text=True)


@pytest.mark.parametrize("path", LANDING_PAGES)
def test_admins_get_in(client, admin, path):
    assert client.get(path).status_code == 200


def test_an_admin_named_admin_sees_one_admin_link(client, admin):
    admin.name = "Admin"
    page = client.get("/").get_data(as_text=True)
    assert page.count(">Admin</a>") == 1


def test_shoppers_see_no_admin_link(client, user):
    assert 'href="/admin/"' not in client.get("/").get_data(as_text=True)


def test_admin_login_returns_to_the_admin_page(client):
    make_user("boss@example.com", is_admin=True)
    db.session.commit()
    login_url = client.get("/admin/").headers["Location"]
    assert login_url == "/auth/login?next=%2Fadmin%2F"
    response = client.post(login_url, data={"email": "boss@example.com", "password": DEFAULT_PASSWORD})
    assert response.headers["Location"] == "/admin/"
    assert 'href="/admin/"' in client.get("/").get_data(as_text=True)

"""Only admins reach /admin; others are sent to log in or refused."""
import pytest

from shop.extensions import db
from tests.factories import DEFAULT_PASSWORD, make_user

ADMIN_PAGES = ["/admin/", "/admin/orders"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_shoppers_are_refused(client, user, path):
    response = client.get(path)
    assert response.status_code == 403
    assert "You do not have permission to see this page." in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admins_get_in(client, admin, path):
    assert client.get(path).status_code == 200


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

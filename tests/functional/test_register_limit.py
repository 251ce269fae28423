"""Registration is throttled per client address, bounding bulk sign-ups and probing for taken emails."""
import pytest

from shop.extensions import db
from tests.factories import make_user


@pytest.fixture
def app_overrides():
    return {"REGISTER_LIMIT": "3 per hour"}


def register(client, email: str, address: str = "10.0.0.1"):
    return client.post("/auth/register", environ_base={"REMOTE_ADDR": address}, data={
        "email": email, "name": "Nora New", "password": "plum tangerine orbit", "confirm": "plum tangerine orbit"})


def test_probing_emails_from_one_address_is_cut_off(app, client):
    make_user("taken@example.com")
    db.session.commit()
    for _ in range(3):
        answer = register(client, "taken@example.com")
        assert "An account with that email address already exists." in answer.get_data(as_text=True)
    blocked = register(client, "taken@example.com")
    assert blocked.status_code == 429
    page = blocked.get_data(as_text=True)
    assert "already exists" not in page
    assert "3 per 1 hour; you can try again in" in page
    assert client.get("/auth/register", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 200

    other_address = app.test_client()
    assert "already exists" in register(other_address, "taken@example.com", "10.0.0.2").get_data(as_text=True)


def test_a_browser_can_sign_up_a_few_accounts_then_must_wait(app):
    for number in range(3):
        assert register(app.test_client(), f"new{number}@example.com").status_code == 302
    assert register(app.test_client(), "new9@example.com").status_code == 429


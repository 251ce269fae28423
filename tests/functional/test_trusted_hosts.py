"""Links in emails name SHOP_BASE_URL, never a host a client sent; foreign hosts are refused."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from shop import ROOT, create_app
from shop.config import ConfigurationError
from shop.extensions import db
from shop.services.orders import order_link
from tests.conftest import free_port
from tests.factories import make_product, make_user
from tests.plugins.checkout import payment_reference_of
from tests.shopper_http import hidden_fields

BASE_URL = "https://shop.example"


@pytest.fixture
def app_overrides(request):
    return {"BASE_URL": BASE_URL, **getattr(request, "param", {})}


def link_in(message, pattern: str) -> str:
    text = message.get_body(("plain",)).get_content()
    match = re.search(pattern, text)
    assert match, text
    return match.group(0)


# The test client keeps its session cookie for localhost, so a form sent to another host has no
# valid CSRF token; without the check the request must still get through to the host check.
@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": False}], indirect=True)
def test_a_reset_request_for_a_foreign_host_is_refused_and_sends_nothing(client, mail_outbox):
    make_user("ann@example.com")
    db.session.commit()
    response = client.post("/auth/reset", data={"email": "ann@example.com"}, headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "does not answer to that host name" in response.get_data(as_text=True)
    assert mail_outbox == []


def test_the_reset_link_names_the_base_url_not_the_requested_host(client, mail_outbox):
    make_user("ann@example.com")
    db.session.commit()
    response = client.post("/auth/reset", data={"email": "ann@example.com"})  # for host localhost
    assert response.status_code == 302
    link = link_in(mail_outbox[0], r"https?://\S+/auth/reset/\S+")
    assert link.startswith(BASE_URL + "/auth/reset/")
    assert client.get(link.removeprefix(BASE_URL)).status_code == 200


@pytest.mark.parametrize("app_overrides", [{"PROXY_FIX": True}], indirect=True)
def test_a_forwarded_host_sent_by_a_client_does_not_reach_the_reset_link(client, mail_outbox):
    make_user("ann@example.com")
    db.session.commit()
    response = client.post("/auth/reset", data={"email": "ann@example.com"},
                           headers={"X-Forwarded-Host": "evil.example"})
    assert response.status_code == 302
    assert link_in(mail_outbox[0], r"https?://\S+/auth/reset/\S+").startswith(BASE_URL + "/auth/reset/")


@pytest.mark.parametrize("app_overrides", [{"PROXY_FIX": True}], indirect=True)
def test_the_order_email_links_to_the_base_url_whatever_the_forwarded_host(client, shipping_methods, checkout_cart,
                                                                           checkout_form, mail_outbox):
    variant_id = make_product("Mug", price_cents=1250, stock=5).variants[0].id
    db.session.commit()
    checkout_cart({variant_id: 1})
    forged = {"X-Forwarded-Host": "evil.example"}
    reference = payment_reference_of(client.post("/checkout", data=checkout_form(), headers=forged))
    paid = client.post(f"/checkout/test-payment/{reference}", data={"pay": "Pay"}, headers=forged)
    assert paid.status_code == 303
    [email] = mail_outbox
    link = link_in(email, r"https?://\S+/orders/\S+")
    assert link.startswith(BASE_URL + "/orders/")
    assert client.application.test_client().get(link.removeprefix(BASE_URL)).status_code == 200


@pytest.mark.parametrize("app_overrides", [{"BASE_URL": "https://example.com/shop/"}], indirect=True)
def test_links_built_during_a_request_follow_the_base_url_and_its_path(app):
    with app.test_request_context("/", base_url="http://localhost"):
        assert order_link("A1B2C3").startswith("https://example.com/shop/orders/A1B2C3?token=")


@pytest.fixture
def clean_environment(tmp_path, monkeypatch):
    """Start from no SHOP_* settings, as a fresh deployment does."""
    monkeypatch.setenv("SHOP_INSTANCE_PATH", str(tmp_path / "instance"))
    for name in list(os.environ):
        if name.startswith("SHOP_") and name != "SHOP_INSTANCE_PATH":
            monkeypatch.delenv(name)
    monkeypatch.setenv("SHOP_SECRET_KEY", "x")
    monkeypatch.setenv("SHOP_DATABASE_URL", f"sqlite:///{tmp_path}/shop.db")


def test_under_gunicorn_without_a_base_url_the_shop_refuses_to_start(clean_environment, monkeypatch):
    monkeypatch.setenv("SERVER_SOFTWARE", "gunicorn/27.0.1")
    with pytest.raises(ConfigurationError, match="SHOP_BASE_URL is not set. Set it to the shop's public address"):
        create_app()
    monkeypatch.setenv("SHOP_BASE_URL", "shop.example")
    with pytest.raises(ConfigurationError, match="with its scheme"):
        create_app()
    monkeypatch.setenv("SHOP_BASE_URL", "https://shop.example")
    assert create_app().config["TRUSTED_HOSTS"] == ["shop.example"]


def test_gunicorn_without_a_base_url_exits_saying_how_to_fix_it(clean_environment, tmp_path):
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{free_port()}", "wsgi:app"],
            cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        exit_code = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        exit_code = None
    output = log_path.read_text()
    assert exit_code not in (None, 0), f"gunicorn kept serving without SHOP_BASE_URL:\n{output}"
    assert "SHOP_BASE_URL is not set" in output


def test_development_without_a_base_url_answers_only_on_loopback_names(clean_environment):
    client = create_app().test_client()
    assert client.get("/healthz", headers={"Host": "localhost:5000"}).status_code == 200
    assert client.get("/healthz", headers={"Host": "127.0.0.1:5000"}).status_code == 200
    refused = client.get("/auth/reset", headers={"Host": "evil.example"})
    assert refused.status_code == 400
    assert "does not answer to that host name" in refused.get_data(as_text=True)


def test_the_served_shop_refuses_foreign_hosts_and_mails_links_to_its_base_url(app, gunicorn_shop, mail_outbox):
    make_user("ann@example.com")
    db.session.commit()
    shop = gunicorn_shop()
    http = shop.session()
    assert http.get(shop.url + "/auth/reset", headers={"Host": "evil.example"}).status_code == 400

    page = http.get(shop.url + "/auth/reset")
    fields = hidden_fields(page.text, "/auth/reset")
    answer = http.post(shop.url + "/auth/reset", data={**fields, "email": "ann@example.com"},
                       headers={"X-Forwarded-Host": "evil.example"}, allow_redirects=False)
    assert answer.status_code == 302
    wait_for(lambda: mail_outbox)
    assert link_in(mail_outbox[0], r"https?://\S+/auth/reset/\S+").startswith(shop.url + "/auth/reset/")


def wait_for(condition, timeout: float = 10.0):
    """Poll until condition() is truthy (the served shop sends email after its response)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")

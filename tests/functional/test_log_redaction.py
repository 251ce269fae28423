"""Logs: one line per request with its id, JSON when asked, and no secret in them at any level."""
import json
import logging
import re
from datetime import datetime
from unittest.mock import ANY

import pytest
from flask import abort

from shop.extensions import db
from shop.operations.logs import REDACTED, redact
from tests.factories import make_product, make_user
from tests.plugins.stripe import SECRET_KEY, WEBHOOK_SECRET

PASSWORD = "plum tangerine orbit"
NEW_PASSWORD = "quartz meadow lantern"
WRONG_PASSWORD = "walnut harbour signal"
LINK = re.compile(r"http://localhost(/\S+)")


@pytest.fixture
def app_overrides(stripe_api, request):
    return {**stripe_api.config, "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG", **getattr(request, "param", {})}


@pytest.fixture
def written(capsys):
    """Return a function giving what the shop's log handler has written to stderr since it was last called."""
    return lambda: capsys.readouterr().err


def json_lines(text: str) -> list[dict]:
    """Parse every line the handler wrote: in JSON mode each must be one object."""
    return [json.loads(line) for line in text.splitlines()]


def request_lines(entries: list[dict]) -> list[dict]:
    return [entry for entry in entries if entry["logger"] == "shop.request"]


def links_in(message) -> list[str]:
    """Return the shop's links in an email's plain text, as local paths."""
    return LINK.findall(message.get_body(("plain",)).get_content())


def test_a_request_is_logged_as_one_json_line_with_its_id(client, user, written):
    written()

    response = client.get("/account", headers={"X-Request-ID": "edge-7f3a.b_2"})

    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "edge-7f3a.b_2"
    [line] = request_lines(json_lines(written()))
    assert line == {
        "time": ANY, "level": "INFO", "logger": "shop.request", "message": ANY, "request_id": "edge-7f3a.b_2",
        "method": "GET", "path": "/account", "status": 200, "duration_ms": ANY, "user_id": user.id,
        "client": "127.0.0.1",
    }
    assert datetime.fromisoformat(line["time"]).utcoffset().total_seconds() == 0
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["message"] == f"GET /account 200 {line['duration_ms']:.1f}ms user={user.id} client=127.0.0.1"


@pytest.mark.parametrize("sent", [None, "", "has space", "tab\there", "quo\"te", "x" * 129, "<script>", "é"])
def test_a_missing_or_odd_request_id_is_replaced_by_a_new_one(client, written, sent):
    headers = {} if sent is None else {"X-Request-ID": sent}
    first = client.get("/", headers=headers).headers["X-Request-ID"]
    second = client.get("/", headers=headers).headers["X-Request-ID"]

    assert re.fullmatch(r"[0-9a-f]{32}", first) and re.fullmatch(r"[0-9a-f]{32}", second) and first != second
    assert [line["request_id"] for line in request_lines(json_lines(written()))] == [first, second]


def test_an_unhandled_error_logs_its_traceback_under_the_request_id(app, client, written):
    def broken():
        raise RuntimeError("the shelf collapsed")

    app.add_url_rule("/broken", "broken", broken)
    app.add_url_rule("/gone", "gone", lambda: abort(404))
    written()

    response = client.get("/broken", headers={"X-Request-ID": "trace-1"})
    missing = client.get("/gone")

    assert response.status_code == 500 and response.headers["X-Request-ID"] == "trace-1"
    assert missing.status_code == 404 and missing.headers["X-Request-ID"]
    entries = json_lines(written())
    [error] = [entry for entry in entries if entry["level"] == "ERROR"]
    assert (error["logger"], error["message"], error["request_id"]) == ("shop", "Unhandled error on GET /broken",
                                                                         "trace-1")
    assert error["exc_info"].startswith("Traceback (most recent call last):")
    assert error["exc_info"].endswith("RuntimeError: the shelf collapsed")
    assert [(line["path"], line["status"], line["request_id"]) for line in request_lines(entries)] == [
        ("/broken", 500, "trace-1"), ("/gone", 404, missing.headers["X-Request-ID"])]


@pytest.mark.parametrize("app_overrides", [{"LOG_FORMAT": "text", "LOG_LEVEL": "INFO"}], indirect=True)
def test_text_lines_are_one_per_record_even_for_a_path_with_a_newline(client, written):
    written()

    client.get("/no-such%0aINFO shop.request [forged] page", headers={"X-Request-ID": "t-1"})

    [line] = written().splitlines()
    assert re.fullmatch(r"\S+ \S+ INFO shop\.request \[t-1\] GET /no-such\\nINFO shop\.request \[forged\] page "
                        r"404 [\d.]+ms user=- client=127\.0\.0\.1", line), line


def test_every_route_with_a_token_in_its_path_is_logged_masked(app):
    adapter = app.url_map.bind("localhost")
    token_rules = [rule for rule in app.url_map.iter_rules() if any("token" in name for name in rule.arguments)]
    assert len(token_rules) >= 5
    for rule in token_rules:
        values = {name: "plainTokenValue" if "token" in name else 1 for name in rule.arguments}
        path = adapter.build(rule.endpoint, values, method=sorted(rule.methods or ["GET"])[0])
        assert "plainTokenValue" not in redact(path), f"{rule.rule} is not in shop.operations.logs.TOKEN_PATHS"


def test_the_handler_masks_secrets_that_a_careless_log_call_lets_through(app, written):
    written()
    app.logger.warning("Stripe said: Invalid API Key provided: %s (webhook %s)", SECRET_KEY, WEBHOOK_SECRET)
    app.logger.info("Posted %s", {"email": "ann@example.com", "password": PASSWORD})
    logging.getLogger("urllib3").warning("Cookie: session=abc123; Authorization: Bearer tok_live_42")
    try:
        raise ValueError("card 4242 4242 4242 4242 refused at /auth/reset/plainTokenValue?token=plainOrderToken")
    except ValueError:
        app.logger.exception("Payment failed")

    output = written()

    for secret in (SECRET_KEY, WEBHOOK_SECRET, PASSWORD, "abc123", "tok_live_42", "4242 4242", "plainTokenValue",
                   "plainOrderToken"):
        assert secret not in output
    entries = json_lines(output)
    assert [entry["message"] for entry in entries[:3]] == [
        f"Stripe said: Invalid API Key provided: sk_test_{REDACTED} (webhook whsec_{REDACTED})",
        f"Posted {{'email': 'ann@example.com', 'password': '{REDACTED}'}}",
        f"Cookie: {REDACTED}; Authorization: Bearer {REDACTED}",
    ]
    assert f"ValueError: card {REDACTED} refused at /auth/reset/{REDACTED}?token={REDACTED}" in entries[3]["exc_info"]


def test_a_whole_journey_leaves_no_secret_in_any_log(app, client, auth, cart, stripe_api, send_webhook, mail_outbox,
                                                     shipping_methods, checkout_form, caplog, written):
    """Every logger at DEBUG (SQL and its rows, the Stripe SDK, the shop) through a shopper's and an owner's day."""
    for name in ["", *logging.root.manager.loggerDict]:
        caplog.set_level(logging.DEBUG, logger=name)
    lamp = make_product("Desk Lamp", price_cents=4500, stock=5).variants[0]
    make_user("owner@example.com", password=PASSWORD, is_admin=True)
    db.session.commit()
    cookies: set[str] = set()

    def keep_cookie(on=client) -> None:
        cookie = on.get_cookie(app.config["SESSION_COOKIE_NAME"])
        if cookie is not None:
            cookies.add(cookie.value)

    assert client.post("/auth/register", data={"email": "nora@example.com", "name": "Nora New", "password": PASSWORD,
                                               "confirm": PASSWORD}).status_code == 302
    keep_cookie()
    [confirm] = links_in(mail_outbox[-1])
    assert client.get(confirm).status_code == 302
    assert auth.logout().status_code == 302
    assert auth.login("nora@example.com", WRONG_PASSWORD).status_code == 200
    client.post("/auth/reset", data={"email": "nora@example.com"})
    [reset] = links_in(mail_outbox[-1])
    assert client.get(reset).status_code == 200
    assert client.post(reset, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert auth.login("nora@example.com", NEW_PASSWORD).status_code == 302
    keep_cookie()
    cart.add(lamp, 1)
    assert client.post("/checkout", data=checkout_form(email="nora@example.com")).status_code == 303
    keep_cookie()
    session_id = stripe_api.only_session()["id"]
    stripe_api.mark_paid(session_id)
    assert send_webhook(stripe_api.event(session_id, "checkout.session.completed")).status_code == 200
    confirmation = next(mail for mail in mail_outbox if mail["Subject"].startswith("Your order"))
    [order_link] = [link for link in links_in(confirmation) if "token=" in link]
    assert app.test_client().get(order_link).status_code == 200
    owner = app.test_client()
    assert owner.post("/auth/login", data={"email": "owner@example.com", "password": PASSWORD}).status_code == 302
    assert owner.get("/admin/").status_code == 200
    keep_cookie(owner)

    handler_output = written()
    captured = caplog.text + handler_output
    tokens = [link.rsplit("/", 1)[-1] for link in (confirm, reset)] + [order_link.split("token=")[1]]
    secrets = {"password": PASSWORD, "new password": NEW_PASSWORD, "wrong password": WRONG_PASSWORD,
               "Stripe secret key": SECRET_KEY, "webhook secret": WEBHOOK_SECRET}
    secrets.update({f"token {token}": token for token in tokens})
    secrets.update({f"session cookie {cookie}": cookie for cookie in cookies})
    assert len(cookies) >= 3
    assert [what for what, secret in secrets.items() if secret in captured] == []
    entries = json_lines(handler_output)
    paths = {entry["path"] for entry in request_lines(entries)}
    assert {f"/auth/confirm/{REDACTED}", f"/auth/reset/{REDACTED}", "/checkout/webhook", "/admin/"} <= paths
    assert any(entry["logger"].startswith("sqlalchemy.engine") for entry in entries), "SQL was not logged at DEBUG"

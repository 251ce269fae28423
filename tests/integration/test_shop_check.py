"""`flask shop check` reports each thing a production shop needs as OK, WARN or FAIL, and exits 1 on a FAIL."""
import os
from datetime import timedelta

import pytest
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from shop import ROOT, create_app
from shop.extensions import db
from shop.models import OutboxEmail
from shop.models.base import now_utc
from shop.operations.checks import check_free_disk, run_checks
from tests.conftest import free_port, running_app


@pytest.fixture
def app_overrides(stripe_api, request):
    """A development shop set up right: a long secret key, Stripe (the stand-in) and the test SMTP server."""
    return {**stripe_api.config, "SECRET_KEY": "k" * 64, **getattr(request, "param", {})}


@pytest.fixture
def migrated(app):
    """Stamp the test database (built from the models) as migrated to the latest revision; unstamp it after."""
    stamp("heads")
    yield
    db.session.remove()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def migrations() -> ScriptDirectory:
    return ScriptDirectory(os.path.join(ROOT, "migrations"))


def stamp(revision: str) -> None:
    with db.engine.begin() as connection:
        MigrationContext.configure(connection).stamp(migrations(), revision)


def check(app) -> tuple[int, dict[str, str]]:
    """Run `flask shop check`; return its exit code and each item's line without the name."""
    result = app.test_cli_runner().invoke(args=["shop", "check"])
    lines = result.stdout.splitlines()  # log lines go to stderr
    items = {line[6:23].strip(): f"{line[:4].strip()} {line[23:]}" for line in lines[:-1]}
    return result.exit_code, items


def test_a_good_setup_is_all_ok(app, migrated, smtp_server, stripe_api):
    controller, _ = smtp_server
    exit_code, items = check(app)
    assert exit_code == 0, items
    assert all(line.startswith("OK ") for line in items.values()), items
    assert items["secret key"] == "OK given (64 characters)"
    assert items["database"].endswith("migrated to " + migrations().get_current_head() + " (the latest)")
    assert items["mail server"] == f"OK {controller.hostname}:{controller.port} answers"
    assert items["stripe"] == "OK test key accepted: no real money is taken"
    assert items["stripe webhook"] == "OK signing secret set"
    assert items["media storage"] == f"OK {app.config['MEDIA_PATH']} is writable"
    assert items["outbox"] == "OK no email waiting"
    asked = [r for r in stripe_api.requests if r["path"] == "/v1/balance"]
    assert [r["headers"]["authorization"] for r in asked] == ["Bearer " + stripe_api.config["STRIPE_SECRET_KEY"]]


@pytest.mark.parametrize("app_overrides", [{"ENV": "production", "BASE_URL": "http://shop.example", "DEBUG": True,
                                            "SECRET_KEY": "short", "STRIPE_WEBHOOK_SECRET": None}], indirect=True)
def test_a_production_shop_fails_on_each_unsafe_setting(app, migrated):
    exit_code, items = check(app)
    assert exit_code == 1
    assert items["secret key"].startswith("FAIL given, but only 5 characters")
    assert items["debug"].startswith("FAIL DEBUG is on in production")
    assert items["base URL"].startswith("FAIL SHOP_BASE_URL is 'http://shop.example', not https")
    assert items["stripe webhook"].startswith("FAIL SHOP_STRIPE_SECRET_KEY is set but SHOP_STRIPE_WEBHOOK_SECRET")
    assert items["stripe"] == "WARN test key accepted: no real money is taken"


@pytest.mark.parametrize("app_overrides", [{"ENV": "production", "BASE_URL": "https://shop.example",
                                            "STRIPE_SECRET_KEY": None}], indirect=True)
def test_a_production_shop_without_stripe_fails_as_anyone_could_mark_orders_paid(app, migrated):
    exit_code, items = check(app)
    assert exit_code == 1
    assert items["stripe"].startswith("FAIL SHOP_STRIPE_SECRET_KEY is not set: checkout sends shoppers to the "
                                      "built-in test-payment page")
    assert items["base URL"] == "OK https://shop.example"


@pytest.mark.parametrize("app_overrides", [{"STRIPE_SECRET_KEY": "pk_test_published_by_mistake"}], indirect=True)
def test_a_key_stripe_refuses_fails(app, migrated):
    exit_code, items = check(app)
    assert exit_code == 1
    assert items["stripe"].startswith("FAIL Stripe refused the key: Invalid API Key provided. Copy the secret key")


def test_a_database_not_migrated_to_the_latest_revision_fails(app):
    exit_code, items = check(app)
    assert exit_code == 1
    assert items["database"].endswith("is not migrated: run `flask db upgrade`")

    script = migrations()
    previous = script.get_revision(script.get_current_head()).down_revision
    stamp(previous)
    try:
        exit_code, items = check(app)
        assert exit_code == 1
        assert f"is at revision {previous}, this code needs {script.get_current_head()}" in items["database"]
    finally:
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE alembic_version")


def test_an_unreachable_database_fails(app):
    unreachable = create_app({
        "TESTING": True, "SECRET_KEY": "k" * 64, "MEDIA_PATH": app.config["MEDIA_PATH"],
        "MAIL_SERVER": app.config["MAIL_SERVER"], "MAIL_PORT": app.config["MAIL_PORT"],
        "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://shop:secret@127.0.0.1:{free_port()}/shop",
    })
    with unreachable.app_context():
        results = {result.name: result for result in run_checks()}
    database = results["database"]
    assert database.status == "FAIL"
    assert "postgresql+psycopg://shop:***@127.0.0.1" in database.message
    assert "cannot be reached" in database.message and "secret" not in database.message
    assert results["outbox"].status == "FAIL"
    assert results["mail server"].status == "OK"


@pytest.mark.parametrize("app_overrides", [{"MAIL_PORT": free_port()}], indirect=True)
def test_an_unreachable_mail_server_fails(app, migrated):
    exit_code, items = check(app)
    assert exit_code == 1
    assert items["mail server"].startswith(f"FAIL 127.0.0.1:{app.config['MAIL_PORT']} cannot be reached")


@pytest.mark.parametrize("app_overrides", [{"MAIL_USERNAME": "shop", "MAIL_PASSWORD": "secret"}], indirect=True)
def test_a_mail_server_that_takes_no_login_fails(app, migrated):
    exit_code, items = check(app)
    assert exit_code == 1
    assert "refused the connection: SMTP AUTH extension not supported by server" in items["mail server"]


def test_an_unwritable_media_folder_fails(tmp_path, database_url, smtp_server, stripe_api, monkeypatch):
    (tmp_path / "media").write_text("a file where the folder should be")
    overrides = {**stripe_api.config, "SECRET_KEY": "k" * 64, "MEDIA_PATH": str(tmp_path / "media")}
    with running_app(tmp_path, database_url, smtp_server, overrides, monkeypatch) as shop:
        exit_code, items = check(shop)
    assert exit_code == 1
    assert items["media storage"].startswith(f"FAIL the media folder {tmp_path / 'media'} is not writable")


def test_free_disk_warns_then_fails_below_its_thresholds(app):
    status, message = check_free_disk(warn_below=2**62)
    assert status == "WARN" and "GB free for " in message and "make room soon" in message
    status, message = check_free_disk(fail_below=2**62)
    assert status == "FAIL" and "orders, uploads and backups will fail" in message


def test_stuck_and_abandoned_emails_warn_without_failing(app, migrated):
    db.session.add_all([
        OutboxEmail(recipient="ann@example.com", subject="Order", body_text="", body_html="",
                    next_attempt_at=now_utc() - timedelta(minutes=90), last_error="SMTPServerDisconnected: gone"),
        OutboxEmail(recipient="dee@example.com", subject="Order", body_text="", body_html=""),
        OutboxEmail(recipient="bob@example.com", subject="Order", body_text="", body_html="", attempts=10),
        OutboxEmail(recipient="cy@example.com", subject="Order", body_text="", body_html="", sent_at=now_utc(),
                    created_at=now_utc() - timedelta(days=2)),
    ])
    db.session.commit()
    exit_code, items = check(app)
    assert exit_code == 0
    assert items["outbox"] == (
        "WARN 1 of 2 waiting email(s) due for too long, the oldest for 90 minutes; 1 email(s) given up after "
        "10 attempts (last error: SMTPServerDisconnected: gone). Fix the mail server, then run "
        "`flask shop send-emails`")


def test_the_instance_folder_must_be_writable(app, migrated, monkeypatch, tmp_path):
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "not-a-folder"))
    with app.app_context():
        results = {result.name: result for result in run_checks()}
    assert results["instance folder"].status == "FAIL"
    assert "is not writable (Not a directory)" in results["instance folder"].message

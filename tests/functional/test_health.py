"""/healthz says the process serves; /readyz says the shop can take traffic, and names what stops it."""
import os
from datetime import timedelta

import pytest
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from shop import create_app
from shop.extensions import db, limiter
from shop.models import OutboxEmail
from shop.models.base import now_utc
from shop.services.mail import MAX_ATTEMPTS
from tests.conftest import free_port


@pytest.fixture
def fresh_instance(tmp_path, monkeypatch):
    """An instance folder of its own and no SHOP_* settings, for an app made by the test."""
    monkeypatch.setenv("SHOP_INSTANCE_PATH", str(tmp_path / "instance"))
    for name in list(os.environ):
        if name.startswith("SHOP_") and name != "SHOP_INSTANCE_PATH":
            monkeypatch.delenv(name)


def stamp(app, revision: str | None) -> None:
    """Record `revision` in alembic_version as `flask db upgrade` would; None removes the table."""
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        if revision:
            MigrationContext.configure(connection).stamp(ScriptDirectory(app.extensions["migrate"].directory),
                                                         revision)


@pytest.fixture
def migrated(app):
    """The test database (built from the models) recorded as migrated to the latest revision."""
    stamp(app, "head")
    yield
    # On Postgres the table would outlive the test, and the migration test would find it.
    stamp(app, None)


def queue(due_minutes_ago: int, attempts: int = 0, sent: bool = False) -> None:
    now = now_utc()
    db.session.add(OutboxEmail(
        recipient="shopper@example.com", subject="Your order", body_text="", body_html="",
        created_at=now - timedelta(minutes=due_minutes_ago + 1),
        next_attempt_at=now - timedelta(minutes=due_minutes_ago),
        attempts=attempts, sent_at=now if sent else None))
    db.session.commit()


def test_ready_when_migrated_with_the_outbox_moving(client, migrated):
    queue(due_minutes_ago=50)  # late, not stuck
    queue(due_minutes_ago=3 * 24 * 60, attempts=MAX_ATTEMPTS)  # given up: the admin's to see, not the probe's
    queue(due_minutes_ago=3 * 24 * 60, attempts=2, sent=True)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok", "migrations": "ok", "outbox": "ok"}}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_an_email_due_for_over_the_limit_makes_the_shop_unready(client, migrated):
    queue(due_minutes_ago=61)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["failed"] == ["outbox"]
    assert response.json["checks"]["outbox"] == "an email has been due for over 60 minutes"


@pytest.mark.parametrize("app_overrides", [{"OUTBOX_STUCK_MINUTES": 5}])
def test_the_outbox_limit_is_a_setting(client, migrated):
    queue(due_minutes_ago=6)
    assert client.get("/readyz").json["failed"] == ["outbox"]


def test_a_database_never_migrated_is_not_ready(client, app):
    stamp(app, None)  # the test database is built from the models, without `flask db upgrade`
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json == {
        "status": "unavailable", "failed": ["migrations"],
        "checks": {"database": "ok", "migrations": "not at the latest revision: run flask db upgrade",
                   "outbox": "skipped"},
    }


def test_a_database_behind_the_code_is_not_ready(client, app, migrated):
    head = ScriptDirectory(app.extensions["migrate"].directory).get_revision("head")
    stamp(app, head.down_revision)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["failed"] == ["migrations"]


def test_an_empty_database_is_not_ready(fresh_instance, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/empty.db", "SECRET_KEY": "x"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["failed"] == ["migrations"]


def test_an_unreachable_postgres_is_not_ready_but_the_process_is_alive(fresh_instance):
    nobody = f"postgresql://shop@127.0.0.1:{free_port()}/shop"
    app = create_app({"SQLALCHEMY_DATABASE_URI": nobody, "SECRET_KEY": "x"})
    client = app.test_client()
    response = client.get("/readyz")
    assert (response.status_code, response.json["failed"]) == (503, ["database"])
    assert client.get("/healthz").status_code == 200


def test_healthz_answers_liveness_in_json_without_caching(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert client.head("/healthz").status_code == 200


def test_probes_answer_errors_in_json(client):
    response = client.post("/readyz", csrf=False)
    assert (response.status_code, response.json) == (405, {"error": "Method not allowed"})


@pytest.fixture
def default_limit(app):
    """Apply the app's RATELIMIT_DEFAULT for this test only."""
    yield
    # Flask-Limiter keeps default limits on its one Limiter object, across apps: later tests must not inherit it.
    limiter.limit_manager.set_default_limits([])


@pytest.mark.parametrize("app_overrides", [{"RATELIMIT_DEFAULT": "2 per minute", "METRICS_TOKEN": "token"}])
def test_probes_and_metrics_are_never_rate_limited(client, migrated, default_limit):
    for _ in range(4):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        assert client.get("/metrics", headers={"Authorization": "Bearer token"}).status_code == 200
    assert [client.get("/").status_code for _ in range(3)] == [200, 200, 429], "the default limit applies elsewhere"


@pytest.mark.parametrize("app_overrides", [{"BASE_URL": "https://shop.example"}])
def test_probes_answer_only_the_shops_hosts(client):
    # The load balancer asks with the shop's host name (TRUSTED_HOSTS), like any visitor.
    assert client.get("/healthz", headers={"Host": "shop.example"}).status_code == 200
    assert client.get("/healthz", headers={"Host": "10.0.0.5:8000"}).status_code == 400
    assert client.get("/readyz", headers={"Host": "10.0.0.5:8000"}).status_code == 400

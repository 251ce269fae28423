"""Configuration layering, health checks, media and error pages."""
import os
import stat

import pytest

from shop import create_app


@pytest.fixture
def fresh_instance(tmp_path, monkeypatch):
    folder = tmp_path / "instance"
    monkeypatch.setenv("SHOP_INSTANCE_PATH", str(folder))
    for name in list(os.environ):
        if name.startswith("SHOP_") and name != "SHOP_INSTANCE_PATH":
            monkeypatch.delenv(name)
    return folder


def test_secret_key_is_generated_once_with_private_permissions(fresh_instance):
    first = create_app()
    second = create_app()
    key_file = fresh_instance / "secret_key"
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key_file.read_text()
    assert len(first.config["SECRET_KEY"]) == 64
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_default_database_is_sqlite_in_the_instance_folder(fresh_instance):
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{fresh_instance}/shop.db"
    assert app.config["CURRENCY"] == "usd"


def test_environment_overrides_instance_config_which_overrides_defaults(fresh_instance, monkeypatch):
    fresh_instance.mkdir(parents=True)
    (fresh_instance / "config.py").write_text(
        'SHOP_NAME = "Corner Store"\nCURRENCY = "EUR"\nSECRET_KEY = "from-file"\n')
    app = create_app()
    assert (app.config["SHOP_NAME"], app.config["CURRENCY"], app.config["SECRET_KEY"]) == (
        "Corner Store", "eur", "from-file")

    monkeypatch.setenv("SHOP_CURRENCY", "gbp")
    monkeypatch.setenv("SHOP_SECRET_KEY", "from-env")
    monkeypatch.setenv("SHOP_DATABASE_URL", "postgresql://shop@db.internal/shop")
    monkeypatch.setenv("SHOP_RESERVATION_MINUTES", "45")
    app = create_app()
    assert app.config["CURRENCY"] == "gbp"
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://shop@db.internal/shop"
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    assert app.config["RESERVATION_MINUTES"] == 45


def test_secure_cookies_use_the_host_prefix(fresh_instance, monkeypatch):
    monkeypatch.setenv("SHOP_SESSION_COOKIE_SECURE", "true")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-session"
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(app):
    from shop.extensions import db

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite settings")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000


def test_each_app_configures_its_own_engine_only(app, tmp_path):
    import sqlalchemy as sa
    from sqlalchemy.engine import Engine

    from shop import create_app
    from shop.database import _configure_sqlite_connection
    from shop.extensions import db

    other = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/other.db"})
    with other.app_context():
        other_engine = db.engine
        with other_engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        other_engine.dispose()
    # Listeners sit on each app's engine, none on the Engine class that every engine in the process shares.
    assert sa.event.contains(other_engine, "connect", _configure_sqlite_connection)
    assert not sa.event.contains(Engine, "connect", _configure_sqlite_connection)


def test_healthz_answers_200_without_asking_the_database(client, count_queries):
    with count_queries() as statements:
        response = client.get("/healthz")
    assert (response.status_code, response.json, statements) == (200, {"status": "ok"}, [])


def test_healthz_answers_200_without_the_database_and_readyz_503(fresh_instance, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/shop.db", "SECRET_KEY": "x"})
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["failed"] == ["database"]
    assert response.json["checks"]["database"] == "unreachable"


def test_pages_still_render_an_error_page_without_the_database(fresh_instance, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/shop.db", "SECRET_KEY": "x"})
    response = app.test_client().get("/")
    assert response.status_code == 500
    assert "Something went wrong" in response.get_data(as_text=True)


def test_media_serves_files_from_the_media_folder_only(app, client):
    os.makedirs(os.path.join(app.config["MEDIA_PATH"], "demo"), exist_ok=True)
    with open(os.path.join(app.config["MEDIA_PATH"], "demo", "pic.png"), "wb") as handle:
        handle.write(b"\x89PNG fake")
    assert client.get("/media/demo/pic.png").data == b"\x89PNG fake"
    assert client.get("/media/../instance/secret_key").status_code == 404
    assert client.get("/media/demo/none.png").status_code == 404


def test_error_pages_use_the_shop_layout(app, client):
    @app.get("/boom")
    def boom():
        raise RuntimeError("kaboom")

    response = client.get("/boom")
    assert response.status_code == 500
    assert "Something went wrong" in response.get_data(as_text=True)
    assert 'class="site-header"' in response.get_data(as_text=True)

    response = client.get("/definitely-missing")
    assert response.status_code == 404 and 'class="site-header"' in response.get_data(as_text=True)

    response = client.delete("/")
    assert response.status_code == 405 and "not allowed" in response.get_data(as_text=True)


def test_behind_a_proxy_the_client_address_comes_from_x_forwarded_for(fresh_instance, tmp_path):
    seen = []

    def build(proxy_fix: bool):
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/proxy.db", "SECRET_KEY": "x",
                          "PROXY_FIX": proxy_fix})

        @app.get("/whoami")
        def whoami():
            from flask import request

            seen.append(request.remote_addr)
            return ""

        return app

    headers = {"X-Forwarded-For": "203.0.113.9"}
    build(proxy_fix=False).test_client().get("/whoami", headers=headers)
    build(proxy_fix=True).test_client().get("/whoami", headers=headers)
    assert seen == ["127.0.0.1", "203.0.113.9"]

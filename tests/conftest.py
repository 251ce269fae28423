"""Fixtures shared by every test: the app on a fresh database, clients, mail and query counting.

The suite runs on SQLite by default and on Postgres when TEST_DATABASE_URL is set.
"""
import contextvars
import os
import socket
import threading
from contextlib import contextmanager
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from shop import create_app
from shop.config import database_uri
from shop.extensions import db
from shop.services.mail import outbox_sender

pytest_plugins = [
    "tests.plugins.accounts", "tests.plugins.cart", "tests.plugins.checkout", "tests.plugins.gunicorn",
    "tests.plugins.stripe",
]

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
OUTBOX_TIMEOUT = 15


class ShopClient(FlaskClient):
    """A test client that sends a valid CSRF token with every form, as a browser would.

    Pass csrf=False to send a form without one. Objects the test holds are fresh after each request.
    """

    def open(self, *args, **kwargs):
        # The shopper acts on what the test set up, and afterwards the test must see what the
        # request wrote: commit before, and end the test's read snapshot (expiring its objects) after.
        db.session.commit()
        # Buffered, the response is closed before it is returned, as a server closes it once
        # sent: that wakes the background email sender, and the test looks once it has finished.
        kwargs.setdefault("buffered", True)
        try:
            response = super().open(*args, **kwargs)
            if kwargs["buffered"]:
                self.wait_for_outbox()
            else:
                response.call_on_close(self.wait_for_outbox)
            return response
        finally:
            db.session.commit()

    def wait_for_outbox(self) -> None:
        """Wait until the background sender has delivered (or failed to deliver) what is due."""
        assert outbox_sender(self.application).wait_until_idle(OUTBOX_TIMEOUT), "the email sender did not finish"

    def post(self, *args, csrf: bool = True, **kwargs):
        data = kwargs.get("data")
        if csrf and (data is None or isinstance(data, dict)) and "json" not in kwargs:
            data = dict(data or {})
            data.setdefault("csrf_token", self.csrf_token())
            kwargs["data"] = data
        return super().post(*args, **kwargs)

    def csrf_token(self) -> str:
        """Return a token valid for this client's session (Flask-WTF's own scheme)."""
        with self.session_transaction() as session:
            raw = session.setdefault("csrf_token", os.urandom(20).hex())
        serializer = URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token")
        return serializer.dumps(raw)


def free_port() -> int:
    """Return a TCP port on localhost that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MailSink:
    """Collects what the local SMTP server receives."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def _in_fresh_context(wsgi_app):
    """Run each request with no context pushed, so it gets its own app context, `g` and session.

    The test itself keeps an app context open; without this, Flask would reuse it for the
    client's requests and they would share `g` (the logged-in user, the CSRF token) and the
    test's database session, unlike production.
    """

    def isolated(environ, start_response):
        return contextvars.Context().run(wsgi_app, environ, start_response)

    return isolated


@pytest.fixture(scope="session")
def smtp_server():
    """Run a real SMTP server on localhost for the whole session."""
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, sink
    controller.stop()


@pytest.fixture
def mail_outbox(smtp_server):
    """Return the list of emails the SMTP server receives during this test."""
    _, sink = smtp_server
    with sink.lock:
        sink.messages.clear()
    return sink.messages


@pytest.fixture(scope="session")
def postgres_engine():
    """Create the schema once per session in the Postgres test database."""
    if not POSTGRES_URL:
        yield None
        return
    engine = sa.create_engine(database_uri(POSTGRES_URL, ""))
    import shop.models  # noqa: F401  (registers every table on the metadata)

    with engine.begin() as connection:
        db.metadata.drop_all(connection)
        db.metadata.create_all(connection)
    yield engine
    engine.dispose()


def empty_database(folder, postgres_engine) -> str:
    """Return the URL of an empty database: a new SQLite file in `folder`, or freshly truncated Postgres tables."""
    if postgres_engine is None:
        return "sqlite:///" + str(folder / "test.db")
    tables = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
    with postgres_engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return postgres_engine.url.render_as_string(hide_password=False)


@pytest.fixture
def database_url(tmp_path, postgres_engine):
    """Give each test an empty database."""
    return empty_database(tmp_path, postgres_engine)


@pytest.fixture
def app_overrides():
    """Extra configuration for one test module or test; override this fixture to change it."""
    return {}


@pytest.fixture
def app(tmp_path, database_url, smtp_server, app_overrides, monkeypatch):
    """Create the app on an empty database with a real local SMTP server."""
    with running_app(tmp_path, database_url, smtp_server, app_overrides, monkeypatch) as application:
        yield application


@contextmanager
def running_app(folder, database_url: str, smtp_server, overrides: dict, monkeypatch):
    """Create the test app with its instance and media in `folder`, inside its app context.

    Shared by the `app` fixture and the browser tests' module-wide shop, seeded once for many pages.
    """
    monkeypatch.setenv("SHOP_INSTANCE_PATH", str(folder / "instance"))
    for name in list(os.environ):
        if name.startswith("SHOP_") and name != "SHOP_INSTANCE_PATH":
            monkeypatch.delenv(name)
    controller, _ = smtp_server
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MEDIA_PATH": str(folder / "media"),
        "MAIL_SERVER": controller.hostname,
        "MAIL_PORT": controller.port,
        **overrides,
    }
    application = create_app(config)
    application.test_client_class = ShopClient
    application.wsgi_app = _in_fresh_context(application.wsgi_app)
    with application.app_context():
        if database_url.startswith("sqlite"):
            db.create_all()
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A test client that, unlike pytest-flask's, does not keep the last request's context pushed.

    A preserved request context would give the test a new database session after every request,
    detaching the objects the test made.
    """
    return app.test_client()


@pytest.fixture
def runner(app):
    """Invoke `flask ...` commands against the test app."""
    return app.test_cli_runner()


@pytest.fixture
def count_queries(app):
    """Count the SQL statements run inside a `with count_queries() as counter:` block."""

    @contextmanager
    def counting():
        statements: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
                statements.append(statement)

        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)

    return counting

"""Serve the test app's database with a real gunicorn, as `make run` or a deployment would.

    def test_something(app, gunicorn_shop):
        make_product(...); db.session.commit()
        shop = gunicorn_shop(workers=2)                       # or threads=8, env={"SHOP_X": "1"}
        response = shop.session().get(shop.url + "/healthz")  # requests.Session, own cookie jar

The server runs in its own process group on a free port, reads the same database as the test
(the SQLite file of the `app` fixture or the Postgres test database) and sends mail to the
test's SMTP server unless `env` says otherwise; it is stopped when the test ends.
"""
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

import pytest
import requests

from shop import ROOT
from tests.conftest import free_port

START_TIMEOUT = 30


@dataclass
class GunicornShop:
    """A running gunicorn serving the shop."""

    url: str
    process: subprocess.Popen
    log_path: str
    env: dict = field(default_factory=dict)

    def session(self) -> requests.Session:
        """Return a new HTTP client with its own cookie jar (one shopper)."""
        return requests.Session()

    def log(self) -> str:
        """Return what gunicorn and the app have written to stderr so far."""
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


@pytest.fixture
def gunicorn_shop(app, tmp_path, smtp_server):
    """Return a function that starts gunicorn on the test database and waits until it answers."""
    started: list[GunicornShop] = []
    controller, _ = smtp_server

    def start(workers: int = 1, threads: int = 1, env: dict | None = None, timeout: int = 30) -> GunicornShop:
        port = free_port()
        settings = {
            "SHOP_INSTANCE_PATH": app.instance_path,
            "SHOP_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "SHOP_SECRET_KEY": app.config["SECRET_KEY"],
            "SHOP_MEDIA_PATH": app.config["MEDIA_PATH"],
            "SHOP_BASE_URL": f"http://127.0.0.1:{port}",
            # Production mode (gunicorn's default) over plain http: allowed for a loopback address only.
            "SHOP_TESTING_SERVER": "1",
            "SHOP_MAIL_SERVER": controller.hostname,
            "SHOP_MAIL_PORT": str(controller.port),
            **(env or {}),
        }
        process_env = {name: value for name, value in os.environ.items() if not name.startswith("SHOP_")}
        process_env.update(settings)
        log_path = str(tmp_path / f"gunicorn-{port}.log")
        command = [
            sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--threads", str(threads), "--timeout", str(timeout), "--graceful-timeout", "5", "wsgi:app",
        ]
        with open(log_path, "w") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=process_env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        shop = GunicornShop(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path, env=settings)
        started.append(shop)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited at start:\n{shop.log()}")
            try:
                # Workers may still be importing the app while the socket already accepts.
                if requests.get(shop.url + "/healthz", timeout=10).status_code == 200:
                    return shop
            except requests.RequestException:
                pass
            time.sleep(0.1)
        shop.stop()
        pytest.fail(f"gunicorn did not answer within {START_TIMEOUT} s:\n{shop.log()}")

    yield start
    for shop in started:
        shop.stop()

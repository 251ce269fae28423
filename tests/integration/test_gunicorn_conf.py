"""gunicorn.conf.py as `make run` and a deployment use it: gunicorn --config gunicorn.conf.py --bind ...

Workers and threads from the environment, JSON logs with the request id on gunicorn's access line
as on the shop's, no token and no query string in them, nothing shared across the fork, and an
in-flight request finished after SIGTERM.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlencode

import pytest
import requests

from shop import ROOT
from shop.services.accounts import LOGIN_FAILED
from tests.conftest import free_port
from tests.plugins.gunicorn import START_TIMEOUT, GunicornShop
from tests.shopper_http import hidden_fields

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads the server's processes from /proc")

PASSWORD = "plum tangerine orbit"
WAIT = 20


@pytest.fixture
def serve(app, tmp_path, smtp_server):
    """Return a function that starts gunicorn exactly as `make run` does, on the test database, with JSON logs."""
    controller, _ = smtp_server
    started: list[GunicornShop] = []

    def start() -> GunicornShop:
        port = free_port()
        settings = {
            "SHOP_INSTANCE_PATH": app.instance_path, "SHOP_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "SHOP_SECRET_KEY": app.config["SECRET_KEY"], "SHOP_MEDIA_PATH": app.config["MEDIA_PATH"],
            "SHOP_BASE_URL": f"http://127.0.0.1:{port}", "SHOP_TESTING_SERVER": "1",
            "SHOP_MAIL_SERVER": controller.hostname, "SHOP_MAIL_PORT": str(controller.port),
            "SHOP_LOG_FORMAT": "json", "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "2",
        }
        env = {name: value for name, value in os.environ.items() if not name.startswith(("SHOP_", "GUNICORN_"))}
        log_path = str(tmp_path / f"gunicorn-{port}.log")
        command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
        with open(log_path, "w") as log:
            process = subprocess.Popen(command, cwd=ROOT, env={**env, **settings}, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        shop = GunicornShop(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path, env=settings)
        started.append(shop)
        wait_until(lambda: answers(shop), START_TIMEOUT, f"gunicorn did not answer:\n{shop.log()}")
        return shop

    yield start
    for shop in started:
        shop.stop()


def answers(shop: GunicornShop) -> bool:
    assert shop.process.poll() is None, f"gunicorn exited:\n{shop.log()}"
    try:
        return requests.get(shop.url + "/healthz", timeout=10).status_code == 200
    except requests.RequestException:
        return False


def wait_until(condition, seconds: float, failure: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)


def log_entries(shop: GunicornShop) -> list[dict]:
    """Parse everything gunicorn and the app wrote: with SHOP_LOG_FORMAT=json every line is one object."""
    return [json.loads(line) for line in shop.log().splitlines()]


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                if entry.isdigit() and int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
        except OSError:
            continue
    return found


def open_files(pid: int) -> list[str]:
    return [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]


def test_the_config_serves_with_request_ids_json_logs_and_nothing_shared_across_the_fork(app, serve, mail_outbox):
    shop = serve()
    http = requests.Session()
    token = "eyJpZCI6MX0.aXb2cQ.Q3JhZnRlZFRva2VuVmFsdWVGb3JUZXN0"

    reset = http.get(f"{shop.url}/auth/reset/{token}?token=order-link-secret", headers={"X-Request-ID": "probe-1"},
                     allow_redirects=False)
    fields = hidden_fields(http.get(shop.url + "/auth/register").text, "/auth/register")
    fields.update(email="nora@example.com", name="Nora New", password=PASSWORD, confirm=PASSWORD)
    registered = http.post(shop.url + "/auth/register", data=fields, allow_redirects=False)

    assert (reset.status_code, reset.headers["X-Request-ID"]) == (302, "probe-1")
    assert registered.status_code == 302 and re.fullmatch(r"[0-9a-f]{32}", registered.headers["X-Request-ID"])
    wait_until(lambda: any(mail["To"] == "nora@example.com" for mail in mail_outbox), WAIT,
               "the worker's email sender sent no confirmation email")
    master = shop.process.pid
    assert len(children(master)) == 2, "GUNICORN_WORKERS=2 was not used"
    # Preloaded and forked: the master keeps no thread, no database file and no socket but the listener.
    assert os.listdir(f"/proc/{master}/task") == [str(master)]
    files = open_files(master)
    assert not [name for name in files if name.startswith(app.instance_path) or "test.db" in name], files
    assert len([name for name in files if name.startswith("socket:")]) == 1, files

    entries = log_entries(shop)
    [access] = [entry["message"] for entry in entries if entry["logger"] == "gunicorn.access"
                and "probe-1" in entry["message"]]
    assert re.fullmatch(r'127\.0\.0\.1 probe-1 "GET /auth/reset/\[redacted\]" 302 \d+ \d+ms', access), access
    [line] = [entry for entry in entries if entry["logger"] == "shop.request" and entry.get("request_id") == "probe-1"]
    assert (line["method"], line["path"], line["status"]) == ("GET", "/auth/reset/[redacted]", 302)
    assert any(entry["logger"] == "gunicorn.access" and registered.headers["X-Request-ID"] in entry["message"]
               for entry in entries)
    for secret in (token, "order-link-secret", PASSWORD, http.cookies["session"]):
        assert secret not in shop.log()


def test_sigterm_lets_the_request_in_flight_finish(serve):
    shop = serve()
    http = requests.Session()
    fields = hidden_fields(http.get(shop.url + "/auth/login").text, "/auth/login")
    body = urlencode({**fields, "email": "nobody@example.com", "password": "not the password"}).encode()
    cookies = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
    port = int(shop.url.rsplit(":", 1)[1])

    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as connection:
        connection.sendall(
            f"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookies}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
            "Expect: 100-continue\r\nConnection: close\r\n\r\n".encode())
        # A worker has taken the request and waits for its body: it is in flight.
        assert connection.recv(100).startswith(b"HTTP/1.1 100 Continue")
        os.kill(shop.process.pid, signal.SIGTERM)
        # The other worker, idle, is gone: the shutdown has reached the workers.
        wait_until(lambda: "Worker exiting" in shop.log(), WAIT, f"no worker exited:\n{shop.log()}")
        connection.sendall(body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk

    head, _, page = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert LOGIN_FAILED.encode() in page.replace(b"&#39;", b"'")
    assert shop.process.wait(timeout=WAIT) == 0

"""A mail server that accepts connections and never answers must not take the shop down.

Emails wait in the outbox while it is silent and all go out once a real server is back.
"""
import socket
import threading
import time

import pytest
import requests
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from shop.extensions import db
from shop.models import Order, OutboxEmail
from shop.services.mail import deliver_pending
from tests import shopper_http
from tests.conftest import MailSink
from tests.factories import make_product
from tests.shopper_http import HttpShopper

MAIL_TIMEOUT = 1
ORDERS = 20
FAST = 1.0  # seconds within which every page and health check must answer


class BlackHole:
    """A TCP server that accepts every connection and never writes a byte."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.accepted.append(connection)  # kept open: the client hears nothing, not even a hang-up

    def close(self) -> None:
        self.closed.set()
        self.thread.join(timeout=5)
        self.listener.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def black_hole():
    hole = BlackHole()
    yield hole
    hole.close()


@pytest.fixture
def app_overrides(black_hole):
    """Point the test app's mail at the black hole too, so its `flask shop send-emails` uses that port."""
    return {"MAIL_PORT": black_hole.port, "MAIL_TIMEOUT": MAIL_TIMEOUT}


@pytest.fixture
def mail_back(black_hole):
    """Return a function that ends the outage: a real SMTP server takes over the black hole's port."""
    controllers = []

    def start() -> list:
        black_hole.close()
        sink = MailSink()
        controller = Controller(sink, hostname="127.0.0.1", port=black_hole.port)
        controller.start()
        controllers.append(controller)
        return sink.messages

    yield start
    for controller in controllers:
        controller.stop()


def queue(count: int) -> list[int]:
    emails = [OutboxEmail(recipient=f"shopper{n}@example.com", subject=f"Note {n}", body_text="Hello.",
                          body_html="<p>Hello.</p>") for n in range(count)]
    db.session.add_all(emails)
    db.session.commit()
    return [email.id for email in emails]


def unsent() -> list[OutboxEmail]:
    db.session.commit()  # a fresh snapshot: other processes and threads wrote
    return list(db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.sent_at.is_(None))))


def test_a_silent_server_costs_one_timeout_and_every_email_stays_queued(app, black_hole, runner, mail_back):
    queue(3)
    result = {}

    def deliver() -> None:
        with app.app_context():
            result["sent, failed"] = deliver_pending()

    started = time.monotonic()
    sender = threading.Thread(target=deliver, daemon=True)
    sender.start()
    sender.join(timeout=MAIL_TIMEOUT + 5)
    assert not sender.is_alive(), "the send still waits on a server that never answers"
    assert time.monotonic() - started < MAIL_TIMEOUT + 1.5, "one timeout for the whole run, not one per email"
    assert result["sent, failed"] == (0, 3)

    waiting = unsent()
    assert len(waiting) == 3
    assert all("timed out" in email.last_error for email in waiting)
    assert [email.attempts for email in waiting] == [0, 0, 0], "an outage is not the emails' fault"

    delivered = mail_back()
    result = runner.invoke(args=["shop", "send-emails"])
    assert "Sent 3 email(s); 0 failed" in result.output
    assert sorted(message["To"] for message in delivered) == [f"shopper{n}@example.com" for n in range(3)]
    assert unsent() == []


class RefusingSink(MailSink):
    """An SMTP server that refuses one recipient and takes everything else."""

    def __init__(self, refused: str):
        super().__init__()
        self.refused = refused

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refused:
            return "550 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_email_is_retried_later_and_the_others_still_go(app, black_hole):
    black_hole.close()
    sink = RefusingSink(refused="shopper1@example.com")
    controller = Controller(sink, hostname="127.0.0.1", port=black_hole.port)
    controller.start()
    try:
        queue(3)
        assert deliver_pending() == (2, 1)
    finally:
        controller.stop()
    assert sorted(message["To"] for message in sink.messages) == ["shopper0@example.com", "shopper2@example.com"]
    [refused] = unsent()
    assert refused.recipient == "shopper1@example.com" and refused.attempts == 1
    assert "550" in refused.last_error
    assert deliver_pending() == (0, 0), "it waits out its backoff"


@pytest.mark.parametrize("workers, threads", [(1, 8), (2, 1)], ids=["1 worker x 8 threads", "2 sync workers"])
def test_a_silent_mail_server_never_slows_checkout_and_the_emails_go_once_it_is_back(
        app, black_hole, gunicorn_shop, shipping_methods, runner, mail_back, monkeypatch, workers, threads):
    mug = make_product("Mug", stock=ORDERS + 5)
    db.session.commit()
    variant_id = mug.variants[0].id
    shop = gunicorn_shop(workers=workers, threads=threads, env={
        "SHOP_MAIL_SERVER": "127.0.0.1", "SHOP_MAIL_PORT": str(black_hole.port), "SHOP_MAIL_TIMEOUT": "3",
        "SHOP_CHECKOUT_LIMIT_PER_IP": "1000 per minute", "SHOP_CHECKOUT_LIMIT_PER_EMAIL": "1000 per minute",
    })
    # A page stuck behind the mail server fails the test quickly rather than after 30 s.
    monkeypatch.setattr(shopper_http, "TIMEOUT", 5)

    timings: list[tuple[str, int, float]] = []
    health = HealthWatch(shop.url)
    with health:
        for n in range(ORDERS):
            shopper = HttpShopper(shop.url, f"buyer{n}@example.com")
            shopper.http.hooks["response"].append(
                lambda response, *args, **kwargs: timings.append(
                    (f"{response.request.method} {response.request.path_url}", response.status_code,
                     response.elapsed.total_seconds())))
            assert shopper.buy(mug.slug, variant_id, 1) == "paid", shopper.steps
    slow = [timing for timing in timings if timing[2] >= FAST or timing[1] >= 500]
    assert not slow, f"pages slow or failing while the mail server is silent: {slow}\n{shop.log()}"
    assert len(timings) >= ORDERS * 6
    assert health.checks >= 10 and not health.failures, f"/healthz: {health.failures}"

    waiting = unsent()
    numbers = set(db.session.scalars(sa.select(Order.number)))
    assert len(numbers) == ORDERS
    assert sorted(email.subject for email in waiting) == sorted(f"Your order {number}" for number in numbers)

    delivered = mail_back()
    result = runner.invoke(args=["shop", "send-emails"])
    assert result.exit_code == 0, result.output
    deadline = time.monotonic() + 15  # a shop process may be sending some of them itself
    while unsent() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert unsent() == []
    assert sorted(message["Subject"] for message in delivered) == sorted(f"Your order {n}" for n in numbers)
    assert "Sent 0 email(s)" in runner.invoke(args=["shop", "send-emails"]).output


class HealthWatch:
    """Poll /healthz from a thread while the block runs; note every answer that is slow or not 200."""

    def __init__(self, base_url: str):
        self.url = base_url + "/healthz"
        self.checks = 0
        self.failures: list[str] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self.done.wait(0.1):
            started = time.monotonic()
            try:
                status = requests.get(self.url, timeout=5).status_code
            except requests.RequestException as error:
                status = type(error).__name__
            elapsed = time.monotonic() - started
            self.checks += 1
            if status != 200 or elapsed >= FAST:
                self.failures.append(f"{status} after {elapsed:.2f} s")

    def __enter__(self) -> "HealthWatch":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.done.set()
        self.thread.join(timeout=10)

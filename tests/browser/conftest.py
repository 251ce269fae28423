"""A live server in a thread and a headless Debian Chromium driven by Playwright."""
import threading
from socketserver import ThreadingMixIn
from types import SimpleNamespace
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from werkzeug.wsgi import ClosingIterator

from shop.services.mail import outbox_sender

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


class RequestsInFlight:
    """WSGI middleware that knows when every request, including work done on close, has finished."""

    def __init__(self, app):
        self.app = app
        self.count = 0
        self.idle = threading.Condition()

    def __call__(self, environ, start_response):
        with self.idle:
            self.count += 1
        try:
            return ClosingIterator(self.app(environ, start_response), [self.finished])
        except BaseException:
            self.finished()
            raise

    def finished(self) -> None:
        with self.idle:
            self.count -= 1
            self.idle.notify_all()

    def wait_until_idle(self, timeout: float) -> bool:
        with self.idle:
            return self.idle.wait_for(lambda: self.count == 0, timeout)


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """The standard library's WSGI server, one thread a request.

    Unlike werkzeug's development server, it closes every response even when the browser drops
    the connection, as gunicorn does, so work deferred to the close (emails) always runs.
    """

    daemon_threads = True


class QuietRequestHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the standard library's signature)
        pass


@pytest.fixture
def shop_server(app):
    """Serve the test app on a free localhost port for the duration of the test.

    Not `live_server`: pytest-flask owns that name with a server in another process.
    """
    in_flight = RequestsInFlight(app)
    server = make_server("127.0.0.1", 0, in_flight, server_class=ThreadingWSGIServer,
                         handler_class=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}", in_flight=in_flight)
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    # Emails go out after the response: let them land before the next test clears the outbox.
    assert in_flight.wait_until_idle(timeout=10), "a request of the live server did not finish"
    assert outbox_sender(app).wait_until_idle(timeout=10), "the email sender did not finish"


@pytest.fixture
def live_url(shop_server):
    return shop_server.url


@pytest.fixture(scope="session")
def browser():
    """Launch one headless Chromium for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    """Open a fresh browser context (own cookies) and page."""
    context = browser.new_context()
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def delivered(app, shop_server, mail_outbox):
    """Return the emails the live server has sent, once the requests that queued them are done."""

    def wait() -> list:
        assert shop_server.in_flight.wait_until_idle(timeout=10), "a request of the live server did not finish"
        assert outbox_sender(app).wait_until_idle(timeout=10), "the email sender did not finish"
        return list(mail_outbox)

    return wait

"""A live server in a thread and a headless Debian Chromium driven by Playwright."""
import threading
import time

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture
def live_url(app):
    """Serve the test app on a free localhost port for the duration of the test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


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
def delivered(mail_outbox):
    """Wait for the live server to send `count` emails, which it does after each response."""

    def wait(count: int, timeout: float = 10) -> list:
        deadline = time.monotonic() + timeout
        while len(mail_outbox) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(mail_outbox)

    return wait

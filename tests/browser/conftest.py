"""A live server in a thread and a headless Debian Chromium driven by Playwright."""
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from socketserver import ThreadingMixIn
from types import SimpleNamespace
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import sqlalchemy as sa
from werkzeug.wsgi import ClosingIterator

from shop.extensions import db
from shop.models import Category, Product, Review, SavedItem, ShippingMethod, ShippingZone, TaxRate, WishlistItem
from shop.services import audit
from shop.services.demo import seed_demo
from shop.services.mail import outbox_sender
from tests.browser.actions import follow, log_in
from tests.conftest import empty_database, running_app
from tests.factories import DEFAULT_PASSWORD, make_address, make_order, make_user

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Enough demo products for two in every subcategory, so category pages show rows of cards.
STOREFRONT_PRODUCTS = 34
SHOPPER_EMAIL = "sam@example.com"
OWNER_EMAIL = "owner@example.com"


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
    with serving(app) as server:
        yield server


@contextmanager
def serving(app):
    """Serve `app` on a free localhost port in a thread until the block ends."""
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


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Return the folder for screenshots a person looks at: $SHOP_TEST_ARTIFACTS, else tests/browser/artifacts."""
    folder = Path(os.environ.get("SHOP_TEST_ARTIFACTS") or Path(__file__).parent / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def storefront(tmp_path_factory, postgres_engine, smtp_server):
    """Seed a demo shop once for a whole module of page checks and serve it; return its URL and landmarks.

    Seeding and serving per page would cost more than the pages themselves. Tests using it only
    read pages, so they may share it.
    """
    folder = tmp_path_factory.mktemp("storefront")
    with (pytest.MonkeyPatch.context() as monkeypatch,
          running_app(folder, empty_database(folder, postgres_engine), smtp_server, {}, monkeypatch) as app):
        landmarks = seed_storefront()
        db.session.commit()
        with serving(app) as server:
            yield SimpleNamespace(url=server.url, **landmarks)


def seed_storefront() -> dict:
    """Load the demo catalogue, a shopper with an address, a wishlist, an item saved for later, a paid
    order with a review of what was bought, and the owner."""
    seed_demo(STOREFRONT_PRODUCTS)
    product = showcase_tee()
    tees = product.category
    in_stock = [variant for variant in product.variants if variant.stock > 0]
    shopper = make_user(SHOPPER_EMAIL, name="Sam Shopper")
    make_address(shopper, full_name="Sam Shopper", line1="1 SW Main St", city="Portland", region="OR",
                 postal_code="97201", country="US", is_default=True)
    db.session.add(WishlistItem(user_id=shopper.id, product_id=product.id))
    db.session.add(SavedItem(user_id=shopper.id, variant_id=in_stock[2].id))
    order = make_order(shopper, in_stock[0], quantity=2, status="paid", payment_status="paid")
    db.session.add(Review(product_id=product.id, user_id=shopper.id, rating=4, title="Soft and well cut",
                          body="Washed it twice and it still looks new.\nRuns a little large.",
                          author_name="Sam Shopper"))
    owner = make_user(OWNER_EMAIL, name="Olive Owner", is_admin=True)
    west_coast = [ShippingZone(country="US", region=state) for state in ("OR", "WA")]
    db.session.add(ShippingMethod(name="Overnight (West Coast)", price_cents=2500, position=2, zones=west_coast))
    db.session.add(TaxRate(country="US", region="CA", label="Sales tax", rate_bp=725))
    audit.record(owner, "product.update", "product", product.id, f"Price of {product.name} 1900 → 2100",
                 {"price_cents": [1900, 2100]})
    return {
        "category": tees.parent.slug, "subcategory": tees.slug, "product": product.slug, "product_id": product.id,
        "variants": [variant.id for variant in in_stock], "search": product.name.split()[-1],
        "order_number": order.number, "order_id": order.id, "shopper_id": shopper.id,
    }


def showcase_tee() -> Product:
    """Return the demo tee with the most photos and variants: the fullest gallery and variant picker."""
    tees = db.session.scalar(sa.select(Category).where(Category.slug == "t-shirts"))
    return max(db.session.scalars(sa.select(Product).where(Product.category_id == tees.id)),
               key=lambda tee: (len(tee.images), len(tee.variants)))


@pytest.fixture(scope="module")
def visitors(browser, storefront):
    """Module-long browser contexts, by who visits: a newcomer, a guest with two lines in the cart,
    the logged-in shopper with one and the logged-in owner. Each test opens its own tab in one of them."""
    contexts = {who: browser.new_context() for who in ("newcomer", "guest", "shopper", "owner")}
    for context in contexts.values():
        context.set_default_timeout(10_000)
    tab = contexts["guest"].new_page()
    for variant_id in storefront.variants[:2]:
        tab.goto(f"{storefront.url}/products/{storefront.product}?variant={variant_id}")
        follow(tab.get_by_role("button", name="Add to cart"))
    tab.close()
    for who, email in (("shopper", SHOPPER_EMAIL), ("owner", OWNER_EMAIL)):
        tab = contexts[who].new_page()
        log_in(tab, f"{storefront.url}/auth/login", email, DEFAULT_PASSWORD)
        if who == "shopper":
            tab.goto(f"{storefront.url}/products/{storefront.product}?variant={storefront.variants[1]}")
            follow(tab.get_by_role("button", name="Add to cart"))
        tab.close()
    yield contexts
    for context in contexts.values():
        context.close()

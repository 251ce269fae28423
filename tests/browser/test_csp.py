"""Chromium enforces the content security policy, and the main pages break none of it."""
import time
from pathlib import Path

import pytest
from PIL import Image

from shop.extensions import db
from shop.models import ShippingMethod
from tests.browser.actions import fill_address, follow
from tests.factories import DEFAULT_PASSWORD, make_category, make_product, make_user

pytestmark = pytest.mark.browser

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => window.reportViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} on ${document.location.pathname}`));
"""


class PolicyWatch:
    """What Chromium reported while the test browsed: policy violations, console errors, pages without a policy."""

    def __init__(self):
        self.violations: list[str] = []
        self.console_errors: list[str] = []
        self.pages_without_policy: list[str] = []

    def on_response(self, response) -> None:
        if response.request.resource_type == "document" and "content-security-policy" not in response.headers:
            self.pages_without_policy.append(response.url)

    def on_console(self, message) -> None:
        # The shop has no favicon; the browser asking for one is no fault of the policy.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            self.console_errors.append(f"{message.text} ({message.location.get('url')})")


@pytest.fixture
def watch(page):
    """Record every policy violation and console error on `page`, across navigations."""
    recorded = PolicyWatch()
    page.context.expose_binding("reportViolation", lambda source, text: recorded.violations.append(text))
    page.context.add_init_script(REPORT_VIOLATIONS)
    page.on("response", recorded.on_response)
    page.on("console", recorded.on_console)
    return recorded


def settle(page, until=lambda: True, timeout: float = 5.0) -> None:
    """Let the page's reports reach the test (Playwright delivers them while it waits), until `until()`."""
    deadline = time.monotonic() + timeout
    page.wait_for_timeout(250)
    while not until() and time.monotonic() < deadline:
        page.wait_for_timeout(50)


@pytest.fixture
def shop_data(app):
    """A product with real images, one without (a placeholder in the cart), shipping and an account."""
    outdoors = make_category("Outdoors")
    mug = make_product("Camp Mug", category=outdoors, price_cents=900, images=0)
    tent = make_product("Alpine Tent", category=outdoors, price_cents=19900, is_featured=True, stock=4, images=2)
    for image in tent.images:
        path = Path(app.config["MEDIA_PATH"]) / image.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8), "teal").save(path)
    db.session.add(ShippingMethod(name="Standard", price_cents=599))
    make_user("lou@example.com", name="Lou Loyal")
    db.session.commit()
    return mug.slug


def test_main_pages_keep_to_the_policy_the_browser_enforces(live_url, page, watch, shop_data):
    page.goto(live_url + "/")
    follow(page.get_by_role("navigation", name="Categories").get_by_role("link", name="Outdoors"))
    follow(page.get_by_role("link", name="Alpine Tent"))
    follow(page.get_by_role("button", name="Add to cart"))
    page.goto(f"{live_url}/products/{shop_data}")
    follow(page.get_by_role("button", name="Add to cart"))
    page.goto(live_url + "/cart")
    assert page.get_by_test_id("cart-line").count() == 2
    page.goto(live_url + "/checkout")
    page.get_by_label("Email", exact=True).fill("gina@example.com")
    fill_address(page)
    follow(page.get_by_role("button", name="Place order and pay"))
    assert page.get_by_test_id("test-mode").is_visible()
    page.goto(live_url + "/auth/login")
    page.get_by_label("Email", exact=True).fill("lou@example.com")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    follow(page.get_by_role("button", name="Log in"))
    page.goto(live_url + "/account")
    assert page.get_by_role("heading", name="Your account").is_visible()

    settle(page)
    assert watch.pages_without_policy == []
    assert watch.violations == []
    assert watch.console_errors == []

    # The watch sees what the policy stops: code injected into the page is refused.
    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.injected = true";
        document.body.appendChild(script);
        const style = document.createElement("style");
        style.textContent = "body { display: none }";
        document.head.appendChild(style);
    }""")
    settle(page, until=lambda: len(watch.violations) >= 2)
    assert page.evaluate("() => window.injected") is None
    assert page.get_by_role("heading", name="Your account").is_visible()
    assert [violation.split()[0] for violation in watch.violations] == ["script-src-elem", "style-src-elem"]

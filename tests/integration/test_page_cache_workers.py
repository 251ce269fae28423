"""Two gunicorn workers, each keeping its own copy of the storefront's pages, on one database (SQLite, or
Postgres with TEST_DATABASE_URL): what the owner changes in the back office (a price, a name, stock, the
shop's name, an activation), served by either worker, shows on the very next page from both.
"""
import html
import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from shop.extensions import db
from tests.factories import make_category, make_product, make_user
from tests.functional.test_admin_products import product_form, variants_form
from tests.functional.test_page_cache import card, product_price, stock_text
from tests.functional.test_store_settings import VALID as STORE_SETTINGS
from tests.integration import test_two_processes
from tests.integration.test_two_processes import log_in

OWNER_EMAIL = "owner@example.com"
TIMEOUT = 30
AT_ONCE = 8  # visitors asking together, so both sync workers answer
MOST_VISITS = 240
RENAMES = 20

# A fixture: the local Redis for caches and limits, with keys of this test's own (skips without Redis).
shared_redis = test_two_processes.shared_redis


class BackOffice:
    """The owner's browser on the back office, over HTTP: forms posted with the session's CSRF token."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()
        assert log_in(self.http, base_url, OWNER_EMAIL) == 302
        overview = self.http.get(base_url + "/admin/", timeout=TIMEOUT).text
        self.csrf_token = re.search(r'name="csrf_token" value="([^"]+)"', overview).group(1)

    def post(self, path: str, fields: dict) -> None:
        response = self.http.post(self.base_url + path, data={**fields, "csrf_token": self.csrf_token},
                                  allow_redirects=False, timeout=TIMEOUT)
        assert response.status_code == 302, response.text


def visit(url: str) -> requests.Response:
    return requests.get(url, timeout=TIMEOUT)  # no cookie jar: a new visitor every time


def visits_until_both_workers_rendered(url: str, expect) -> Counter:
    """Ask for a page as new visitors, several at once, until each worker has rendered it (its one miss) and
    served it from its cache; every answer must pass `expect`. Return how many hits and misses there were."""
    states: Counter = Counter()
    with ThreadPoolExecutor(AT_ONCE) as pool:
        while sum(states.values()) < MOST_VISITS:
            for response in pool.map(lambda _: visit(url), range(AT_ONCE)):
                expect(response)
                states[response.headers.get("X-Page-Cache")] += 1
            if states["miss"] == 2 and states["hit"] >= 20:
                return states
    pytest.fail(f"{url}: {dict(states)} after {MOST_VISITS} visits; each of the two workers misses once")


def page(response: requests.Response) -> str:
    assert response.status_code == 200, response.url
    return html.unescape(response.text)


def product_page_shows(name: str, price: str, stock: str):
    def check(response: requests.Response) -> None:
        shown = page(response)
        assert (f"<h1>{name}</h1>" in shown, product_price(shown), stock_text(shown)) == (True, price, stock)
    return check


def card_shows(name: str, price: str, out_of_stock: bool = False):
    def check(response: requests.Response) -> None:
        found = card(page(response), name)
        assert price in found and ("Out of stock" in found) == out_of_stock, found
    return check


def named_shop(name: str):
    def check(response: requests.Response) -> None:
        assert f"<h2>{name}</h2>" in page(response)
    return check


def listed_without(name: str, beside: str):
    def check(response: requests.Response) -> None:
        shown = page(response)
        assert card(shown, name) == "" and card(shown, beside)
    return check


def both_workers_serve(url: str, check) -> None:
    states = visits_until_both_workers_rendered(url, check)
    assert states["miss"] == 2, (url, states)


def test_a_change_made_through_either_worker_shows_on_the_next_page_from_both(app, gunicorn_shop):
    kitchen = make_category("Kitchen")
    mug = make_product("Camp Mug", category=kitchen, price_cents=850, stock=40)
    make_product("Camp Kettle", category=kitchen, price_cents=2500, stock=40)
    make_user(OWNER_EMAIL, is_admin=True)
    db.session.commit()
    mug_id, variant_id, sku, slug = mug.id, mug.variants[0].id, mug.variants[0].sku, mug.slug
    # Each worker would otherwise read the store settings again within seconds, hiding a stale copy.
    shop = gunicorn_shop(workers=2, env={"SHOP_SETTINGS_CACHE_SECONDS": "300"})
    product_url, listing_url = f"{shop.url}/products/{slug}", f"{shop.url}/categories/{kitchen.slug}"
    owner = BackOffice(shop.url)
    both_workers_serve(product_url, product_page_shows("Camp Mug", "$8.50", "In stock"))
    both_workers_serve(listing_url, card_shows("Camp Mug", "$8.50"))

    owner.post(f"/admin/products/{mug_id}/variants", variants_form([{"label": "Default", "sku": sku, "price": "9.75"}]))
    owner.post(f"/admin/products/{mug_id}", product_form(
        kitchen, name="Camp Cup", slug=slug, option1_name="", option1_values="", option2_name="", option2_values=""))
    both_workers_serve(product_url, product_page_shows("Camp Cup", "$9.75", "In stock"))
    both_workers_serve(listing_url, card_shows("Camp Cup", "$9.75"))

    owner.post(f"/admin/inventory/{variant_id}", {"mode": "set", "quantity": "3", "reason": "recount"})
    both_workers_serve(product_url, product_page_shows("Camp Cup", "$9.75", "Only 3 left"))
    owner.post(f"/admin/inventory/{variant_id}", {"mode": "set", "quantity": "0", "reason": "recount"})
    both_workers_serve(product_url, product_page_shows("Camp Cup", "$9.75", "Out of stock"))
    both_workers_serve(listing_url, card_shows("Camp Cup", "$9.75", out_of_stock=True))

    owner.post("/admin/settings", STORE_SETTINGS)
    both_workers_serve(product_url, named_shop("Trail & Tide"))

    owner.post("/admin/products/bulk", {"action": "deactivate", "product_ids": str(mug_id), "confirmed": "yes"})
    with ThreadPoolExecutor(AT_ONCE) as pool:
        assert set(pool.map(lambda _: visit(product_url).status_code, range(3 * AT_ONCE))) == {404}
    both_workers_serve(listing_url, listed_without("Camp Cup", beside="Camp Kettle"))


def test_with_the_shared_cache_the_shop_name_saved_shows_on_every_page_after(app, gunicorn_shop, shared_redis):
    """Visitors keep asking for a page while the owner renames the shop again and again; after each save,
    every page shows the new name. Pages rendered between the save's commit and its new copy of the
    settings reaching Redis must not be kept under the new version. Needs Redis (skips without it)."""
    settings, _ = shared_redis
    mug = make_product("Camp Mug")
    make_user(OWNER_EMAIL, is_admin=True)
    db.session.commit()
    shop = gunicorn_shop(workers=2, env={**settings, "SHOP_CACHE_KEY_PREFIX": settings["SHOP_RATELIMIT_KEY_PREFIX"]})
    url = f"{shop.url}/products/{mug.slug}"
    owner = BackOffice(shop.url)
    browsing = threading.Event()
    browsing.set()

    def browse() -> None:
        while browsing.is_set():
            visit(url)

    with ThreadPoolExecutor(AT_ONCE) as pool:
        visitors = [pool.submit(browse) for _ in range(AT_ONCE - 2)]
        try:
            stale = []
            for number in range(RENAMES):
                name = f"Shop Number {number}"
                owner.post("/admin/settings", {**STORE_SETTINGS, "shop_name": name})
                shown = [re.search(r"<h2>([^<]*)</h2>", page(visit(url))).group(1) for _ in range(4)]
                stale += [(name, seen) for seen in shown if seen != name]
        finally:
            browsing.clear()
        for visitor in visitors:
            visitor.result()
    assert stale == [], f"pages kept with the shop's previous name: {stale}"

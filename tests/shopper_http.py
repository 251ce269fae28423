"""A shopper over real HTTP (requests), for tests against gunicorn: add to cart, check out, pay.

Forms are read from the pages the shop serves, hidden fields and all, as a browser submits them.
"""
from dataclasses import dataclass
from html.parser import HTMLParser

import requests

ADDRESS = {
    "name": "Gina Guest", "line1": "12 High Street", "line2": "", "city": "Bristol",
    "postal_code": "BS1 4DJ", "country": "GB", "phone": "", "coupon": "",
}
TIMEOUT = 30


class _FormReader(HTMLParser):
    """Collect the hidden inputs and checked radios of every form on a page, keyed by action."""

    def __init__(self):
        super().__init__()
        self.forms: dict[str, dict[str, str]] = {}
        self._current: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._current = self.forms.setdefault(attributes.get("action", ""), {})
        elif tag == "input" and self._current is not None and attributes.get("name"):
            kind = attributes.get("type", "text")
            if kind == "hidden" or (kind == "radio" and "checked" in attributes):
                self._current[attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def hidden_fields(html: str, action: str = "") -> dict[str, str]:
    """Return the hidden (and checked radio) fields of the form posting to `action` ("" = the page itself)."""
    reader = _FormReader()
    reader.feed(html)
    for form_action, fields in reader.forms.items():
        if form_action == action or (not action and form_action in ("", None)):
            return dict(fields)
    if action == "" and reader.forms:
        return dict(next(iter(reader.forms.values())))
    raise AssertionError(f"no form posting to {action!r} on the page")


@dataclass
class Step:
    """One HTTP exchange of a journey, for asserting on status codes afterwards."""

    name: str
    status: int
    url: str


class HttpShopper:
    """One shopper: a cookie jar of their own and a record of every response."""

    def __init__(self, base_url: str, email: str):
        self.base_url = base_url
        self.email = email
        self.http = requests.Session()
        self.steps: list[Step] = []

    def _record(self, name: str, response: requests.Response) -> requests.Response:
        self.steps.append(Step(name, response.status_code, response.url))
        return response

    def get(self, path: str, name: str = "get") -> requests.Response:
        return self._record(name, self.http.get(self.base_url + path, timeout=TIMEOUT))

    def post(self, path: str, data: dict, name: str = "post", follow: bool = True) -> requests.Response:
        return self._record(name, self.http.post(self.base_url + path, data=data, timeout=TIMEOUT,
                                                 allow_redirects=follow))

    def add_to_cart(self, product_slug: str, variant_id: int, quantity: int) -> requests.Response:
        page = self.get(f"/products/{product_slug}", "product")
        fields = hidden_fields(page.text, "/cart/add")
        fields.update(variant_id=str(variant_id), quantity=str(quantity))
        return self.post("/cart/add", fields, "add to cart")

    def place_order(self) -> requests.Response:
        """Submit the checkout form; the response is the redirect (to the payment page, or back)."""
        page = self.get("/checkout", "checkout page")
        fields = hidden_fields(page.text, "/checkout")
        fields.update(ADDRESS, email=self.email, place="Place order and pay")
        return self.post("/checkout", fields, "place order", follow=False)

    def pay(self, payment_url: str) -> requests.Response:
        """Press Pay on the test-payment page; follows through to the confirmation page."""
        path = payment_url.removeprefix(self.base_url)
        page = self.get(path, "payment page")
        fields = hidden_fields(page.text)
        fields["pay"] = "Pay"
        return self.post(path, fields, "pay")

    def buy(self, product_slug: str, variant_id: int, quantity: int) -> str:
        """Add, check out and pay; return "paid", "refused" (sent back: sold out) or "error"."""
        self.add_to_cart(product_slug, variant_id, quantity)
        placed = self.place_order()
        location = placed.headers.get("Location", "")
        if placed.status_code != 303 or "/checkout/test-payment/" not in location:
            return "refused" if placed.status_code in (302, 303) else "error"
        paid = self.pay(location)
        return "paid" if paid.status_code == 200 and "/checkout/success" in paid.url else "error"

    def server_errors(self) -> list[Step]:
        return [step for step in self.steps if step.status >= 500]

"""Every public form, fuzzed with hypothesis: never a 5xx, and a refused form changes no row.

Each form's body starts from one the form accepts. Hypothesis swaps fields for hostile values
(tests/fuzzing.py: huge, NUL and control characters, RTL marks, bytes that are not UTF-8, injections,
numbers out of range or in the wrong form), drops them, repeats them, adds forged ones (role=owner),
sends a wrong CSRF token, and picks among good and hostile ids and tokens for the form's URL. After
every post:
- the answer is not a 5xx, a wrong CSRF token gets a 400, and a redirect stays on this site;
- no script the visitor typed comes back unescaped;
- a refused form (a 4xx, the form shown again, a redirect with an error message or to the login page)
  changed no row, nor the session's login, cart or placed orders;
- another shopper's rows and the list of staff are as they were.
The whole body the form accepts is tried first, and each form must both accept and refuse at
least once, so a form that stops working cannot pass by refusing everything.
test_every_public_form_is_fuzzed walks the URL map: a new form fails it until it joins FORMS.
HYPOTHESIS_PROFILE=thorough runs many more examples (tests/fuzzing.py).
"""
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import pytest
from argon2 import PasswordHasher
from hypothesis import example, given
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer

from shop.checkout.views import PLACED_ORDERS_KEY
from shop.extensions import db
from shop.models import Coupon, SavedItem, ShippingMethod, User, WishlistItem
from shop.services import accounts, orders, passwords, recovery
from shop.services.cart import CART_SESSION_KEYS, write_cart
from tests import factories
from tests.factories import (
    DEFAULT_PASSWORD,
    make_address,
    make_brand,
    make_category,
    make_order,
    make_product,
    make_user,
)
from tests.fuzzing import (
    HUGE_ID,
    MARKUP,
    SIGNED_JUNK,
    Snapshot,
    cause,
    error_log,
    form_body,
    fuzz_settings,
    sign,
    urlencoded,
)
from tests.plugins.stripe import signed_webhook

EXAMPLES = 8
FORM = "application/x-www-form-urlencoded"
SHOPPER = "shopper@example.com"
OTHER = "other@example.com"
# The account the login and password reset forms are fuzzed with: the others stay as they are.
LENA = "lena@example.com"
GUEST = "guest@example.com"
NEW_PASSWORD = "plum tangerine orbit"
# Columns a shop form must never let a visitor set, posted as if they were fields.
FORGED = ("role", "is_admin", "user_id", "id", "price_cents", "status", "payment_status")
ID_JUNK = ["0", "-1", str(2**31), str(2**63), "x", "\x00", "1e3", "٣"]
TOKEN_JUNK = ["forged.token", "x" * 3000, "\x00", "..", "💥", "eyJ9.e30.AAAA"]


@pytest.fixture
def app_overrides():
    # Hundreds of posts per form: the limits are test_auth's and test_checkout's business, not this one's.
    return {name: "100000 per minute" for name in (
        "LOGIN_LIMIT_PER_IP", "LOGIN_LIMIT_PER_ACCOUNT", "PASSWORD_RESET_LIMIT", "REGISTER_LIMIT", "REVIEW_LIMIT",
        "CHECKOUT_LIMIT_PER_IP", "CHECKOUT_LIMIT_PER_EMAIL")}


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Hash at argon2's lowest cost: every example may log in or check a password."""
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", hasher.hash("no account has this password"))
    monkeypatch.setattr(factories, "_default_hash", hasher.hash(DEFAULT_PASSWORD))


@pytest.fixture
def errors(app):
    with error_log(app) as records:
        yield records


@dataclass
class World:
    """The rows the forms act on: the shopper's own, another shopper's, and a guest's."""

    shopper_id: int
    other_id: int
    product_slug: str
    product_id: int
    hidden_slug: str
    variant_ids: list[int]
    shipping_id: int
    own_address_id: int
    other_address_id: int
    own_saved_id: int
    other_saved_id: int
    own_wish_id: int
    other_wish_id: int
    other_order_number: str
    guest_order_id: int
    guest_order_number: str
    guest_reference: str
    other_reference: str
    reset_token: str
    restore_token: str
    opt_out_token: str
    cart: dict[int, int] = field(default_factory=dict)


@pytest.fixture
def world(app) -> World:
    """Build a shop with a tent in stock, two shoppers with addresses, lists and orders, and a guest's order."""
    shopper = make_user(SHOPPER, name="Sam Shopper")
    other = make_user(OTHER, name="Olga Other")
    lena = make_user(LENA, name="Lena Login")
    product = make_product("Alpine Tent", category=make_category("Tents"), stock=100_000, brand=make_brand("Acme"),
                           variants=[{"size": "2P"}, {"size": "4P", "price_cents": 2999}])
    hidden = make_product("Old Tent", is_active=False)
    variant_ids = [variant.id for variant in product.variants]
    shipping = ShippingMethod(name="Standard", price_cents=599, position=0)
    db.session.add_all([shipping, Coupon(code="SAVE10", kind="percent", value=10)])
    own_address, other_address = make_address(shopper, is_default=True), make_address(other, is_default=True)
    # The shopper bought the tent (so may review it) and has no open order (so may delete the account).
    make_order(shopper, product.variants[0], status="delivered", payment_status="paid")
    other_order = make_order(other, product.variants[0])
    guest_order = make_order(None, product.variants[1], email=GUEST)
    abandoned = make_order(None, product.variants[0], quantity=2, status="expired", email=GUEST)
    guest_order.payment_reference, other_order.payment_reference = "test_guest-order", "test_other-order"
    lists = [SavedItem(user_id=shopper.id, variant_id=variant_ids[1], quantity=1),
             SavedItem(user_id=other.id, variant_id=variant_ids[1], quantity=1),
             WishlistItem(user_id=shopper.id, product_id=product.id),
             WishlistItem(user_id=other.id, product_id=product.id)]
    db.session.add_all(lists)
    db.session.flush()
    built = World(
        shopper_id=shopper.id, other_id=other.id, product_slug=product.slug, product_id=product.id,
        hidden_slug=hidden.slug, variant_ids=variant_ids, shipping_id=shipping.id,
        own_address_id=own_address.id, other_address_id=other_address.id,
        own_saved_id=lists[0].id, other_saved_id=lists[1].id, own_wish_id=lists[2].id, other_wish_id=lists[3].id,
        other_order_number=other_order.number, guest_order_id=guest_order.id,
        guest_order_number=guest_order.number, guest_reference=guest_order.payment_reference,
        other_reference=other_order.payment_reference, reset_token=accounts.make_reset_token(lena),
        restore_token=recovery.restore_token(abandoned.number), opt_out_token=recovery.opt_out_token(GUEST),
        cart={variant_ids[0]: 1, variant_ids[1]: 2},
    )
    db.session.commit()
    return built


def _signed(salt: str, timed: bool = True) -> list[str]:
    return [sign(salt, payload, timed) for payload in SIGNED_JUNK]


def _paths(template: str, good: list[str], junk: list[str]) -> list[str]:
    """Fill the template's one {} with each value, percent-encoded as a browser would, the good values first."""
    return [template.format(quote(str(value), safe="")) for value in [*good, *junk]]


NEXT_JUNK = ["/cart", "//evil.example/", "/%5Cevil.example", "https://evil.example/", "/%09/evil.example",
             "javascript:alert(1)", "%00"]


def _with_next(path: str) -> list[str]:
    return [path] + [f"{path}?next={value}" for value in NEXT_JUNK]


def _address(world: World) -> dict[str, str]:
    return {"full_name": "Sam Shopper", "country": "US", "line1": "1 High Street", "line2": "", "city": "Portland",
            "region": "US-OR", "region_other": "", "postal_code": "97201", "phone": "+1 503 555 0100",
            "is_default": "y"}


def _checkout(world: World, country: str = "GB") -> dict[str, str]:
    region = {"GB": ("", "Avon"), "US": ("US-CA", "")}[country]
    return {"email": GUEST, "name": "Gina Guest", "country": country, "line1": "12 High Street", "line2": "",
            "city": "Bristol", "region": region[0], "region_other": region[1], "postal_code": "BS1 4DJ",
            "phone": "", "shipping_method": str(world.shipping_id), "coupon": "SAVE10", "reminder": "y",
            "placement_token": "fuzz-placement-token", "place": "Place order and pay"}


@dataclass(frozen=True)
class Regression:
    """A post that once broke a form: the accepted body with these fields replaced, to the form's URL or this one."""

    fields: dict[str, list] = field(default_factory=dict)
    url: Callable[[World], str] | None = None


@dataclass(frozen=True)
class Form:
    """A public form: who posts it, where (its own URL first, then hostile ones), and a body it accepts."""

    endpoint: str
    persona: str  # "visitor" or "shopper"
    urls: Callable[[World], list[str]]
    body: Callable[[World], dict[str, str]] = lambda world: {}
    answers_with_page: bool = False  # a 200 is its success, not the form shown again
    regressions: tuple[Regression, ...] = ()

    def __str__(self) -> str:
        return f"{self.endpoint}-{self.persona}"


FORMS = [
    Form("auth.login", "visitor", lambda w: _with_next("/auth/login"),
         lambda w: {"email": LENA, "password": DEFAULT_PASSWORD, "remember": "y"}),
    Form("auth.register", "visitor", lambda w: _with_next("/auth/register"),
         lambda w: {"email": "nora@example.com", "name": "Nora New", "password": NEW_PASSWORD,
                    "confirm": NEW_PASSWORD}),
    Form("auth.reset_request", "visitor", lambda w: ["/auth/reset"], lambda w: {"email": LENA}),
    Form("auth.reset_password", "visitor",
         lambda w: _paths("/auth/reset/{}", [w.reset_token], TOKEN_JUNK + _signed(accounts.RESET_TOKEN_SALT)),
         lambda w: {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
         # An id beyond the id column reached the database: OverflowError on SQLite, a DataError on Postgres.
         regressions=(Regression(url=lambda w: "/auth/reset/" + sign(accounts.RESET_TOKEN_SALT, HUGE_ID)),)),
    Form("auth.logout", "shopper", lambda w: ["/auth/logout"]),
    Form("auth.resend_confirmation", "shopper", lambda w: ["/auth/confirm"]),
    Form("cart.add", "visitor", lambda w: ["/cart/add"],
         lambda w: {"variant_id": str(w.variant_ids[0]), "quantity": "1", "next": f"/products/{w.product_slug}"}),
    Form("cart.add", "shopper", lambda w: ["/cart/add"],
         lambda w: {"variant_id": str(w.variant_ids[1]), "quantity": "3", "next": "/cart"}),
    Form("cart.update", "shopper", lambda w: ["/cart/update"],
         lambda w: {"variant_id": str(w.variant_ids[0]), "quantity": "2"}),
    Form("cart.remove", "shopper", lambda w: ["/cart/remove"], lambda w: {"variant_id": str(w.variant_ids[1])}),
    Form("cart.clear", "visitor", lambda w: ["/cart/clear"]),
    Form("cart.save_for_later", "shopper", lambda w: ["/cart/save-for-later"],
         lambda w: {"variant_id": str(w.variant_ids[0])}),
    Form("cart.move_to_cart", "shopper",
         lambda w: _paths("/cart/saved/{}/move-to-cart", [w.own_saved_id, w.other_saved_id], ID_JUNK)),
    Form("cart.remove_saved", "shopper",
         lambda w: _paths("/cart/saved/{}/remove", [w.own_saved_id, w.other_saved_id], ID_JUNK)),
    Form("cart.wishlist_add", "shopper", lambda w: ["/account/wishlist/add"],
         lambda w: {"product_id": str(w.product_id), "next": f"/products/{w.product_slug}"}),
    Form("cart.wishlist_remove", "shopper",
         lambda w: _paths("/account/wishlist/{}/remove", [w.own_wish_id, w.other_wish_id], ID_JUNK)),
    Form("checkout.start", "visitor", lambda w: ["/checkout"], _checkout),
    Form("checkout.start", "shopper", lambda w: ["/checkout"], lambda w: _checkout(w, country="US")),
    Form("checkout.test_payment", "visitor",
         lambda w: _paths("/checkout/test-payment/{}", [w.guest_reference, w.other_reference], TOKEN_JUNK),
         lambda w: {"pay": "Pay", "decline": ""}),
    Form("checkout.recovery_restore", "visitor",
         lambda w: _paths("/checkout/restore/{}", [w.restore_token], TOKEN_JUNK + _signed(recovery.RESTORE_SALT))),
    Form("checkout.recovery_unsubscribe", "visitor",
         lambda w: _paths("/checkout/reminders/stop/{}", [w.opt_out_token],
                          TOKEN_JUNK + _signed(recovery.OPT_OUT_SALT, timed=False))),
    Form("checkout.cancel_order_page", "visitor",
         lambda w: _paths("/orders/{}/cancel", [w.guest_order_number, w.other_order_number], TOKEN_JUNK)
         + [f"/orders/{w.other_order_number}/cancel?token={quote(token)}"
            for token in TOKEN_JUNK + _signed(orders.TOKEN_SALT, timed=False)],
         lambda w: {"confirm": "Yes, cancel my order", "token": ""}),
    Form("catalog.review_post", "shopper",
         lambda w: _paths("/products/{}/reviews", [w.product_slug], [w.hidden_slug, *TOKEN_JUNK])
         + [f"/products/{w.product_slug}/reviews?variant={quote(value)}" for value in ID_JUNK],
         lambda w: {"rating": "4", "title": "Kept us dry", "body": "Two nights of rain.\r\nNo leaks."}),
    Form("account.index", "shopper", lambda w: ["/account"],
         lambda w: {"name": "Sam Shopper", "email": "sam.new@example.com", "current_password": DEFAULT_PASSWORD}),
    Form("account.password", "shopper", lambda w: ["/account/password"],
         lambda w: {"current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
    Form("account.delete", "shopper", lambda w: ["/account/delete"], lambda w: {"password": DEFAULT_PASSWORD}),
    Form("account.logout_everywhere", "shopper", lambda w: ["/account/logout-everywhere"]),
    Form("account.download_data", "shopper", lambda w: ["/account/my-data"], answers_with_page=True),
    Form("account.add_address", "shopper", lambda w: ["/account/addresses/new"], _address),
    Form("account.edit_address", "shopper",
         lambda w: _paths("/account/addresses/{}/edit", [w.own_address_id, w.other_address_id], ID_JUNK), _address),
    Form("account.default_address", "shopper",
         lambda w: _paths("/account/addresses/{}/default", [w.own_address_id, w.other_address_id], ID_JUNK)),
    Form("account.delete_address", "shopper",
         lambda w: _paths("/account/addresses/{}/delete", [w.own_address_id, w.other_address_id], ID_JUNK)),
]
# The webhook takes Stripe's signed JSON, not a form: test_hostile_stripe_events_change_nothing fuzzes it.
NOT_FORMS = {"checkout.webhook"}


def test_every_public_form_is_fuzzed(app):
    posted = {rule.endpoint for rule in app.url_map.iter_rules()
              if "POST" in rule.methods and not rule.rule.startswith("/admin")}
    assert posted - NOT_FORMS == {form.endpoint for form in FORMS}


class Visitor:
    """The browser posting the forms: a guest with a cart, or the shopper logged in, made so before each post."""

    def __init__(self, client, world: World, persona: str):
        self.client, self.world, self.persona = client, world, persona
        self.saved: dict = {}
        self._start()

    def _start(self) -> None:
        with self.client.session_transaction() as session:
            session.clear()
        if self.persona == "shopper":
            self._repair_account()
            response = self.client.post("/auth/login", data={"email": SHOPPER, "password": DEFAULT_PASSWORD})
            assert response.status_code == 302, "the shopper could not log in"
        with self.client.session_transaction() as session:
            write_cart(session, self.world.cart)
            if self.persona == "visitor":
                session[PLACED_ORDERS_KEY] = [self.world.guest_order_id]
            session.pop("_flashes", None)
            self.saved = dict(session)

    def _repair_account(self) -> None:
        """Undo what an accepted form did to the shopper's account: a new email or password, or none at all."""
        user = db.session.get(User, self.world.shopper_id)
        if user is None:
            user = make_user(SHOPPER, name="Sam Shopper")
            self.world.shopper_id = user.id
        user.email, user.password_hash, user.disabled_at = SHOPPER, factories._default_hash, None
        db.session.commit()

    def ready(self, after_accepted: bool) -> None:
        """Be the persona again with its cart: the last post may have logged in or out, or emptied the cart."""
        if after_accepted:
            self._start()
            return
        with self.client.session_transaction() as session:
            session.clear()
            session.update(self.saved)

    def session_state(self) -> dict:
        keys = ("_user_id", PLACED_ORDERS_KEY, *CART_SESSION_KEYS)
        with self.client.session_transaction() as session:
            return {key: session.get(key) for key in keys}

    def take_flashes(self) -> list[tuple[str, str]]:
        with self.client.session_transaction() as session:
            return list(session.pop("_flashes", []))


def _refused(form: Form, response, flashes: list[tuple[str, str]]) -> bool:
    """Return whether the form turned the post away: a 4xx, the form again, or a redirect saying why."""
    if response.status_code >= 400:
        return True
    if response.status_code < 300:
        return not form.answers_with_page
    target = urlsplit(response.headers["Location"])
    sent_to_log_in = target.path == "/auth/login" and "next=" in target.query
    return sent_to_log_in or any(category == "error" for category, _ in flashes)


def _on_this_site(location: str) -> bool:
    target = urlsplit(location)
    return target.netloc in ("", "localhost") and not location.startswith(("//", "/\\"))


CSRF_JUNK = ["", "forged.token.value", "x" * 10_000, "\x00", "another session's"]


@pytest.mark.parametrize("form", FORMS, ids=str)
def test_hostile_posts_never_fail_and_refused_ones_change_nothing(request, app, client, errors, form):
    world = request.getfixturevalue("world")
    visitor = Visitor(client, world, form.persona)
    urls = form.urls(world)
    body = form.body(world)
    outcomes: Counter = Counter()
    last = {"accepted": False}

    def post(url: str, pairs: list[tuple[str, object]], csrf: str | None):
        visitor.ready(last["accepted"])
        before, session_before = Snapshot(), visitor.session_state()
        token = client.csrf_token()
        if csrf == "another session's":
            token = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps("0" * 40)
        elif csrf is not None:
            token = csrf
        sent = [("csrf_token", token), *pairs] if csrf != "" else pairs
        logged = len(errors)
        response = client.post(url, data=urlencoded(sent), content_type=FORM)
        flashes = visitor.take_flashes()
        what = f"POST {url[:120]} {pairs!r:.600} csrf={csrf!r:.20}"
        assert response.status_code < 500, f"{what} -> {response.status_code} [{cause(errors, logged)}]"
        if csrf is not None:  # refused before the view, unless the address names nothing at all
            assert response.status_code in (400, 404), f"{what} with a wrong CSRF token -> {response.status_code}"
        if "Location" in response.headers:
            assert _on_this_site(response.headers["Location"]), f"{what} -> {response.headers['Location']}"
        if response.mimetype == "text/html":
            page = response.get_data(as_text=True)
            assert not [markup for markup in MARKUP if markup in page], f"{what} echoed markup unescaped"
        refused = _refused(form, response, flashes)
        after = Snapshot()
        if refused:
            assert after == before, (f"{what} was refused ({response.status_code} {flashes}) "
                                     f"but changed {after.changed(before)}")
            assert visitor.session_state() == session_before, f"{what} was refused but changed the session"
        assert after.of_user(world.other_id) == before.of_user(world.other_id), f"{what} changed another's rows"
        assert after.staff() == before.staff(), f"{what} changed who is staff"
        last["accepted"] = not refused
        outcomes["refused" if refused else "accepted"] += 1
        if refused and csrf is None:
            outcomes["refused with a good token"] += 1

    fuzz = given(url=st.integers(0, len(urls) - 1).map(urls.__getitem__), pairs=form_body(body, FORGED),
                 csrf=st.one_of(st.none(), st.sampled_from(CSRF_JUNK)))(post)
    for regression in form.regressions:
        pairs = [(name, value) for name, values in {**{k: [v] for k, v in body.items()}, **regression.fields}.items()
                 for value in values]
        fuzz = example(url=regression.url(world) if regression.url else urls[0], pairs=pairs, csrf=None)(fuzz)
    # A form with no fields and one address varies only its CSRF token and forged fields: fewer examples do.
    fuzz_settings(EXAMPLES if body or len(urls) > 1 else EXAMPLES // 2)(fuzz)()

    assert outcomes["accepted"], f"{form}: no example was accepted; the fuzzing proves nothing"
    if body or len(urls) > 1:
        assert outcomes["refused with a good token"], f"{form}: nothing but a wrong CSRF token was refused"


def _events(world: World) -> st.SearchStrategy:
    """Return Stripe events of every shape, about real and made-up orders and sessions."""
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20),
                        st.sampled_from([str(world.guest_order_id), world.guest_reference, "cs_test_x", "paid",
                                         "complete", "usd", 2**63, -1, "\x00"]))
    anything = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                            | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
    session = st.fixed_dictionaries({}, optional={
        "id": st.one_of(st.just(world.guest_reference), anything),
        "object": st.just("checkout.session"),
        "status": st.sampled_from(["complete", "expired", "open"]) | anything,
        "payment_status": st.sampled_from(["paid", "unpaid", "no_payment_required"]) | anything,
        "amount_total": st.one_of(st.just(2998), anything),
        "currency": st.one_of(st.just("usd"), anything),
        "payment_intent": st.one_of(st.just("pi_test_1"), anything),
        "metadata": st.one_of(st.fixed_dictionaries({"order_id": st.just(str(world.guest_order_id)) | anything}),
                              anything),
    })
    return st.fixed_dictionaries({
        "id": st.one_of(st.from_regex(r"evt_[a-z0-9]{1,12}", fullmatch=True), anything),
        "type": st.sampled_from(["checkout.session.completed", "checkout.session.expired",
                                 "checkout.session.async_payment_succeeded", "checkout.session.async_payment_failed",
                                 "charge.refunded", "refund.updated", "charge.dispute.created"]) | anything,
        "data": st.one_of(st.fixed_dictionaries({"object": session}), anything),
    })


class TestStripeEvents:
    """Signed Stripe events of any shape: never a 5xx; a refused one, or one seen before, changes nothing."""

    @pytest.fixture
    def app_overrides(self, stripe_api):
        return stripe_api.config

    def test_hostile_stripe_events_change_nothing(self, app, client, errors, world):
        outcomes: Counter = Counter()

        @fuzz_settings(EXAMPLES * 3)
        @given(event=_events(world))
        def deliver(event):
            before = Snapshot()
            body, headers = signed_webhook(event)
            logged = len(errors)
            response = client.post("/checkout/webhook", data=body, headers=headers, csrf=False)
            what = f"event {json.dumps(event)[:600]}"
            assert response.status_code < 500, f"{what} -> {response.status_code} [{cause(errors, logged)}]"
            after = Snapshot()
            if response.status_code >= 400:
                assert after == before, f"{what} was refused but changed the database"
            again = client.post("/checkout/webhook", data=body, headers=headers, csrf=False)
            assert again.status_code < 500 and Snapshot() == after, f"{what} did something the second time"
            outcomes[response.status_code] += 1

        deliver()
        assert outcomes[200] and sum(count for status, count in outcomes.items() if status >= 400), outcomes

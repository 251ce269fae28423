"""The Stripe stand-in refuses what Stripe refuses, and what the shop really sends gets through it."""
import pytest
import sqlalchemy as sa
import stripe

from shop import create_app
from shop.config import ConfigurationError
from shop.extensions import db
from shop.models import Coupon, CouponKind, Order, ShippingMethod, TaxRate
from shop.services import stripe_gateway as gateway
from tests.factories import make_product, stock
from tests.plugins.stripe import SECRET_KEY


@pytest.fixture
def app_overrides(stripe_api, request):
    return {**stripe_api.config, **getattr(request, "param", {})}


@pytest.fixture
def sdk(stripe_api) -> stripe.StripeClient:
    """A Stripe client talking to the stand-in, as the shop's does."""
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": stripe_api.url}, max_network_retries=0)


def session_params(currency: str = "usd", unit_amount: int = 1000, **extra) -> dict:
    return {
        "mode": "payment", "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/back",
        "line_items": [{"quantity": 1, "price_data": {"currency": currency, "unit_amount": unit_amount,
                                                      "product_data": {"name": "Lamp"}}}],
        **extra,
    }


def refused(call) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as error:
        call()
    assert error.value.http_status == 400
    return error.value


def paid_intent(sdk, stripe_api, amount: int = 1000, currency: str = "usd") -> str:
    session = sdk.v1.checkout.sessions.create(session_params(currency, amount))
    return stripe_api.mark_paid(session.id)["payment_intent"]


# The stand-in is as strict as Stripe.

@pytest.mark.parametrize(("call", "param"), [
    (lambda sdk: sdk.v1.checkout.sessions.create(session_params(colour="blue")), "colour"),
    (lambda sdk: sdk.v1.checkout.sessions.create(session_params(
        line_items=[{"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 900, "colour": "blue",
                                                   "product_data": {"name": "Lamp"}}}])),
     "line_items[0][price_data][colour]"),
    (lambda sdk: sdk.v1.checkout.sessions.retrieve("cs_test_x", {"colour": "blue"}), "colour"),
    (lambda sdk: sdk.v1.checkout.sessions.list({"colour": "blue"}), "colour"),
    (lambda sdk: sdk.v1.checkout.sessions.list({"created": {"after": 1}}), "created[after]"),
    (lambda sdk: sdk.v1.checkout.sessions.expire("cs_test_x", {"colour": "blue"}), "colour"),
    (lambda sdk: sdk.v1.coupons.create({"amount_off": 500, "currency": "usd", "colour": "blue"}), "colour"),
    (lambda sdk: sdk.v1.refunds.create({"payment_intent": "pi_x", "amount_cents": 500}), "amount_cents"),
    (lambda sdk: sdk.v1.refunds.retrieve("re_x", {"colour": "blue"}), "colour"),
    (lambda sdk: sdk.v1.refunds.list({"payment_intent": "pi_x", "colour": "blue"}), "colour"),
])
def test_unknown_parameters_are_refused_on_every_endpoint_the_shop_uses(sdk, stripe_api, call, param):
    error = refused(lambda: call(sdk))

    assert (error.code, error.param) == ("parameter_unknown", param)
    assert str(error.user_message) == f"Received unknown parameter: {param}"
    assert stripe_api.sessions == {} and stripe_api.coupons == {} and stripe_api.refunds == []


@pytest.mark.parametrize(("call", "param", "limit"), [
    (lambda sdk: sdk.v1.coupons.create({"amount_off": 500, "currency": "usd", "name": "Discount " + "X" * 32}),
     "name", 40),
    (lambda sdk: sdk.v1.checkout.sessions.create(session_params(shipping_options=[{"shipping_rate_data": {
        "type": "fixed_amount", "display_name": "D" * 101, "fixed_amount": {"amount": 500, "currency": "usd"}}}])),
     "shipping_options[0][shipping_rate_data][display_name]", 100),
    (lambda sdk: sdk.v1.checkout.sessions.create(session_params(client_reference_id="R" * 201)),
     "client_reference_id", 200),
])
def test_over_long_values_are_refused(sdk, stripe_api, call, param, limit):
    error = refused(lambda: call(sdk))

    assert error.param == param
    assert f"must be at most {limit} characters" in error.user_message
    assert stripe_api.sessions == {} and stripe_api.coupons == {}


@pytest.mark.parametrize(("metadata", "param"), [
    ({"k" * 41: "v"}, "metadata[" + "k" * 41 + "]"),
    ({"note": "v" * 501}, "metadata[note]"),
    ({f"key{n}": "v" for n in range(51)}, "metadata"),
])
def test_metadata_beyond_stripes_limits_is_refused(sdk, metadata, param):
    error = refused(lambda: sdk.v1.checkout.sessions.create(session_params(metadata=metadata)))

    assert error.param == param


def test_metadata_at_stripes_limits_is_accepted(sdk, stripe_api):
    metadata = {f"k{n:02d}" + "k" * 37: "v" * 500 for n in range(50)}

    sdk.v1.checkout.sessions.create(session_params(metadata=metadata))

    assert stripe_api.only_session()["metadata"] == metadata


@pytest.mark.parametrize(("currency", "amount", "accepted"), [
    ("jpy", 55, True), ("jpy", 49, False), ("isk", 150000, True), ("isk", 150050, False),
    ("kwd", 5120, True), ("kwd", 5125, False), ("usd", 50, True), ("usd", 49, False), ("gbp", 30, True),
    ("huf", 17400, False), ("usd", 100_000_000, False),
])
def test_amounts_follow_each_currencys_rules_and_the_minimum_charge(sdk, stripe_api, currency, amount, accepted):
    create = lambda: sdk.v1.checkout.sessions.create(session_params(currency, amount))  # noqa: E731

    if accepted:
        assert create().amount_total == amount
    else:
        assert refused(create).code in ("invalid_amount", "amount_too_small", "amount_too_large")
        assert stripe_api.sessions == {}


def test_a_total_under_the_minimum_is_refused_even_when_each_line_is_fine(sdk, stripe_api):
    coupon = sdk.v1.coupons.create({"amount_off": 980, "currency": "usd", "duration": "once"})

    error = refused(lambda: sdk.v1.checkout.sessions.create(session_params(discounts=[{"coupon": coupon.id}])))

    assert error.code == "amount_too_small"
    assert "at least $0.50" in error.user_message


def test_list_expansions_must_start_with_data(sdk, stripe_api):
    sdk.v1.checkout.sessions.create(session_params())

    error = refused(lambda: sdk.v1.checkout.sessions.list({"expand": ["payment_intent"]}))
    assert "data.payment_intent" in error.user_message
    assert refused(lambda: sdk.v1.refunds.list({"expand": ["charge"]})).param == "expand[0]"
    assert len(sdk.v1.checkout.sessions.list({"expand": ["data.payment_intent"]}).data) == 1


def test_several_partial_refunds_up_to_the_payment_and_no_further(sdk, stripe_api):
    intent = paid_intent(sdk, stripe_api, 1000)

    first = sdk.v1.refunds.create({"payment_intent": intent, "amount": 300})
    second = sdk.v1.refunds.create({"payment_intent": intent, "amount": 500})
    too_much = refused(lambda: sdk.v1.refunds.create({"payment_intent": intent, "amount": 201}))
    rest = sdk.v1.refunds.create({"payment_intent": intent})
    again = refused(lambda: sdk.v1.refunds.create({"payment_intent": intent, "amount": 1}))

    assert [(r.amount, r.status) for r in (first, second, rest)] == [(300, "succeeded"), (500, "succeeded"),
                                                                     (200, "succeeded")]
    assert too_much.code == "amount_too_large"
    assert too_much.user_message == "Refund amount ($2.01) is greater than unrefunded amount on charge ($2.00)"
    assert again.code == "charge_already_refunded"


def test_refund_statuses_follow_the_switch_and_failed_refunds_free_the_amount_again(sdk, stripe_api):
    intent = paid_intent(sdk, stripe_api, 1000)
    stripe_api.next_refund_status = "pending"

    pending = sdk.v1.refunds.create({"payment_intent": intent, "amount": 1000})
    assert pending.status == "pending"
    assert refused(lambda: sdk.v1.refunds.create({"payment_intent": intent, "amount": 1})).code == \
        "charge_already_refunded"

    stripe_api.settle_refund(pending.id, "failed", "expired_or_canceled_card")
    failed = sdk.v1.refunds.retrieve(pending.id)
    stripe_api.next_refund_status = "succeeded"
    retried = sdk.v1.refunds.create({"payment_intent": intent, "amount": 1000})

    assert (failed.status, failed.failure_reason) == ("failed", "expired_or_canceled_card")
    assert retried.status == "succeeded"


def test_refund_events_carry_the_refund_or_the_charge(sdk, stripe_api):
    intent = paid_intent(sdk, stripe_api, 1000)
    stripe_api.next_refund_status = "pending"
    refund = sdk.v1.refunds.create({"payment_intent": intent, "amount": 400, "metadata": {"refund_id": "7"}})
    stripe_api.settle_refund(refund.id, "failed")

    updated = stripe_api.refund_event(refund.id, "refund.updated")
    failed = stripe_api.refund_event(refund.id, "refund.failed")
    charge = stripe_api.refund_event(refund.id, "charge.refunded")["data"]["object"]

    assert updated["type"] == "refund.updated"
    assert updated["data"]["object"]["status"] == "failed"
    assert updated["data"]["previous_attributes"] == {"status": "pending"}
    assert failed["data"]["object"]["metadata"] == {"refund_id": "7"}
    assert charge["id"].startswith("ch_") and charge["payment_intent"] == intent
    assert (charge["amount"], charge["amount_refunded"], charge["refunded"]) == (1000, 0, False)
    assert [r["id"] for r in charge["refunds"]["data"]] == [refund.id]


def test_refunds_are_listed_newest_first_page_by_page(sdk, stripe_api):
    intent = paid_intent(sdk, stripe_api, 1000)
    other = paid_intent(sdk, stripe_api, 1000)
    made = [sdk.v1.refunds.create({"payment_intent": intent, "amount": 100}).id for _ in range(5)]
    sdk.v1.refunds.create({"payment_intent": other, "amount": 100})
    stripe_api.page_size = 2

    listed = [r.id for r in sdk.v1.refunds.list({"payment_intent": intent, "limit": 100}).auto_paging_iter()]

    assert listed == made[::-1]
    assert len([r for r in stripe_api.requests if r["path"] == "/v1/refunds" and r["method"] == "GET"]) == 3


def test_an_unknown_refund_is_not_found(sdk):
    with pytest.raises(stripe.InvalidRequestError) as error:
        sdk.v1.refunds.retrieve("re_test_nope")
    assert (error.value.http_status, error.value.code) == (404, "resource_missing")


# What the shop sends gets through.

def sent_session(stripe_api) -> dict:
    return stripe_api.posts("/v1/checkout/sessions")[0]["form"]


def only_order() -> Order:
    db.session.commit()
    return db.session.scalar(sa.select(Order).execution_options(populate_existing=True))


@pytest.mark.parametrize("app_overrides", [{"CURRENCY": "JPY"}], indirect=True)
def test_a_yen_order_with_a_coupon_and_tax_is_sent_in_whole_yen(client, stripe_api, checkout_cart, checkout_form):
    bowl = make_product("Tea bowl", price_cents=1500, stock=3).variants[0]
    db.session.add_all([Coupon(code="YEN200", kind=CouponKind.FIXED, value=200), TaxRate(country="GB", rate_bp=1000)])
    db.session.commit()
    checkout_cart({bowl: 2})

    response = client.post("/checkout", data=checkout_form(coupon="yen200"))

    assert response.status_code == 303
    order = only_order()
    sent = sent_session(stripe_api)
    assert [line["price_data"]["unit_amount"] for line in sent["line_items"]] == ["1500", str(order.tax_cents)]
    assert stripe_api.posts("/v1/coupons")[0]["form"]["amount_off"] == "200"
    assert stripe_api.only_session()["amount_total"] == order.total_cents == 3000 - 200 + 599 + order.tax_cents


@pytest.fixture
def isk_order(client, stripe_api, checkout_cart, checkout_form):
    """An order in Iceland: 2 × 1,500 kr, Standard shipping 599 kr, 20 % tax."""
    jumper = make_product("Lopapeysa", price_cents=1500, stock=3).variants[0]
    db.session.add(TaxRate(country="GB", rate_bp=2000))
    db.session.commit()
    checkout_cart({jumper: 2})
    response = client.post("/checkout", data=checkout_form())
    assert response.status_code == 303, response.get_data(as_text=True)
    return only_order()


@pytest.mark.parametrize("app_overrides", [{"CURRENCY": "isk"}], indirect=True)
def test_an_isk_order_is_sent_as_whole_kronur_in_hundredths(stripe_api, isk_order):
    sent = sent_session(stripe_api)

    assert isk_order.tax_cents == 720  # (3,000 + 599) × 20 %, in whole krónur
    assert [line["price_data"]["unit_amount"] for line in sent["line_items"]] == ["150000", "72000"]
    assert sent["shipping_options"][0]["shipping_rate_data"]["fixed_amount"] == {"amount": "59900", "currency": "isk"}
    assert stripe_api.only_session()["amount_total"] == 431900 == isk_order.total_cents * 100


@pytest.mark.parametrize("app_overrides", [{"CURRENCY": "isk"}], indirect=True)
def test_a_paid_isk_order_is_confirmed_for_its_whole_kronur(client, stripe_api, isk_order):
    stripe_api.mark_paid(isk_order.payment_reference)

    client.get(f"/checkout/success?session_id={isk_order.payment_reference}")

    order = only_order()
    assert (order.payment_status, order.needs_attention) == ("paid", False), order.attention_reason


@pytest.mark.parametrize("app_overrides", [{"CURRENCY": "isk"}], indirect=True)
def test_isk_refunds_go_to_stripe_in_hundredths_and_come_back_in_kronur(app, stripe_api, isk_order):
    stripe_api.mark_paid(isk_order.payment_reference)
    stripe_api.next_refund_status = "pending"

    with app.app_context():
        first = gateway.create_refund(isk_order.payment_reference, 500, "isk", "refund-1", {"refund_id": "1"})
        second = gateway.create_refund(isk_order.payment_reference, 1000, "isk", "refund-2", {"refund_id": "2"})
        with pytest.raises(stripe.InvalidRequestError) as too_much:
            gateway.create_refund(isk_order.payment_reference, 4319 - 1500 + 1, "isk", "refund-3", {})
        listed = gateway.list_refunds(isk_order.payment_reference, "isk")
        fetched = gateway.retrieve_refund(first["id"], "isk")

    assert [form["amount"] for form in (r["form"] for r in stripe_api.posts("/v1/refunds"))] == [
        "50000", "100000", "282000"]
    assert stripe_api.posts("/v1/refunds")[0]["headers"]["idempotency-key"] == "refund-1"
    assert (first["amount"], first["status"], second["amount"]) == (500, "pending", 1000)
    assert too_much.value.code == "amount_too_large"
    assert [(r["id"], r["amount"]) for r in listed] == [(second["id"], 1000), (first["id"], 500)]
    assert (fetched["amount"], fetched["metadata"]) == (500, {"refund_id": "1"})


def test_a_long_coupon_code_and_shipping_name_are_shortened_to_stripes_limits(
        client, stripe_api, checkout_cart, checkout_form):
    code = "WELCOME-BACK-TO-THE-CORNER-STORE-SPRING"
    long_name = "Tracked and signed-for courier delivery " * 3
    courier = ShippingMethod(name=long_name.strip(), price_cents=899, position=5)
    lamp = make_product("Lamp", price_cents=2500, stock=5).variants[0]
    db.session.add_all([Coupon(code=code, kind=CouponKind.FIXED, value=500), courier])
    db.session.commit()
    checkout_cart({lamp: 1})

    response = client.post("/checkout", data=checkout_form(coupon=code.lower(), shipping_method=str(courier.id)))

    assert response.status_code == 303
    assert response.headers["Location"] == stripe_api.only_session()["url"]
    coupon_name = stripe_api.posts("/v1/coupons")[0]["form"]["name"]
    display_name = sent_session(stripe_api)["shipping_options"][0]["shipping_rate_data"]["display_name"]
    assert len(coupon_name) == 40 and coupon_name.startswith("Discount WELCOME-BACK") and coupon_name.endswith("…")
    assert display_name == ("Tracked and signed-for courier delivery Tracked and signed-for courier delivery "
                            "Tracked and…")
    assert stripe_api.only_session()["amount_total"] == only_order().total_cents == 2500 - 500 + 899


@pytest.fixture
def pocket_change(shipping_methods):
    """A 30-cent sticker and free pick-up: an order Stripe cannot charge."""
    sticker = make_product("Sticker", price_cents=30, stock=10).variants[0]
    pickup = ShippingMethod(name="Pick up in store", price_cents=0, position=5)
    db.session.add(pickup)
    db.session.commit()
    return sticker, pickup


def test_an_order_under_the_minimum_charge_is_refused_with_a_clear_message(
        client, stripe_api, checkout_cart, checkout_form, pocket_change):
    sticker, pickup = pocket_change
    checkout_cart({sticker: 1})

    response = client.post("/checkout", data=checkout_form(shipping_method=str(pickup.id)), follow_redirects=True)

    assert response.status_code == 200
    assert ("Orders must come to at least $0.50 to be paid by card; add something to your cart."
            in response.get_data(as_text=True))
    db.session.commit()
    assert db.session.scalars(sa.select(Order)).all() == []
    assert stock(sticker) == 10
    assert stripe_api.requests == []


def test_the_checkout_summary_warns_of_the_minimum_before_the_order_is_placed(
        client, stripe_api, checkout_cart, checkout_form, pocket_change):
    sticker, pickup = pocket_change
    checkout_cart({sticker: 1})
    page = client.post("/checkout", data=checkout_form(shipping_method=str(pickup.id), place=None)).get_data(
        as_text=True)
    assert 'data-testid="minimum-error"' in page and "at least $0.50" in page
    assert db.session.scalars(sa.select(Order)).all() == []


@pytest.mark.parametrize("app_overrides", [{"STRIPE_SECRET_KEY": None}], indirect=True)
def test_without_stripe_a_small_order_goes_through_the_test_provider(
        client, stripe_api, checkout_cart, checkout_form, pocket_change):
    sticker, pickup = pocket_change
    checkout_cart({sticker: 1})

    response = client.post("/checkout", data=checkout_form(shipping_method=str(pickup.id)))

    assert response.status_code == 303 and "/checkout/test-payment/" in response.headers["Location"]
    assert only_order().total_cents == 30


def test_a_three_decimal_shop_currency_stops_the_shop_at_start_up(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOP_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("SHOP_SECRET_KEY", "x")
    monkeypatch.setenv("SHOP_DATABASE_URL", f"sqlite:///{tmp_path}/shop.db")
    monkeypatch.setenv("SHOP_CURRENCY", "KWD")

    with pytest.raises(ConfigurationError, match="SHOP_CURRENCY is KWD, which has three decimal places"):
        create_app()

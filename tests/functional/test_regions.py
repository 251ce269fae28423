"""States, provinces and counties on addresses: chosen at checkout and in the address book, checked against
the country, printed as the destination's post writes them, and sent to Stripe."""
import html
import re
from collections import namedtuple

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Address, Order
from tests.factories import make_address, make_product, stock
from tests.plugins.checkout import payment_reference_of

VariantRef = namedtuple("VariantRef", "id sku")
PORTLAND = {"name": "Pat Doe", "line1": "1 SW Main St", "city": "Portland", "postal_code": "97201",
            "country": "US", "region": "US-OR", "region_other": ""}


@pytest.fixture
def app_overrides(request, stripe_api):
    """Test-payment mode, or Stripe mode through the stand-in for tests parametrized indirectly with "stripe"."""
    return stripe_api.config if getattr(request, "param", None) == "stripe" else {}


@pytest.fixture
def tent(app, shipping_methods):
    variant = make_product("Tent", price_cents=9000, stock=5).variants[0]
    db.session.commit()
    return VariantRef(variant.id, variant.sku)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def only_order() -> Order | None:
    db.session.rollback()
    return db.session.scalar(sa.select(Order))


def pay(client, checkout_form, **fields) -> Order:
    """Place the order with these details and pay it on the test-payment page."""
    response = client.post("/checkout", data=checkout_form(**fields))
    assert response.status_code == 303, text(response)
    paid = client.post(f"/checkout/test-payment/{payment_reference_of(response)}", data={"pay": "Pay"})
    assert paid.status_code == 303
    return only_order()


def address_block(page: str) -> str:
    """Return the ship-to address's lines, one per line."""
    match = re.search(r'<address data-testid="ship-address">(.*?)</address>', page, re.S)
    assert match, "no ship-to address on the page"
    return "\n".join(line.strip() for line in match.group(1).replace("<br>", "\n").splitlines() if line.strip())


@pytest.mark.parametrize("fields, message", [
    ({"region": ""}, "Please choose the state."),
    ({"country": "CA", "region": "", "postal_code": "M5V 2T6"}, "Please choose the province or territory."),
    ({"country": "AU", "region": "", "region_other": "Narnia"}, "Please choose the state or territory."),
    ({"region": "CA-ON"}, "Ontario is in Canada. Please choose a state of the United States, or change the country."),
    ({"country": "AU", "region": "US-WA"},
     "Washington is in the United States. Please choose a state or territory of Australia, or change the country."),
    ({"country": "GB", "region": "US-OR"},
     "Oregon is in the United States, but the country chosen is United Kingdom. Leave the state list at “Choose…”"),
])
def test_a_missing_or_foreign_region_is_refused_with_a_message_and_nothing_is_reserved(
        client, tent, checkout_cart, checkout_form, fields, message):
    checkout_cart({tent: 1})
    response = client.post("/checkout", data=checkout_form(**{**PORTLAND, **fields}))
    assert response.status_code == 200
    page = text(response)
    assert message in page
    assert f'<li><a href="#region">{message}' in page  # the error summary links to the list
    assert only_order() is None and stock(tent) == 5


@pytest.mark.parametrize("app_overrides", ["stripe"], indirect=True)
def test_a_us_order_prints_city_state_and_zip_everywhere_and_sends_the_state_to_stripe(
        client, tent, checkout_cart, checkout_form, stripe_api, mail_outbox):
    checkout_cart({tent: 1})
    response = client.post("/checkout", data=checkout_form(**PORTLAND, phone="503 555 0100"))
    assert response.status_code == 303
    order = only_order()
    assert (order.ship_region, order.ship_city, order.ship_country) == ("OR", "Portland", "US")
    [created] = stripe_api.posts("/v1/checkout/sessions")
    assert created["form"]["payment_intent_data"]["shipping"] == {
        "name": "Pat Doe", "phone": "503 555 0100",
        "address": {"line1": "1 SW Main St", "city": "Portland", "state": "OR", "postal_code": "97201",
                    "country": "US"},
    }

    session_id = stripe_api.only_session()["id"]
    stripe_api.mark_paid(session_id)
    page = text(client.get(f"/checkout/success?session_id={session_id}"))
    assert address_block(page) == "Pat Doe\n1 SW Main St\nPortland, OR 97201\nUnited States\n503 555 0100"
    assert "Portland, OR 97201" in text(client.get(f"/orders/{order.number}"))

    [email] = mail_outbox
    plain = email.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "Shipping to:\nPat Doe\n1 SW Main St\nPortland, OR 97201\nUnited States\n" in plain
    assert "Portland, OR 97201" in email.get_body(("html",)).get_content()


@pytest.mark.parametrize("fields, lines", [
    ({"city": "Toronto", "postal_code": "M5V 2T6", "country": "CA", "region": "CA-ON"},
     "Pat Doe\n1 SW Main St\nToronto ON M5V 2T6\nCanada"),
    ({"city": "Sydney", "postal_code": "2000", "country": "AU", "region": "AU-NSW"},
     "Pat Doe\n1 SW Main St\nSydney NSW 2000\nAustralia"),
    # Without JavaScript both region fields show: a listed region typed by its name or code is understood.
    ({"region": "", "region_other": "oregon"}, "Pat Doe\n1 SW Main St\nPortland, OR 97201\nUnited States"),
    ({"region": "", "region_other": "OR"}, "Pat Doe\n1 SW Main St\nPortland, OR 97201\nUnited States"),
    ({"city": "Maidstone", "postal_code": "ME14 1XX", "country": "GB", "region": "", "region_other": "Kent"},
     "Pat Doe\n1 SW Main St\nME14 1XX Maidstone\nKent\nUnited Kingdom"),
    ({"city": "Bristol", "postal_code": "BS1 4DJ", "country": "GB", "region": "", "region_other": ""},
     "Pat Doe\n1 SW Main St\nBS1 4DJ Bristol\nUnited Kingdom"),
])
def test_each_country_prints_its_own_way_and_the_county_is_optional_elsewhere(
        client, tent, checkout_cart, checkout_form, fields, lines):
    checkout_cart({tent: 1})
    order = pay(client, checkout_form, **{**PORTLAND, **fields})
    assert address_block(text(client.get(f"/orders/{order.number}"))) == lines


def test_a_listed_region_chosen_wins_over_text_typed_for_other_countries(client, tent, checkout_cart, checkout_form):
    checkout_cart({tent: 1})
    order = pay(client, checkout_form, **{**PORTLAND, "region_other": "Somewhere"})
    assert order.ship_region == "OR"


@pytest.mark.parametrize("region, region_other, message", [
    ("US-OR'><script>alert(1)</script>", "", "Please choose a state, province or territory from the list."),
    ("US-", "", "Please choose a state, province or territory from the list."),
    ("-OR", "", "Please choose a state, province or territory from the list."),
    ("XX-YY", "", "Please choose a state, province or territory from the list."),
    ("US-OR\x00", "", "Please choose a state, province or territory from the list."),
    ("", "Oregon\x00", "This contains characters we cannot store."),
    ("", "x" * 101, "Field cannot be longer than 100 characters."),
])
def test_hostile_region_values_are_refused_and_never_echoed_raw(client, tent, checkout_cart, checkout_form,
                                                                region, region_other, message):
    checkout_cart({tent: 1})
    response = client.post("/checkout", data=checkout_form(**{**PORTLAND, "region": region,
                                                              "region_other": region_other}))
    assert response.status_code == 200
    assert message in text(response)
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
    assert only_order() is None and stock(tent) == 5


def test_a_county_with_markup_is_kept_as_text_and_shown_escaped(client, tent, checkout_cart, checkout_form):
    checkout_cart({tent: 1})
    county = "<b>Kent</b> & Medway"
    order = pay(client, checkout_form, country="GB", region="", region_other=county)
    assert order.ship_region == county
    page = client.get(f"/orders/{order.number}").get_data(as_text=True)
    assert "&lt;b&gt;Kent&lt;/b&gt; &amp; Medway" in page and "<b>Kent</b>" not in page


def test_the_error_summary_links_to_each_field_takes_the_focus_and_the_fields_keep_their_values(
        client, tent, checkout_cart, checkout_form):
    checkout_cart({tent: 1})
    response = client.post("/checkout", data=checkout_form(
        **{**PORTLAND, "email": "not-an-email", "name": "", "region": "", "line2": "Suite 4", "coupon": "NOSUCH"}))
    page = response.get_data(as_text=True)
    summary = re.search(r'<div class="error-summary"[^>]*>.*?</div>', page, re.S)
    assert summary, "no error summary"
    opening = summary.group(0).split(">", 1)[0]
    assert 'role="alert"' in opening and 'tabindex="-1"' in opening and "autofocus" in opening
    assert "There is a problem" in summary.group(0)
    links = re.findall(r'<a href="#([\w-]+)">([^<]+)</a>', summary.group(0))
    assert [anchor for anchor, _ in links] == ["email", "name", "region", "coupon"]
    for anchor, _ in links:
        assert f'id="{anchor}"' in page  # each link leads to a field on the page
    assert page.index("error-summary") < page.index('name="email"')  # at the top of the form
    assert "<title>Error: Checkout" in page
    # What the shopper typed is still there, the mistakes included.
    for kept in ('value="not-an-email"', 'value="1 SW Main St"', 'value="Suite 4"', 'value="Portland"',
                 'value="97201"', 'value="NOSUCH"', '<option selected value="US">'):
        assert kept in page
    assert 'aria-invalid="true"' in page and 'aria-describedby="email-error"' in page


def test_a_shipping_method_error_links_to_the_first_method(client, tent, checkout_cart, checkout_form):
    checkout_cart({tent: 1})
    page = text(client.post("/checkout", data=checkout_form(**PORTLAND, shipping_method="999999")))
    assert '<li><a href="#shipping_method-0">Please choose one of the shipping methods offered.</a></li>' in page
    assert 'id="shipping_method-0"' in page


def test_recomputing_the_summary_of_a_half_filled_form_shows_no_errors(client, tent, checkout_cart, checkout_form):
    checkout_cart({tent: 1})
    page = text(client.post("/checkout", data=checkout_form(
        email="", name="", region="", place=None, update="Update summary")))
    assert "error-summary" not in page and "Please enter your email address." not in page


def test_a_good_form_shows_no_error_summary(client, tent, checkout_cart):
    checkout_cart({tent: 1})
    assert "error-summary" not in text(client.get("/checkout"))


def test_without_a_coupon_no_discount_line_is_shown(client, tent, checkout_cart, checkout_form, mail_outbox):
    checkout_cart({tent: 1})
    assert "Discount" not in text(client.get("/checkout"))
    order = pay(client, checkout_form, **PORTLAND)
    assert "Discount" not in text(client.get(f"/orders/{order.number}"))
    [email] = mail_outbox
    assert "Discount" not in email.get_body(("plain",)).get_content()
    assert "Discount" not in email.get_body(("html",)).get_content()


def test_the_address_book_keeps_the_state_and_checkout_fills_it_in(client, user, tent, checkout_cart):
    response = client.post("/account/addresses/new", data={
        "full_name": "Pat Doe", "line1": "1 SW Main St", "line2": "", "city": "Portland", "postal_code": "97201",
        "country": "US", "region": "US-OR", "region_other": "", "phone": ""}, follow_redirects=True)
    assert "The address has been added." in text(response)
    assert "Portland, OR 97201" in text(response)
    [address] = db.session.scalars(sa.select(Address)).all()
    assert (address.region, address.is_default) == ("OR", True)

    form = text(client.get(f"/account/addresses/{address.id}/edit"))
    assert '<option selected value="US-OR">Oregon</option>' in form

    checkout_cart({tent: 1})
    checkout = text(client.get("/checkout"))
    assert '<option selected value="US">' in checkout and '<option selected value="US-OR">Oregon</option>' in checkout


def test_a_saved_county_elsewhere_fills_the_text_field(client, user, tent, checkout_cart):
    saved = make_address(user, country="IE", city="Cork", postal_code="T12 XY34", region="County Cork",
                         is_default=True)
    db.session.commit()
    assert '<option selected value="IE">' in text(client.get(f"/account/addresses/{saved.id}/edit"))
    checkout_cart({tent: 1})
    page = text(client.get("/checkout"))
    assert 'name="region_other" type="text" value="County Cork"' in page
    assert '<option selected value="">Choose…</option>' in page


def test_the_address_book_refuses_a_foreign_region_and_lists_the_errors_at_the_top(client, user):
    response = client.post("/account/addresses/new", data={
        "full_name": "", "line1": "1 Road", "line2": "", "city": "Toronto", "postal_code": "M5V 2T6",
        "country": "CA", "region": "AU-NSW", "region_other": "", "phone": ""})
    page = text(response)
    assert response.status_code == 200
    assert '<a href="#full_name">Please enter the full name.</a>' in page
    assert '<a href="#region">New South Wales is in Australia. Please choose a province or territory of Canada' in page
    assert 'value="Toronto"' in page and '<option selected value="AU-NSW">' in page
    assert db.session.scalars(sa.select(Address)).all() == []

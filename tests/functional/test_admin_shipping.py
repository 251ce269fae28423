"""Shipping methods in the back office: list in checkout order, create, edit zones, reorder, deactivate, activate."""
import html

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import AuditRecord, Role, ShippingMethod, ShippingZone
from shop.services import ShopError, commerce_admin
from tests.factories import make_user


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def methods() -> list[ShippingMethod]:
    db.session.commit()
    return list(db.session.scalars(sa.select(ShippingMethod).order_by(ShippingMethod.position, ShippingMethod.id)
                                   .execution_options(populate_existing=True)))


def named(name: str) -> ShippingMethod | None:
    return next((method for method in methods() if method.name == name), None)


def zones(method: ShippingMethod) -> list[tuple[str, str]]:
    return list(db.session.execute(sa.select(ShippingZone.country, ShippingZone.region)
                                   .where(ShippingZone.shipping_method_id == method.id).order_by(ShippingZone.id)))


def audits() -> list[AuditRecord]:
    db.session.commit()
    return list(db.session.scalars(sa.select(AuditRecord).where(AuditRecord.entity_type == "shipping_method")
                                   .order_by(AuditRecord.id)))


def make_method(name: str, position: int = 0, price: int = 500, places: list[tuple[str, str]] = (), **values):
    method = ShippingMethod(name=name, price_cents=price, position=position,
                            zones=[ShippingZone(country=c, region=r) for c, r in places], **values)
    db.session.add(method)
    db.session.flush()
    return method


def test_create_a_method_for_some_places(client, admin):
    make_method("Standard")
    db.session.commit()
    response = client.post("/admin/shipping/new", data={
        "name": "Courier", "price": "12.50", "free_over": "100", "places": "gb, US-CA\nus-or,  CA-ON; GB"},
        follow_redirects=True)
    assert "The shipping method Courier was created." in text(response)
    courier = named("Courier")
    assert (courier.price_cents, courier.free_over_cents, courier.is_active) == (1250, 10000, True)
    assert zones(courier) == [("GB", ""), ("US", "CA"), ("US", "OR"), ("CA", "ON")]
    assert [method.name for method in methods()] == ["Standard", "Courier"], "a new method is offered last"
    page = text(client.get("/admin/shipping"))
    row = page[page.index(">Courier<"):]
    assert "United Kingdom; California, United States; Oregon, United States; Ontario, Canada" in row
    assert "Everywhere" in page[page.index(">Standard<"):page.index(">Courier<")]
    [record] = audits()
    assert record.action == "shipping_method.create" and record.changes["zones"] == [None, ["GB", "US-CA", "US-OR",
                                                                                            "CA-ON"]]


def test_a_whole_country_covers_its_regions(client, admin):
    client.post("/admin/shipping/new", data={"name": "Domestic", "price": "5", "places": "US-CA, US, US-NY"})
    assert zones(named("Domestic")) == [("US", "")]


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"name": ""}, "name", "Please enter the name."),
    ({"price": ""}, "price", "Please enter the price (0 for free)."),
    ({"price": "abc"}, "price", "Enter an amount like 12.50."),
    ({"price": "1.234"}, "price", "USD amounts have at most 2 decimal places."),
    ({"free_over": "-5"}, "free_over", "Enter an amount like 12.50."),
    ({"places": "XX"}, "places", "“XX” is not a country code the shop knows"),
    ({"places": "GB-LND"}, "places", "United Kingdom has no regions to choose from"),
    ({"places": "US-ZZ"}, "places", "“US-ZZ” is not a region of United States"),
])
def test_bad_input_is_refused_next_to_its_field(client, admin, data, field, message):
    response = client.post("/admin/shipping/new", data={"name": "Post", "price": "4.99", "places": "", **data})
    assert response.status_code == 422
    page = text(response)
    assert message in page[page.index(f'id="{field}"'):]
    assert methods() == []


def test_edit_changes_prices_and_places_audited(client, admin):
    method = make_method("Standard", price=599, places=[("GB", ""), ("FR", "")])
    db.session.commit()
    page = text(client.get(f"/admin/shipping/{method.id}"))
    assert 'value="5.99"' in page and "GB, FR</textarea>" in page
    response = client.post(f"/admin/shipping/{method.id}", data={
        "name": "Standard", "price": "6.49", "free_over": "", "places": "FR, DE"}, follow_redirects=True)
    assert "The shipping method Standard was saved: price and where it is offered changed." in text(response)
    assert named("Standard").price_cents == 649 and zones(named("Standard")) == [("FR", ""), ("DE", "")]
    [record] = audits()
    assert record.changes == {"price_cents": [599, 649], "zones": [["GB", "FR"], ["FR", "DE"]]}
    client.post(f"/admin/shipping/{method.id}", data={"name": "Standard", "price": "6.49", "places": ""})
    assert zones(named("Standard")) == [], "no places: offered everywhere"


def test_reorder_with_up_and_down_buttons(client, admin):
    first, second, third = (make_method(name, position) for position, name in enumerate(["One", "Two", "Three"]))
    db.session.commit()
    page = text(client.get("/admin/shipping"))
    assert 'aria-label="Move One up" disabled' in page and 'aria-label="Move Three down" disabled' in page
    response = client.post(f"/admin/shipping/{third.id}/move", data={"direction": "up"}, follow_redirects=True)
    assert "Three moved up." in text(response)
    assert [method.name for method in methods()] == ["One", "Three", "Two"]
    client.post(f"/admin/shipping/{first.id}/move", data={"direction": "down"})
    assert [method.name for method in methods()] == ["Three", "One", "Two"]
    response = client.post(f"/admin/shipping/{third.id}/move", data={"direction": "up"}, follow_redirects=True)
    assert "Three is already first." in text(response)
    response = client.post(f"/admin/shipping/{second.id}/move", data={"direction": "sideways"},
                           follow_redirects=True)
    assert "Choose whether to move the method up or down." in text(response)
    assert [record.changes for record in audits()] == [{"position": [2, 1]}, {"position": [0, 1]}]


def test_deactivate_asks_first_and_warns_about_the_last_method(client, admin):
    only = make_method("Only")
    db.session.commit()
    question = text(client.get(f"/admin/shipping/{only.id}/deactivate"))
    assert "Deactivate Only?" in question and "It is the last method offered" in question
    response = client.post(f"/admin/shipping/{only.id}/deactivate", data={"confirmed": "yes"}, follow_redirects=True)
    assert "Only is deactivated: checkout no longer offers it." in text(response)
    assert not named("Only").is_active
    response = client.post(f"/admin/shipping/{only.id}/activate", data={"confirmed": "yes"}, follow_redirects=True)
    assert "Only is offered at checkout again." in text(response)
    assert named("Only").is_active
    assert [record.action for record in audits()] == ["shipping_method.deactivate", "shipping_method.activate"]


def test_the_list_runs_a_constant_number_of_queries(client, admin, count_queries):
    for n in range(2):
        make_method(f"Few {n}", n, places=[("GB", "")])
    db.session.commit()
    with count_queries() as few:
        assert client.get("/admin/shipping").status_code == 200
    for n in range(30):
        make_method(f"Many {n}", 10 + n, places=[("US", "CA"), ("FR", "")])
    db.session.commit()
    with count_queries() as many:
        assert client.get("/admin/shipping").status_code == 200
    assert len(few) == len(many) <= 5


def test_no_methods_yet_and_missing_ones(client, admin):
    assert "No shipping methods yet" in text(client.get("/admin/shipping"))
    assert client.get("/admin/shipping/999999").status_code == 404
    assert client.post("/admin/shipping/999999/move", data={"direction": "up"}).status_code == 404


def test_only_an_owner_may_change_shipping(app):
    staff = make_user("staff@example.com", role=Role.STAFF)
    db.session.commit()
    with pytest.raises(ShopError, match="Only an owner"):
        commerce_admin.create_shipping_method(staff, commerce_admin.ShippingFields(name="Sneaky", price_cents=0))
    assert methods() == []

"""The settings page: current values and defaults, saving with checks and an audit, every process seeing it."""
import re
import time

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import AuditRecord, StoreSetting
from shop.services import store_settings

VALID = {
    "shop_name": "Trail & Tide", "contact_email": "help@trail.example",
    "address": "Trail & Tide Ltd\r\n12 Harbour Street\r\nPortland OR 97201",
    "order_notify_emails": "orders@trail.example, boss@trail.example", "reservation_minutes": "45",
    "staff_refund_limit_cents": "250.50", "low_stock_threshold": "3",
    "low_stock_notify_emails": "stock@trail.example", "low_stock_digest": "y",
}


def stored() -> dict:
    return {name: value for name, value in db.session.execute(sa.select(StoreSetting.name, StoreSetting.value))}


def field_error(page: str, field: str) -> str:
    match = re.search(rf'<div id="{field}-error"><p class="error">([^<]+)</p>', page)
    return match.group(1) if match else ""


def test_the_page_shows_each_setting_with_its_default(client, admin, app):
    app.config["SHOP_NAME"] = "Oak & Co"
    page = client.get("/admin/settings").get_data(as_text=True)
    assert 'value="Oak &amp; Co"' in page
    assert "Default Oak &amp; Co (SHOP_SHOP_NAME)." in page  # the environment variable that sets it
    assert 'name="staff_refund_limit_cents"' in page and 'value="100.00"' in page
    assert "Default $100.00 (SHOP_STAFF_REFUND_LIMIT_CENTS)." in page
    assert 'name="reservation_minutes"' in page and 'value="60"' in page
    assert "prices_include_tax" not in page, "the tax settings are on the tax page"


def test_saving_stores_the_values_audits_them_and_the_shop_shows_them_at_once(client, admin):
    response = client.post("/admin/settings", data=VALID)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/settings"
    assert stored() == {
        "shop_name": "Trail & Tide", "contact_email": "help@trail.example",
        "address": "Trail & Tide Ltd, 12 Harbour Street, Portland OR 97201",
        "order_notify_emails": "orders@trail.example, boss@trail.example", "reservation_minutes": 45,
        "staff_refund_limit_cents": 25050, "low_stock_threshold": 3, "low_stock_notify_emails": "stock@trail.example",
        "low_stock_digest": True,
    }
    [record] = db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "settings.update"))
    assert record.actor_email == admin.email
    assert record.changes["shop_name"] == ["Shop", "Trail & Tide"]
    assert record.changes["staff_refund_limit_cents"] == [10_000, 25050]
    assert "prices_include_tax" not in record.changes

    page = client.get("/admin/settings").get_data(as_text=True)
    assert "Settings saved: shop name, contact email, postal address" in page
    assert "Portland OR 97201</textarea>" in page and 'value="250.50"' in page
    home = client.get("/").get_data(as_text=True)
    assert "<h2>Trail &amp; Tide</h2>" in home and "help@trail.example" in home
    assert "<address>Trail &amp; Tide Ltd<br>12 Harbour Street<br>Portland OR 97201</address>" in home


def test_saving_the_same_values_again_changes_nothing(client, admin):
    client.post("/admin/settings", data=VALID)
    client.post("/admin/settings", data=VALID)
    assert "Nothing changed in the settings." in client.get("/admin/settings").get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)
                             .where(AuditRecord.action == "settings.update")) == 1


@pytest.mark.parametrize(("field", "value", "message"), [
    ("shop_name", "", "Please enter the shop name."),
    ("contact_email", "help at trail", "is not a valid email address"),
    ("order_notify_emails", "orders@trail.example, nobody", "nobody is not a valid email address"),
    ("low_stock_notify_emails", "x@", "is not a valid email address"),
    ("reservation_minutes", "five", "as a whole number"),
    ("reservation_minutes", "2000", "between 10 and 1,440"),
    ("low_stock_threshold", "-2", "between 0 and 100,000"),
    ("staff_refund_limit_cents", "12.345", "at most 2 decimal places"),
    ("staff_refund_limit_cents", "lots", "Enter an amount like 12.50."),
    ("address", "Line\x00two", "characters we cannot store"),
])
def test_a_wrong_value_is_shown_next_to_its_field_and_nothing_is_saved(client, admin, field, value, message):
    response = client.post("/admin/settings", data={**VALID, field: value})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in field_error(page, field), page
    assert 'data-testid="error-summary"' in page
    assert stored() == {}


def test_the_form_needs_its_csrf_token(client, admin):
    assert client.post("/admin/settings", data=VALID, csrf=False).status_code == 400
    assert stored() == {}


def test_only_the_back_office_reaches_the_page(client, user):
    assert client.get("/admin/settings").status_code == 403


def test_another_server_process_sees_a_saved_change_without_a_restart(app, client, admin, gunicorn_shop):
    shop = gunicorn_shop(env={"SHOP_SETTINGS_CACHE_SECONDS": "1"})
    visitor = shop.session()
    assert "<h2>Shop</h2>" in visitor.get(shop.url + "/").text

    assert client.post("/admin/settings", data=VALID).status_code == 302

    deadline = time.monotonic() + 15
    while "<h2>Trail &amp; Tide</h2>" not in (page := visitor.get(shop.url + "/").text):
        assert time.monotonic() < deadline, "the other process never showed the new shop name"
        time.sleep(0.2)
    assert "help@trail.example" in page
    assert store_settings.get("shop_name") == "Trail & Tide"


def test_the_page_points_to_the_tax_settings_when_the_tax_page_exists(client, admin, app):
    page = client.get("/admin/settings").get_data(as_text=True)
    assert ('href="/admin/' in page and "Shipping &amp; tax</a>." in page) == ("admin.tax_rates" in app.view_functions)

"""Coupons in the back office: the list with uses and revenue, create, edit, restrict, deactivate and activate."""
import html
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import AuditRecord, Coupon, CouponKind, Product, Role
from shop.services import ShopError, commerce_admin
from tests.factories import make_category, make_order, make_product, make_user


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def coupon_coded(code: str) -> Coupon | None:
    db.session.commit()
    return db.session.scalar(sa.select(Coupon).where(Coupon.code == code).execution_options(populate_existing=True))


def audits(entity_type: str = "coupon") -> list[AuditRecord]:
    db.session.commit()
    return list(db.session.scalars(sa.select(AuditRecord).where(AuditRecord.entity_type == entity_type)
                                   .order_by(AuditRecord.id)))


def form(**values) -> dict:
    data = {"code": "SPRING", "kind": "percent", "amount": "10", "min_subtotal": "", "starts_on": "", "ends_on": "",
            "usage_limit": "", "per_customer_limit": ""}
    data.update(values)
    return data


def make_coupon(code: str, **values) -> Coupon:
    coupon = Coupon(code=code, kind=values.pop("kind", CouponKind.PERCENT), value=values.pop("value", 10), **values)
    db.session.add(coupon)
    db.session.flush()
    return coupon


def paid_order(code: str, total: int, refunded: int = 0, payment_status: str = "paid"):
    order = make_order(status="paid", payment_status=payment_status)
    order.coupon_code, order.total_cents, order.refunded_cents = code, total, refunded
    order.paid_at = datetime.now(UTC)
    db.session.flush()
    return order


def test_create_a_coupon_with_every_rule(client, admin):
    tents = make_category("Tents")
    stove = make_product("Camp stove")
    db.session.commit()
    response = client.post("/admin/coupons/new", data=form(
        code="summer-25", amount="25", free_shipping="y", min_subtotal="40.00", starts_on="2026-06-01",
        ends_on="2026-08-31", usage_limit="100", per_customer_limit="1", category_ids=[str(tents.id)],
        product_ids=[str(stove.id)]), follow_redirects=True)
    assert "The coupon SUMMER-25 was created." in text(response)
    coupon = coupon_coded("SUMMER-25")
    assert (coupon.kind, coupon.value, coupon.free_shipping, coupon.min_subtotal_cents) == ("percent", 25, True, 4000)
    assert coupon.starts_at == datetime(2026, 6, 1, tzinfo=UTC)
    assert coupon.ends_at == datetime(2026, 9, 1, tzinfo=UTC), "the coupon works through its last day"
    assert (coupon.usage_limit, coupon.per_customer_limit) == (100, 1)
    assert [c.name for c in coupon.categories] == ["Tents"] and [p.name for p in coupon.products] == ["Camp stove"]
    [record] = audits()
    assert record.action == "coupon.create" and record.actor_id == admin.id
    assert record.changes["code"] == [None, "SUMMER-25"] and record.changes["categories"] == [None, ["Tents"]]


def test_a_fixed_amount_and_a_free_shipping_only_coupon(client, admin):
    client.post("/admin/coupons/new", data=form(code="FIVE", kind="fixed", amount="5.50"))
    assert coupon_coded("FIVE").value == 550
    client.post("/admin/coupons/new", data=form(code="SHIPFREE", kind="fixed", amount="0", free_shipping="y"))
    coupon = coupon_coded("SHIPFREE")
    assert coupon.value == 0 and coupon.free_shipping


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"code": ""}, "code", "Please enter the code."),
    ({"code": "TWO WORDS"}, "code", "A code has letters, digits, hyphens and underscores"),
    ({"amount": "101"}, "amount", "A percentage is a whole number from 0 to 100."),
    ({"amount": "7.5"}, "amount", "A percentage is a whole number from 0 to 100."),
    ({"kind": "fixed", "amount": "abc"}, "amount", "Enter an amount like 12.50."),
    ({"amount": "0"}, "amount", "A coupon that takes nothing off must at least make shipping free."),
    ({"kind": "bogus"}, "kind", "Not a valid choice"),
    ({"min_subtotal": "-3"}, "min_subtotal", "Enter an amount like 12.50."),
    ({"starts_on": "2026-05-02", "ends_on": "2026-05-01"}, "ends_on", "The last day cannot be before the first day."),
    ({"starts_on": "31/12/2026"}, "starts_on", "Enter a date as year-month-day"),
    ({"usage_limit": "0"}, "usage_limit", "Enter a whole number from 1 to 1,000,000"),
    ({"per_customer_limit": "two"}, "per_customer_limit", "Enter a whole number from 1 to 1,000,000"),
    ({"category_ids": ["999999"]}, "category_ids", "Some of the chosen categories no longer exist"),
])
def test_bad_input_is_refused_next_to_its_field(client, admin, values, field, message):
    response = client.post("/admin/coupons/new", data=form(**values))
    assert response.status_code == 422
    page = text(response)
    assert message in page[page.index(f'id="{field}'):]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Coupon)) == 0


def test_a_code_taken_in_any_case_is_refused(client, admin):
    make_coupon("WELCOME")
    response = client.post("/admin/coupons/new", data=form(code="welcome"))
    assert response.status_code == 422
    assert "Another coupon already has the code WELCOME; choose another." in text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Coupon)) == 1


def test_the_list_shows_uses_and_revenue_from_paid_orders(client, admin):
    make_coupon("TENOFF")
    make_coupon("UNUSED")
    paid_order("TENOFF", 5000)
    paid_order("TENOFF", 3000, refunded=1000, payment_status="partially refunded")
    paid_order("TENOFF", 2000, refunded=2000, payment_status="refunded")
    make_order().coupon_code = "TENOFF"  # unpaid: no use, no revenue
    db.session.commit()
    page = text(client.get("/admin/coupons"))
    row = page[page.index(">TENOFF<"):]
    row = row[:row.index("</tr>")]
    assert 'data-testid="coupon-uses">3' in row
    assert 'data-testid="coupon-revenue">$70.00' in row  # 50 + (30 - 10) + (20 - 20)
    unused = page[page.index(">UNUSED<"):]
    assert 'data-testid="coupon-uses">0' in unused and 'data-testid="coupon-revenue">$0.00' in unused
    by_revenue = text(client.get("/admin/coupons?sort=revenue"))
    assert by_revenue.index(">TENOFF<") < by_revenue.index(">UNUSED<")


def test_search_and_status_filters(client, admin):
    now = datetime.now(UTC)
    make_coupon("LIVE-1")
    make_coupon("SOON-1", starts_at=now + timedelta(days=3))
    make_coupon("OVER-1", ends_at=now - timedelta(days=1))
    make_coupon("OFF-1", is_active=False)
    db.session.commit()
    assert "4 coupons" in text(client.get("/admin/coupons"))
    for status, code in [("active", "LIVE-1"), ("scheduled", "SOON-1"), ("expired", "OVER-1"), ("inactive", "OFF-1")]:
        page = text(client.get(f"/admin/coupons?status={status}"))
        assert "1 coupon" in page and f">{code}<" in page, status
    assert ">SOON-1<" in text(client.get("/admin/coupons?q=soon"))
    assert "No coupons match these filters." in text(client.get("/admin/coupons?q=nothing"))
    assert "4 coupons" in text(client.get("/admin/coupons?status=junk")), "an unknown status is ignored"


def test_no_coupons_yet(client, admin):
    page = text(client.get("/admin/coupons"))
    assert "No coupons yet." in page and 'href="/admin/coupons/new"' in page


def test_the_list_runs_a_constant_number_of_queries(client, admin, count_queries):
    category = make_category("Boots")
    for n in range(2):
        coupon = make_coupon(f"FEW{n}")
        paid_order(coupon.code, 1000)
    db.session.commit()
    with count_queries() as few:
        assert client.get("/admin/coupons").status_code == 200
    for n in range(30):
        coupon = make_coupon(f"MANY{n}", categories=[category])
        paid_order(coupon.code, 1000)
    db.session.commit()
    with count_queries() as many:
        assert client.get("/admin/coupons?sort=uses").status_code == 200
    assert len(few) == len(many) <= 6


def test_edit_a_coupon_records_before_and_after(client, admin):
    coupon = make_coupon("AUTUMN", value=10)
    db.session.commit()
    page = text(client.get(f"/admin/coupons/{coupon.id}"))
    assert 'value="AUTUMN"' in page and 'value="10"' in page
    response = client.post(f"/admin/coupons/{coupon.id}", data=form(code="AUTUMN", amount="15", usage_limit="50"),
                           follow_redirects=True)
    assert "The coupon AUTUMN was saved: amount and usage limit changed." in text(response)
    assert (coupon_coded("AUTUMN").value, coupon_coded("AUTUMN").usage_limit) == (15, 50)
    [record] = audits()
    assert record.action == "coupon.update"
    assert record.changes == {"value": [10, 15], "usage_limit": [None, 50]}
    response = client.post(f"/admin/coupons/{coupon.id}", data=form(code="AUTUMN", amount="15", usage_limit="50"),
                           follow_redirects=True)
    assert "Nothing changed in the coupon AUTUMN." in text(response)
    assert len(audits()) == 1


def test_the_edit_form_shows_days_and_money_as_typed(client, admin):
    coupon = make_coupon("XMAS", kind=CouponKind.FIXED, value=1250, min_subtotal_cents=123456,
                         ends_at=datetime(2026, 12, 26, tzinfo=UTC))
    db.session.commit()
    page = text(client.get(f"/admin/coupons/{coupon.id}"))
    assert 'value="12.50"' in page and 'value="1234.56"' in page and 'value="2026-12-25"' in page


def test_a_code_orders_carry_cannot_change(client, admin):
    used = make_coupon("OLDCODE")
    paid_order("OLDCODE", 1000)
    fresh = make_coupon("FRESH")
    db.session.commit()
    response = client.post(f"/admin/coupons/{used.id}", data=form(code="NEWCODE"))
    assert response.status_code == 422
    assert "Orders already name the code OLDCODE, so it cannot change" in text(response)
    assert coupon_coded("OLDCODE") is not None
    client.post(f"/admin/coupons/{fresh.id}", data=form(code="FRESHER"))
    assert coupon_coded("FRESHER") is not None and coupon_coded("FRESH") is None


def test_products_are_found_and_added_without_javascript(client, admin):
    make_product("Trail shoe")
    make_product("Trail pole")
    make_product("Tent peg")
    coupon = make_coupon("TRAIL")
    db.session.commit()
    found = client.post(f"/admin/coupons/{coupon.id}", data=form(code="TRAIL", amount="20", product_search="trail",
                                                                 find_products="Find products"))
    assert found.status_code == 200
    page = text(found)
    matches = page[page.index('data-testid="product-matches"'):]
    assert "Trail shoe" in matches and "Trail pole" in matches and "Tent peg" not in matches
    assert 'value="20"' in page, "what was typed is kept"
    assert coupon_coded("TRAIL").value == 10 and not audits(), "searching saves nothing"
    shoe = db.session.scalar(sa.select(Product).where(Product.name == "Trail shoe"))
    client.post(f"/admin/coupons/{coupon.id}", data=form(code="TRAIL", amount="20", product_ids=[str(shoe.id)]))
    assert [p.name for p in coupon_coded("TRAIL").products] == ["Trail shoe"]
    page = text(client.get(f"/admin/coupons/{coupon.id}"))
    chosen = page[page.index('data-testid="chosen-products"'):]
    assert f'value="{shoe.id}" checked> Trail shoe' in chosen
    again = text(client.post(f"/admin/coupons/{coupon.id}", data=form(
        code="TRAIL", amount="20", product_ids=[str(shoe.id)], product_search="trail", find_products="Find")))
    matches = again[again.index('data-testid="product-matches"'):]
    assert "Trail pole" in matches and "Trail shoe" not in matches, "a chosen product is not offered twice"


def test_deactivate_asks_first_then_activate_again(client, admin):
    coupon = make_coupon("STOPME")
    db.session.commit()
    question = text(client.get(f"/admin/coupons/{coupon.id}/deactivate"))
    assert "Deactivate the coupon STOPME?" in question and "Orders that already used it keep their discount" in question
    assert coupon_coded("STOPME").is_active
    client.post(f"/admin/coupons/{coupon.id}/deactivate")
    assert coupon_coded("STOPME").is_active, "a post without the confirmation changes nothing"
    response = client.post(f"/admin/coupons/{coupon.id}/deactivate", data={"confirmed": "yes"}, follow_redirects=True)
    assert "The coupon STOPME is deactivated: shoppers can no longer use it." in text(response)
    assert not coupon_coded("STOPME").is_active
    response = client.post(f"/admin/coupons/{coupon.id}/activate", data={"confirmed": "yes"}, follow_redirects=True)
    assert "The coupon STOPME works again at checkout." in text(response)
    assert coupon_coded("STOPME").is_active
    assert [(r.action, r.changes) for r in audits()] == [("coupon.deactivate", {"is_active": [True, False]}),
                                                         ("coupon.activate", {"is_active": [False, True]})]


def test_missing_coupons_are_404_and_posts_need_a_csrf_token(client, admin):
    assert client.get("/admin/coupons/999999").status_code == 404
    assert client.get("/admin/coupons/999999/deactivate").status_code == 404
    assert client.post("/admin/coupons/new", data=form(), csrf=False).status_code == 400
    assert coupon_coded("SPRING") is None


def test_only_an_owner_may_change_coupons(app):
    staff = make_user("staff@example.com", role=Role.STAFF)
    db.session.commit()
    with pytest.raises(ShopError, match="Only an owner"):
        commerce_admin.create_coupon(staff, commerce_admin.CouponFields(code="SNEAKY", kind="percent", amount="50"))
    assert coupon_coded("SNEAKY") is None


def test_a_code_taken_between_the_check_and_the_write_is_refused_without_a_500(client, admin, monkeypatch):
    checked = commerce_admin._coupon_values

    def then_taken(fields, exclude_id):
        values = checked(fields, exclude_id)
        # Another owner's coupon with the code lands after the check, as a concurrent save would.
        db.session.add(Coupon(code=values["code"], kind=CouponKind.PERCENT, value=5))
        return values

    monkeypatch.setattr(commerce_admin, "_coupon_values", then_taken)
    response = client.post("/admin/coupons/new", data=form(code="RACE"))
    assert response.status_code == 422
    assert "The code RACE was taken a moment ago; choose another." in text(response)
    assert coupon_coded("RACE") is None and not audits(), "the whole change rolled back"

"""Admin inventory pages: the stock list, adjusting a variant's stock, and its history."""
import html
import re

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import AuditRecord, Order, Product, ProductVariant, StockMovement, StockReason
from tests.factories import make_order, make_product, make_stock_movement, stock


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def skus_on(page: str) -> list[str]:
    """Return the SKUs in the list's rows, in order."""
    return re.findall(r"<td>([A-Z]+-[0-9A-Z-]+)</td>", page)


def field_errors(page: str, field: str) -> list[str]:
    """Return the messages shown inside the field's own box."""
    box = re.search(rf'<div class="field has-error">\s*<label for="{field}">.*?</div>', page, re.S)
    return re.findall(r'<p class="error">(.*?)</p>', box.group(0)) if box else []


@pytest.fixture
def shelf(app):
    """Variants at every stock level: low (2), out (0), plenty (40), and a low one not for sale (1)."""
    make_product("Desk Lamp", variants=[{"sku": "LAMP-S", "stock": 2, "size": "S"},
                                        {"sku": "LAMP-L", "stock": 40, "size": "L"}])
    make_product("Glass Vase", variants=[{"sku": "VASE-1", "stock": 0}])
    make_product("Old Stool", variants=[{"sku": "STOOL-1", "stock": 1}], is_active=False)
    db.session.commit()


@pytest.fixture
def tee(app):
    variant = make_product("Tee", variants=[{"size": "M", "colour": "Red", "sku": "TEE-M-RED", "stock": 4}]).variants[0]
    db.session.commit()
    return variant.id


def test_the_list_shows_each_variant_with_its_product_option_sku_and_stock(client, admin, shelf):
    page = text(client.get("/admin/inventory"))

    assert skus_on(page) == ["VASE-1", "STOOL-1", "LAMP-S", "LAMP-L"]  # lowest stock first
    lamp = db.session.scalar(sa.select(Product.id).where(Product.name == "Desk Lamp"))
    assert f'<a href="/admin/products/{lamp}">Desk Lamp</a>' in page
    assert "<td>S</td>" in page and "<td>L</td>" in page
    assert "Product inactive" in page
    assert re.search(r'data-testid="stock">0</a>\s*<span class="badge out">Out</span>', page)
    assert re.search(r'data-testid="stock">2</a>\s*<span class="badge low">Low</span>', page)
    assert '<a href="/admin/inventory" aria-current="page" class="current">Inventory</a>' in page
    assert "4 variants" in page


def test_the_overviews_low_and_out_of_stock_tiles_open_the_filtered_list(client, admin, shelf):
    overview = text(client.get("/admin/"))
    low_link = re.search(r'href="([^"]+)" data-testid="low-stock"', overview).group(1)
    out_link = re.search(r'href="([^"]+)" data-testid="out-of-stock"', overview).group(1)

    # The tiles count what is on sale, and open a list of just those variants.
    assert skus_on(text(client.get(low_link))) == ["LAMP-S"]
    assert skus_on(text(client.get(out_link))) == ["VASE-1"]
    assert 'data-testid="low-stock"><strong>1</strong>' in overview
    assert 'data-testid="out-of-stock"><strong>1</strong>' in overview


def test_filters_search_and_sorts_narrow_and_order_the_list(client, admin, shelf):
    assert skus_on(text(client.get("/admin/inventory?stock=low&status=active"))) == ["LAMP-S"]
    assert skus_on(text(client.get("/admin/inventory?status=inactive"))) == ["STOOL-1"]
    assert skus_on(text(client.get("/admin/inventory?q=lamp&sort=sku"))) == ["LAMP-L", "LAMP-S"]
    assert skus_on(text(client.get("/admin/inventory?q=vase-1"))) == ["VASE-1"]
    assert skus_on(text(client.get("/admin/inventory?sort=product"))) == ["LAMP-S", "LAMP-L", "VASE-1", "STOOL-1"]
    # Junk filter values are ignored rather than refused.
    assert len(skus_on(text(client.get("/admin/inventory?stock=lots&status=x&sort=y")))) == 4

    page = text(client.get("/admin/inventory?stock=low&q=lamp"))
    assert '<option value="low" selected>Low (1 to 5)</option>' in page
    assert 'name="q" value="lamp"' in page


def test_the_low_stock_threshold_follows_the_setting(app, client, admin, shelf):
    app.config["LOW_STOCK_THRESHOLD"] = 40
    assert skus_on(text(client.get("/admin/inventory?stock=low"))) == ["STOOL-1", "LAMP-S", "LAMP-L"]


def test_pages_keep_the_filters(client, admin):
    make_product("Bulk Bin", variants=[{"sku": f"BIN-{n:02d}", "stock": 1} for n in range(55)])
    make_product("Other Bin", variants=[{"sku": "OTHER-1", "stock": 1}])
    db.session.commit()

    first = text(client.get("/admin/inventory?stock=low&q=bulk&sort=sku"))
    assert len(skus_on(first)) == 50 and "55 variants · page 1 of 2" in first
    next_link = re.search(r'<a rel="next" href="([^"]+)"', first).group(1)
    assert all(part in next_link for part in ("stock=low", "q=bulk", "sort=sku", "page=2"))
    second = text(client.get(next_link))
    assert skus_on(second) == [f"BIN-{n}" for n in range(50, 55)]


def test_empty_states_say_why_the_list_is_empty(client, admin):
    assert "No products yet" in text(client.get("/admin/inventory"))
    make_product("Desk Lamp", variants=[{"sku": "LAMP-1", "stock": 9}])
    db.session.commit()
    page = text(client.get("/admin/inventory?q=nothing-like-this"))
    assert "No variants match these filters." in page and "Show every variant" in page


@pytest.mark.parametrize("url", ["/admin/inventory", "/admin/inventory?stock=low&sort=product&q=o"])
def test_the_list_runs_the_same_queries_for_3_or_30_variants(client, admin, count_queries, url):
    def queries_for(variants: int) -> int:
        for _ in range(variants):
            make_product(variants=[{"stock": 2}, {"stock": 3, "size": "L"}][: 1 + variants % 2])
        db.session.commit()
        with count_queries() as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    few = queries_for(3)
    assert queries_for(27) == few


def test_adjusting_by_a_delta_says_what_happened_and_shows_the_ledger(client, admin, tee):
    form = text(client.get(f"/admin/inventory/{tee}"))
    assert "Adjust stock of TEE-M-RED" in form and "M / Red" in form

    response = client.post(f"/admin/inventory/{tee}", data={"mode": "delta", "quantity": "6", "reason": "received",
                                                            "note": "Delivery 42"})

    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/inventory/{tee}/history"
    history = text(client.get(response.headers["Location"]))
    assert "Stock of TEE-M-RED: 4 → 10 (received)." in history
    assert re.search(r'data-testid="current-stock"><strong>10</strong>', history)
    assert re.search(r"<td class=\"num\">\+6</td>\s*<td>Received</td>\s*<td></td>\s*<td>admin@example.com</td>"
                     r"\s*<td>Delivery 42</td>", history)
    assert stock(tee) == 10


def test_setting_a_count_and_setting_the_same_count_again(client, admin, tee):
    client.post(f"/admin/inventory/{tee}", data={"mode": "set", "quantity": "1", "reason": "recount"})
    assert stock(tee) == 1
    response = client.post(f"/admin/inventory/{tee}", data={"mode": "set", "quantity": "1", "reason": "recount"},
                           follow_redirects=True)
    assert "Stock of TEE-M-RED is already 1: nothing was changed or recorded." in text(response)
    assert [movement.delta for movement in db.session.scalars(sa.select(StockMovement))] == [-3]


def test_removing_more_than_is_left_is_refused_with_the_form_kept(client, admin, tee):
    response = client.post(f"/admin/inventory/{tee}", data={"mode": "delta", "quantity": "-5", "reason": "damaged"})

    assert response.status_code == 422
    page = text(response)
    assert "Only 4 in stock: cannot remove 5." in page
    assert 'value="-5"' in page
    assert stock(tee) == 4
    assert db.session.scalar(sa.select(sa.func.count(StockMovement.id))) == 0


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"mode": "delta", "quantity": "", "reason": "received"}, "quantity", "Enter how many, such as 5 or -3."),
    ({"mode": "delta", "quantity": "five", "reason": "received"}, "quantity", "Enter a whole number, such as 5 or -3."),
    ({"mode": "delta", "quantity": "2.5", "reason": "received"}, "quantity", "Enter a whole number, such as 5 or -3."),
    ({"mode": "delta", "quantity": "0", "reason": "received"}, "quantity", "Enter a change other than 0"),
    ({"mode": "delta", "quantity": "2000000", "reason": "received"}, "quantity", "at most 1,000,000 at once"),
    ({"mode": "set", "quantity": "-1", "reason": "recount"}, "quantity", "Set the stock to a count from 0"),
    ({"mode": "delta", "quantity": "3", "reason": ""}, "reason", "Choose why the stock changed."),
    ({"mode": "delta", "quantity": "3", "reason": "reserve"}, "reason", "Not a valid choice."),
    ({"mode": "delta", "quantity": "3", "reason": "other", "note": "  "}, "note", "a note is required"),
    ({"mode": "delta", "quantity": "3", "reason": "received", "note": "bad\x07bell"}, "note", "cannot store"),
    ({"mode": "delta", "quantity": "3", "reason": "received", "note": "x" * 501}, "note", "at most 500 characters"),
])
def test_bad_input_is_shown_next_to_its_field_and_changes_nothing(client, admin, tee, data, field, message):
    response = client.post(f"/admin/inventory/{tee}", data=data)

    assert response.status_code == 422
    assert any(message in error for error in field_errors(text(response), field)), text(response)
    assert stock(tee) == 4
    assert db.session.scalar(sa.select(sa.func.count(AuditRecord.id))) == 0


def test_an_unknown_mode_is_refused(client, admin, tee):
    response = client.post(f"/admin/inventory/{tee}", data={"mode": "double", "quantity": "3", "reason": "received"})
    assert response.status_code == 422 and "Not a valid choice." in text(response)
    assert stock(tee) == 4


def test_the_lists_own_form_adjusts_and_returns_to_the_filtered_list(client, admin, tee):
    page = text(client.get("/admin/inventory?stock=low&q=tee"))
    assert f'action="/admin/inventory/{tee}"' in page
    back = re.search(r'name="next" value="([^"]+)"', page).group(1)
    assert back == "/admin/inventory?stock=low&q=tee"

    response = client.post(f"/admin/inventory/{tee}", data={"mode": "delta", "quantity": "+3", "reason": "received",
                                                            "next": back})

    assert response.headers["Location"] == back
    assert "Stock of TEE-M-RED: 4 → 7 (received)." in text(client.get(back))


@pytest.mark.parametrize("elsewhere", ["//evil.example/admin/inventory", "/admin/orders", "https://evil.example/",
                                       "/admin/inventoryx"])
def test_the_way_back_only_ever_leads_to_the_inventory_list(client, admin, tee, elsewhere):
    response = client.post(f"/admin/inventory/{tee}", data={"mode": "delta", "quantity": "1", "reason": "received",
                                                            "next": elsewhere})
    assert response.headers["Location"] == f"/admin/inventory/{tee}/history"


def test_the_history_names_every_movement_newest_first(client, admin, tee):
    variant = db.session.get(ProductVariant, tee)
    order = make_order(variant=variant)
    reasons = [StockReason.RESERVE, StockReason.LATE_SALE, StockReason.CANCELLED, StockReason.EXPIRED,
               StockReason.PAYMENT_FAILED, StockReason.REFUND, StockReason.IMPORT]
    for reason in reasons:
        make_stock_movement(variant, -1 if reason in (StockReason.RESERVE, StockReason.LATE_SALE) else 1, reason,
                            order=order if reason != StockReason.IMPORT else None)
    order_id, number = order.id, order.number
    db.session.commit()
    client.post(f"/admin/inventory/{tee}", data={"mode": "delta", "quantity": "2", "reason": "other",
                                                 "note": "Found <b>two</b> in the back"})

    page = text(client.get(f"/admin/inventory/{tee}/history"))

    words = re.findall(r'<td class="num">[+-]\d+</td>\s*<td>([^<]+)</td>', page)
    assert words == ["Other", "Import", "Refund", "Payment failed", "Expired", "Cancelled", "Late sale",
                     "Sale reservation"]
    assert page.count(f'<a href="/admin/orders/{order_id}">{number}</a>') == 6
    assert "admin@example.com" in page
    assert "Found <b>two</b> in the back" in page  # shown as text: the raw page escapes it
    assert "Found &lt;b&gt;two&lt;/b&gt;" in client.get(f"/admin/inventory/{tee}/history").get_data(as_text=True)
    assert re.search(r'data-testid="current-stock"><strong>6</strong>', page)


def test_the_history_of_a_variant_that_never_moved(client, admin, tee):
    assert "No stock has moved for this variant yet." in text(client.get(f"/admin/inventory/{tee}/history"))


def test_the_history_runs_the_same_queries_for_3_or_30_movements_and_pages(client, admin, tee, count_queries):
    variant = db.session.get(ProductVariant, tee)
    order = make_order(variant=variant)
    db.session.commit()

    def queries_for(movements: int) -> int:
        variant = db.session.get(ProductVariant, tee)
        for index in range(movements):
            make_stock_movement(variant, 1, "received" if index % 2 else "reserve",
                                order=None if index % 2 else db.session.get(Order, order.id))
        db.session.commit()
        with count_queries() as statements:
            assert client.get(f"/admin/inventory/{tee}/history").status_code == 200
        return len(statements)

    few = queries_for(3)
    assert queries_for(27) == few
    queries_for(30)
    page = text(client.get(f"/admin/inventory/{tee}/history"))
    assert "60 movements · page 1 of 2" in page
    assert "page 2 of 2" in text(client.get(f"/admin/inventory/{tee}/history?page=2"))


@pytest.mark.parametrize("path", ["/admin/inventory/999", "/admin/inventory/999/history"])
def test_unknown_variants_are_not_found(client, admin, path):
    assert client.get(path).status_code == 404
    assert client.post(path, data={"mode": "delta", "quantity": "1", "reason": "received"}).status_code in (404, 405)

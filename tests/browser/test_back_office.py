"""A new shop owner builds, sells, restocks and reprices a product, in a browser with JavaScript off."""
import csv
import io
import re

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import ProductImage, ProductVariant, ShippingMethod, StockMovement
from tests.browser.actions import fill_address, follow, log_in
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.images import jpeg_bytes, png_bytes, webp_bytes

pytestmark = pytest.mark.browser

VARIANTS = {  # label: (SKU, price typed, initial stock)
    "S / Red": ("JUMPER-S-RED", "49.00", "3"),
    "S / Blue": ("JUMPER-S-BLUE", "49.00", "2"),
    "M / Red": ("JUMPER-M-RED", "55.00", "4"),
    "M / Blue": ("JUMPER-M-BLUE", "59.50", "1"),
}


@pytest.fixture
def owner(app):
    make_user("owner@example.com", name="Olive Owner", is_admin=True)
    db.session.add(ShippingMethod(name="Standard", price_cents=500))
    db.session.commit()


@pytest.fixture
def page(browser):
    """A fresh browser context with JavaScript turned off: every page must work without it."""
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def variant(sku: str) -> ProductVariant:
    db.session.rollback()
    return db.session.scalar(sa.select(ProductVariant).where(ProductVariant.sku == sku))


def admin_section(page, name: str) -> None:
    follow(page.get_by_role("navigation", name="Admin sections").get_by_role("link", name=name))


def flash(page) -> str:
    return page.locator(".flashes").inner_text()


def log_in_as_owner(page, live_url) -> None:
    log_in(page, f"{live_url}/admin/", "owner@example.com", DEFAULT_PASSWORD)
    assert page.get_by_role("heading", name="Overview").is_visible()


def create_category_and_brand(page) -> None:
    admin_section(page, "Categories")
    follow(page.get_by_role("link", name="Add a category").first)
    page.get_by_label("Name", exact=True).fill("Knitwear")
    follow(page.get_by_role("button", name="Create category"))
    assert "Knitwear" in flash(page)

    admin_section(page, "Brands")
    follow(page.get_by_role("link", name="Add a brand").first)
    page.get_by_label("Name", exact=True).fill("Fjord Wool")
    follow(page.get_by_role("button", name="Create brand"))
    assert "Fjord Wool" in flash(page)


def create_product_with_variants(page) -> None:
    admin_section(page, "Products")
    follow(page.get_by_role("link", name="New product").first)
    page.get_by_label("Name", exact=True).fill("Harbour Jumper")
    description = page.get_by_role("textbox", name="Description (Markdown")
    description.fill("A warm **merino** jumper.\n\n- Knitted in Norway\n- Hand wash")
    page.get_by_label("Category").select_option(label="Knitwear")
    page.get_by_label("Brand (optional)").select_option(label="Fjord Wool")
    page.get_by_label("Option 1 name").fill("Size")
    page.get_by_label("Option 1 values").fill("S, M")
    page.get_by_label("Option 2 name").fill("Colour")
    page.get_by_label("Option 2 values").fill("Red, Blue")
    follow(page.get_by_role("button", name="Create product"))

    for label, (sku, price, initial_stock) in VARIANTS.items():
        page.get_by_label(f"Sell {label}", exact=True).check()
        page.get_by_label(f"SKU of {label}", exact=True).fill(sku)
        page.get_by_label(f"Price of {label}", exact=True).fill(price)
        page.get_by_label(f"Initial stock of {label}", exact=True).fill(initial_stock)
    follow(page.get_by_role("button", name="Save variants"))
    assert variant("JUMPER-M-BLUE").price_cents == 5950 and variant("JUMPER-M-RED").stock == 4


def upload_three_photos(page, product_id: int) -> None:
    follow(page.get_by_role("link", name="Images").first)
    page.get_by_label("Photos", exact=True).set_input_files([
        {"name": "front.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(900, 900)},
        {"name": "back.png", "mimeType": "image/png", "buffer": png_bytes(800, 800)},
        {"name": "detail.webp", "mimeType": "image/webp", "buffer": webp_bytes(700, 700)},
    ])
    page.get_by_role("region", name="Add photos").get_by_label("Alt text").fill("Harbour Jumper in red")
    follow(page.get_by_role("button", name="Upload photos"))
    db.session.rollback()
    alts = db.session.scalars(sa.select(ProductImage.alt).where(ProductImage.product_id == product_id)
                              .order_by(ProductImage.position)).all()
    assert alts == [f"Harbour Jumper in red (photo {n})" for n in (1, 2, 3)]


def buy_a_medium_blue_one(page, live_url) -> None:
    page.goto(f"{live_url}/products/harbour-jumper")
    assert page.get_by_role("link", name=re.compile(r"^Show photo \d of 3$")).count() == 3
    assert page.get_by_text("merino", exact=True).evaluate("node => node.tagName") == "STRONG"
    follow(page.get_by_role("link", name="M", exact=True))
    follow(page.get_by_role("link", name="Blue", exact=True))
    assert page.get_by_test_id("price").inner_text() == "$59.50"
    follow(page.get_by_role("button", name="Add to cart"))
    page.goto(f"{live_url}/checkout")
    page.get_by_label("Email", exact=True).fill("sam@example.com")
    fill_address(page, "Sam Shopper")
    follow(page.get_by_role("button", name="Place order and pay"))
    follow(page.get_by_role("button", name="Pay"))
    assert "is confirmed" in page.inner_text("h1")
    assert variant("JUMPER-M-BLUE").stock == 0


def restock(page, live_url) -> None:
    page.goto(f"{live_url}/admin/")
    admin_section(page, "Inventory")
    page.get_by_label("Search").fill("JUMPER-M-BLUE")
    follow(page.get_by_role("search").get_by_role("button", name="Apply"))
    follow(page.get_by_role("link", name="More ways to adjust JUMPER-M-BLUE"))
    page.get_by_label("Set the stock to this count").check()
    page.get_by_label("Quantity").fill("12")
    page.get_by_label("Reason").select_option(label="Received")
    follow(page.get_by_role("button", name="Apply"))
    assert "JUMPER-M-BLUE: 0 → 12 (received)" in flash(page)
    ledger = page.locator("table").inner_text()
    assert "Received" in ledger and "owner@example.com" in ledger and "+12" in ledger
    db.session.rollback()
    reasons = db.session.scalars(sa.select(StockMovement.reason).join(ProductVariant)
                                 .where(ProductVariant.sku == "JUMPER-M-BLUE").order_by(StockMovement.id)).all()
    assert reasons == ["received", "reserve", "received"]


def export_catalogue(page) -> list[dict]:
    admin_section(page, "Import/Export")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the catalogue (CSV)").click()
    with open(download.value.path(), encoding="utf-8-sig", newline="") as exported:
        return list(csv.DictReader(exported))


def import_rows(page, rows: list[dict], tmp_path, name: str) -> str:
    """Upload the rows as a CSV file and return its text."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / name
    path.write_text(buffer.getvalue(), encoding="utf-8")
    admin_section(page, "Import/Export")
    page.get_by_label("CSV file").set_input_files(str(path))
    follow(page.get_by_role("button", name="Check the file"))
    return buffer.getvalue()


def test_a_new_owner_builds_sells_restocks_and_reprices_a_product(live_url, page, owner, tmp_path):
    log_in_as_owner(page, live_url)
    create_category_and_brand(page)
    create_product_with_variants(page)
    upload_three_photos(page, variant("JUMPER-S-RED").product_id)
    buy_a_medium_blue_one(page, live_url)
    restock(page, live_url)

    rows = export_catalogue(page)
    assert {row["sku"] for row in rows} == {sku for sku, _, _ in VARIANTS.values()}
    repriced = [dict(row, price="52.00") if row["sku"] == "JUMPER-S-RED" else row for row in rows]
    bad = dict(rows[0], sku="JUMPER-L-RED", option1_value="L", price="fifty")
    sent = import_rows(page, [*repriced, bad], tmp_path, "with-a-bad-row.csv")
    # The line a text editor shows: descriptions span several lines inside their quotes.
    bad_line = sent[:sent.index("JUMPER-L-RED")].count("\n") + 1
    problems = page.locator("table").last.inner_text()
    assert f"{bad_line}\tprice\tEnter an amount like 12.50. ('fifty' given)" in problems
    assert page.get_by_role("button", name="Apply the import").count() == 0
    assert variant("JUMPER-S-RED").price_cents == 4900

    import_rows(page, repriced, tmp_path, "fixed.csv")
    assert page.get_by_test_id("variants-updated").inner_text().startswith("1")
    follow(page.get_by_role("button", name="Apply the import"))
    assert variant("JUMPER-S-RED").price_cents == 5200
    page.goto(f"{live_url}/products/harbour-jumper?variant={variant('JUMPER-S-RED').id}")
    assert page.get_by_test_id("price").inner_text() == "$52.00"

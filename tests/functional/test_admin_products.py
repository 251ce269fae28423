"""The product back office through its pages: list, create, variants, edit, slugs, bulk status, delete."""
import os

import sqlalchemy as sa

from shop.extensions import db
from shop.models import (
    AuditRecord,
    Product,
    ProductImage,
    ProductSlugRedirect,
    ProductVariant,
    StockMovement,
    StockReason,
)
from shop.services.images import rendition_name
from tests.factories import make_brand, make_category, make_order, make_product

COMBINATIONS = ["S / Red", "S / Blue", "M / Red", "M / Blue"]


def product_form(in_category, **overrides) -> dict:
    body = {
        "name": "Trail Jacket", "slug": "", "description": "A **light** jacket. Packs small.",
        "category": str(in_category.id), "brand": "", "is_active": "y", "seo_title": "", "meta_description": "",
        "option1_name": "Size", "option1_values": "S, M", "option2_name": "Colour", "option2_values": "Red, Blue",
        "option3_name": "", "option3_values": "",
        "specifications-0-name": "Material", "specifications-0-value": "Nylon",
        "specifications-1-name": "", "specifications-1-value": "",
        "specifications-2-name": "Weight", "specifications-2-value": "300 g",
    }
    body.update(overrides)
    return body


def variants_form(rows: list[dict]) -> dict:
    """Return the variants editor's body; each row: label, and enabled/sku/price/compare_at/stock/image."""
    body = {}
    for index, row in enumerate(rows):
        prefix = f"variants-{index}-"
        body[prefix + "combination"] = row["label"]
        if row.get("enabled", True):
            body[prefix + "enabled"] = "y"
        body[prefix + "sku"] = row.get("sku", "")
        body[prefix + "price"] = row.get("price", "")
        body[prefix + "compare_at"] = row.get("compare_at", "")
        body[prefix + "image"] = row.get("image", "")
        body[prefix + "initial_stock"] = row.get("stock", "0")
    return body


def four_variants() -> list[dict]:
    return [
        {"label": "S / Red", "sku": "JKT-S-RED", "price": "49.00", "stock": "5"},
        {"label": "S / Blue", "sku": "JKT-S-BLUE", "price": "49.50", "compare_at": "60", "stock": "0"},
        {"label": "M / Red", "sku": "JKT-M-RED", "price": "55", "stock": "12"},
        {"label": "M / Blue", "sku": "JKT-M-BLUE", "price": "1,055.99", "stock": "2"},
    ]


def audit_actions(entity_id=None) -> list[str]:
    query = sa.select(AuditRecord.action).order_by(AuditRecord.id)
    if entity_id is not None:
        query = query.where(AuditRecord.entity_id == entity_id)
    return list(db.session.scalars(query))


def the_product(name="Trail Jacket") -> Product:
    db.session.commit()
    return db.session.scalar(sa.select(Product).where(Product.name == name))


def create_jacket(client, category) -> Product:
    response = client.post("/admin/products/new", data=product_form(category))
    assert response.status_code == 302, response.get_data(as_text=True)
    product = the_product()
    assert response.headers["Location"] == f"/admin/products/{product.id}/variants"
    response = client.post(response.headers["Location"], data=variants_form(four_variants()))
    assert response.status_code == 302, response.get_data(as_text=True)
    return the_product()


def test_an_owner_creates_a_product_with_two_options_and_four_variants(client, admin):
    category = make_category("Jackets")

    response = client.post("/admin/products/new", data=product_form(category), follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Created Trail Jacket. Now choose which combinations to sell" in page
    assert [label in page for label in COMBINATIONS] == [True] * 4
    product = the_product()
    assert product.slug == "trail-jacket"
    assert [(option.name, [value.value for value in option.values]) for option in product.options] == [
        ("Size", ["S", "M"]), ("Colour", ["Red", "Blue"])]
    assert [(spec.name, spec.value) for spec in product.specifications] == [("Material", "Nylon"), ("Weight", "300 g")]

    response = client.post(f"/admin/products/{product.id}/variants", data=variants_form(four_variants()),
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "added S / Red (JKT-S-RED) at $49.00 with 5 in stock" in page
    product = the_product()
    assert [(v.label, v.sku, v.price_cents, v.compare_at_cents, v.stock) for v in product.variants] == [
        ("S / Red", "JKT-S-RED", 4900, None, 5), ("S / Blue", "JKT-S-BLUE", 4950, 6000, 0),
        ("M / Red", "JKT-M-RED", 5500, None, 12), ("M / Blue", "JKT-M-BLUE", 105599, None, 2)]
    movements = db.session.execute(sa.select(StockMovement.delta, StockMovement.reason, StockMovement.note,
                                             StockMovement.actor_id).order_by(StockMovement.delta)).all()
    assert movements == [(2, StockReason.RECEIVED, "initial stock", admin.id),
                         (5, StockReason.RECEIVED, "initial stock", admin.id),
                         (12, StockReason.RECEIVED, "initial stock", admin.id)]
    assert audit_actions(product.id) == ["product.create", "product.variants"]
    record = db.session.scalar(sa.select(AuditRecord).where(AuditRecord.action == "product.variants"))
    assert record.actor_id == admin.id and record.changes["JKT-M-BLUE.created"][1]["price_cents"] == 105599

    shop_page = client.get("/products/trail-jacket").get_data(as_text=True)
    assert "<strong>light</strong>" in shop_page and "<dt>Material</dt><dd>Nylon</dd>" in shop_page
    assert '<span data-testid="price">$49.00</span>' in shop_page


def test_invalid_product_input_shows_messages_next_to_the_fields_and_stores_nothing(client, admin):
    category = make_category("Jackets")
    other = make_product("Rain Coat", category=category)
    db.session.commit()
    cases = [
        ({"name": ""}, "Please enter the product&#39;s name."),
        ({"slug": "Not A Slug!"}, "Use lower-case letters, digits and single hyphens"),
        ({"slug": other.slug}, "That slug is already used by “Rain Coat”."),
        ({"category": ""}, "Please choose a category."),
        ({"option1_values": "S, S"}, "Each value may appear only once."),
        ({"option1_name": "", "option1_values": ""}, "Fill the options in order"),
        ({"option2_values": ""}, "Please list this option&#39;s values"),
        ({"specifications-0-value": ""}, "Give both a name and a value, or leave both blank."),
        ({"name": "Bad\x00name"}, "This contains characters we cannot store."),
    ]
    for change, message in cases:
        response = client.post("/admin/products/new", data=product_form(category, **change))
        page = response.get_data(as_text=True)
        assert response.status_code == 200, change
        assert message in page, change
        assert 'class="field has-error"' in page, change
    assert the_product() is None
    assert audit_actions() == []


def test_invalid_variants_are_refused_next_to_their_row_and_store_nothing(client, admin):
    category = make_category("Jackets")
    make_product("Rain Coat", category=category, variants=[{"sku": "TAKEN-1"}])
    client.post("/admin/products/new", data=product_form(category))
    product = the_product()
    rows = four_variants()
    rows[0]["compare_at"] = "40"  # below the price
    rows[1]["sku"] = "TAKEN-1"  # another product's
    rows[2]["price"] = "12.345"
    rows[3]["sku"] = rows[2]["sku"]
    response = client.post(f"/admin/products/{product.id}/variants", data=variants_form(rows))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "USD amounts have at most 2 decimal places." in page
    rows[2]["price"] = "55"
    response = client.post(f"/admin/products/{product.id}/variants", data=variants_form(rows))
    page = response.get_data(as_text=True)
    assert "The compare-at price must be higher than the price, or blank." in page
    assert "This SKU is already used by “Rain Coat”" in page
    assert "Two combinations have this SKU." in page
    assert "Nothing was saved" in page

    nothing = [{**row, "enabled": False} for row in four_variants()]
    page = client.post(f"/admin/products/{product.id}/variants", data=variants_form(nothing)).get_data(as_text=True)
    assert "Enable at least one combination" in page
    assert the_product().variants == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StockMovement)) == 0
    assert audit_actions(product.id) == ["product.create"]


def test_editing_prices_records_them_before_and_after_in_cents(client, admin):
    product = create_jacket(client, make_category("Jackets"))
    rows = four_variants()
    rows[0]["price"] = "45.00"
    rows[0]["stock"] = "99"  # ignored: existing stock changes on the inventory page
    response = client.post(f"/admin/products/{product.id}/variants", data=variants_form(rows), follow_redirects=True)
    assert "S / Red (JKT-S-RED): price $49.00 → $45.00" in response.get_data(as_text=True)
    variant = the_product().variants[0]
    assert (variant.price_cents, variant.stock) == (4500, 5)
    record = db.session.scalars(sa.select(AuditRecord).order_by(AuditRecord.id.desc())).first()
    assert record.changes == {"JKT-S-RED.price_cents": [4900, 4500]}

    body = product_form(product.category, name="Trail Jacket Pro", slug="trail-jacket", is_featured="y")
    response = client.post(f"/admin/products/{product.id}", data=body, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Trail Jacket Pro: changed name, featured." in page
    record = db.session.scalars(sa.select(AuditRecord).order_by(AuditRecord.id.desc())).first()
    assert record.changes == {"name": ["Trail Jacket", "Trail Jacket Pro"], "is_featured": [False, True]}
    assert the_product("Trail Jacket Pro").slug == "trail-jacket"  # the slug stays as it was

    body["slug"] = ""  # cleared: made from the name again, and the old one redirects
    page = client.post(f"/admin/products/{product.id}", data=body, follow_redirects=True).get_data(as_text=True)
    assert "Trail Jacket Pro: slug trail-jacket → trail-jacket-pro (the old address redirects)." in page


def test_a_changed_slug_redirects_old_links_permanently(client, admin):
    product = create_jacket(client, make_category("Jackets"))
    category = product.category
    client.post(f"/admin/products/{product.id}", data=product_form(category, slug="trail-jacket-2"))
    response = client.post(f"/admin/products/{product.id}", data=product_form(category, slug="summit-jacket"))
    assert response.status_code == 302

    for old in ("trail-jacket", "trail-jacket-2"):
        response = client.get(f"/products/{old}")
        assert response.status_code == 301
        assert response.headers["Location"] == "/products/summit-jacket"
    assert client.get("/products/summit-jacket").status_code == 200

    # A new product may take an old slug: the address is then its own.
    response = client.post("/admin/products/new", data=product_form(category, name="Other", slug="trail-jacket",
                                                                     option1_name="", option1_values="",
                                                                     option2_name="", option2_values=""))
    assert response.status_code == 302
    assert db.session.scalars(sa.select(ProductSlugRedirect.old_slug)).all() == ["trail-jacket-2"]

    # A deactivated product's old slugs lead nowhere.
    client.post(f"/admin/products/{product.id}", data=product_form(category, slug="summit-jacket", is_active=""))
    assert client.get("/products/trail-jacket-2").status_code == 404


def test_an_option_value_removed_retires_its_variants(client, admin):
    product = create_jacket(client, make_category("Jackets"))
    m_blue = product.variants[3]
    make_order(variant=m_blue)
    db.session.commit()
    # Drop Blue: S / Blue (stock 0, never ordered, no ledger) goes; M / Blue (ordered) stays, inactive.
    response = client.post(f"/admin/products/{product.id}",
                           data=product_form(product.category, option2_values="Red"), follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "deleted S / Blue (JKT-S-BLUE)" in page
    assert "deactivated M / Blue (JKT-M-BLUE), kept for its history" in page
    variants = {variant.sku: variant.is_active for variant in the_product().variants}
    assert variants == {"JKT-S-RED": True, "JKT-M-RED": True, "JKT-M-BLUE": False}
    page = client.get(f"/admin/products/{product.id}/variants").get_data(as_text=True)
    assert "Retired variants" in page and "M / Blue (JKT-M-BLUE)" in page


def test_unticking_a_combination_deletes_it_unless_it_has_history(client, admin):
    product = create_jacket(client, make_category("Jackets"))
    rows = four_variants()
    rows[0]["enabled"] = False  # S / Red has initial stock in the ledger: kept, inactive
    rows[1]["enabled"] = False  # S / Blue has no history: deleted
    response = client.post(f"/admin/products/{product.id}/variants", data=variants_form(rows), follow_redirects=True)
    assert "deleted S / Blue (JKT-S-BLUE)" in response.get_data(as_text=True)
    variants = {variant.sku: variant.is_active for variant in the_product().variants}
    assert variants == {"JKT-S-RED": False, "JKT-M-RED": True, "JKT-M-BLUE": True}

    rows[0]["enabled"] = True  # sold again: the same variant comes back
    client.post(f"/admin/products/{product.id}/variants", data=variants_form(rows))
    assert the_product().variants[0].is_active


def test_bulk_deactivation_asks_first_then_says_what_changed(client, admin):
    category = make_category("Tents")
    products = [make_product(name, category=category) for name in ("Alpine", "Base Camp", "Cabin", "Dome")]
    db.session.commit()
    ids = [str(product.id) for product in products[:3]]

    response = client.post("/admin/products/bulk", data={"action": "deactivate", "product_ids": ids})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Deactivate 3 products?" in page and "<li>Base Camp</li>" in page
    assert all(product.is_active for product in db.session.scalars(sa.select(Product)))

    response = client.post("/admin/products/bulk", data={"action": "deactivate", "product_ids": ids,
                                                        "confirmed": "yes"}, follow_redirects=True)
    assert "Deactivated 3 products: Alpine, Base Camp, Cabin." in response.get_data(as_text=True)
    db.session.commit()
    assert {product.name: product.is_active for product in db.session.scalars(sa.select(Product))} == {
        "Alpine": False, "Base Camp": False, "Cabin": False, "Dome": True}
    assert audit_actions().count("product.deactivate") == 3
    assert client.get(f"/products/{products[0].slug}").status_code == 404

    response = client.post("/admin/products/bulk", data={"action": "activate", "product_ids": ids[:1],
                                                        "confirmed": "yes"}, follow_redirects=True)
    assert "Activated 1 product: Alpine." in response.get_data(as_text=True)
    response = client.post("/admin/products/bulk", data={"action": "activate"}, follow_redirects=True)
    assert "Select at least one product" in response.get_data(as_text=True)


def test_deleting_an_ordered_product_deactivates_it_instead(client, admin):
    product = make_product("Lantern")
    make_order(variant=product.variants[0])
    db.session.commit()
    page = client.get(f"/admin/products/{product.id}/delete").get_data(as_text=True)
    assert "It has been ordered before, so it cannot be deleted" in page

    response = client.post(f"/admin/products/{product.id}/delete", data={"confirmed": "yes"}, follow_redirects=True)
    assert "Lantern has been ordered, so it was deactivated instead of deleted" in response.get_data(as_text=True)
    product = the_product("Lantern")
    assert product is not None and not product.is_active
    assert audit_actions(product.id) == ["product.deactivate"]


def test_deleting_a_product_never_ordered_removes_its_rows_and_files(app, client, admin):
    product = make_product("Stove", images=0)
    db.session.add(ProductImage(product_id=product.id, filename="x.jpg", key="stove-abc", alt="Stove"))
    db.session.commit()
    media = app.config["MEDIA_PATH"]
    os.makedirs(media, exist_ok=True)
    files = [os.path.join(media, rendition_name("stove-abc", rendition, fmt))
             for rendition in ("thumb", "full") for fmt in ("webp", "jpg")]
    for path in files:
        open(path, "wb").close()

    response = client.post(f"/admin/products/{product.id}/delete")  # not confirmed yet
    assert "Delete Stove?" in response.get_data(as_text=True) and the_product("Stove") is not None
    response = client.post(f"/admin/products/{product.id}/delete", data={"confirmed": "yes"}, follow_redirects=True)
    assert "Deleted Stove." in response.get_data(as_text=True)
    assert the_product("Stove") is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProductVariant)) == 0
    assert not any(os.path.exists(path) for path in files)
    assert audit_actions() == ["product.delete"]


def _filtered_names(client, query: str) -> list[str]:
    page = client.get("/admin/products?" + query).get_data(as_text=True)
    names = []
    for row in page.split('data-testid="product-row"')[1:]:
        names.append(row.split("</a>", 1)[0].rsplit(">", 1)[1])  # the first link of a row is the name
    return names


def test_the_list_filters_searches_and_sorts(client, admin):
    outdoors = make_category("Outdoors")
    tents = make_category("Tents", parent=outdoors)
    kitchen = make_category("Kitchen")
    brand = make_brand("Peak")
    make_product("Alpine Tent", category=tents, brand=brand, price_cents=30000,
                 variants=[{"size": "2P", "stock": 3, "sku": "TENT-2P"}, {"size": "4P", "stock": 20, "sku": "TENT-4P"}])
    make_product("Camp Stove", category=outdoors, stock=0, price_cents=5000)
    make_product("Kettle", category=kitchen, stock=40, price_cents=2000)
    make_product("Old Pan", category=kitchen, stock=40, is_active=False, price_cents=1000)
    db.session.commit()

    assert _filtered_names(client, "") == ["Alpine Tent", "Camp Stove", "Kettle", "Old Pan"]
    assert _filtered_names(client, f"category={outdoors.id}") == ["Alpine Tent", "Camp Stove"]
    assert _filtered_names(client, f"brand={brand.id}") == ["Alpine Tent"]
    assert _filtered_names(client, "status=inactive") == ["Old Pan"]
    assert _filtered_names(client, "stock=low") == ["Alpine Tent", "Camp Stove"]
    assert _filtered_names(client, "stock=out") == ["Camp Stove"]
    assert _filtered_names(client, "q=tent-4") == ["Alpine Tent"]
    assert _filtered_names(client, "q=kett") == ["Kettle"]
    assert _filtered_names(client, "sort=price_asc") == ["Old Pan", "Kettle", "Camp Stove", "Alpine Tent"]
    page = client.get("/admin/products").get_data(as_text=True)
    assert "TENT-2P, TENT-4P" in page and "$300.00" in page and "Peak" in page
    assert "No products match these filters." in client.get("/admin/products?q=nothing").get_data(as_text=True)


def test_the_empty_list_invites_the_first_product(client, admin):
    page = client.get("/admin/products").get_data(as_text=True)
    assert "There are no products yet." in page and 'href="/admin/products/new"' in page


def test_the_list_runs_the_same_queries_for_3_or_30_products(client, admin, count_queries):
    category = make_category("Big")
    brand = make_brand()

    def grow_to(count: int) -> None:
        for number in range(db.session.scalar(sa.select(sa.func.count()).select_from(Product)), count):
            make_product(f"Item {number}", category=category, brand=brand,
                         variants=[{"size": "S", "stock": 2}, {"size": "M"}])
        db.session.commit()

    counts = []
    for count in (3, 30):
        grow_to(count)
        with count_queries() as statements:
            page = client.get("/admin/products?stock=low&sort=price_asc").get_data(as_text=True)
        assert page.count('data-testid="product-row"') == count
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 8


def test_the_list_pages_keep_the_filters(client, admin):
    category = make_category("Big")
    for number in range(55):
        make_product(f"Item {number:02d}", category=category)
    db.session.commit()
    page = client.get(f"/admin/products?category={category.id}&sort=newest").get_data(as_text=True)
    assert f"/admin/products?category={category.id}&amp;sort=newest&amp;page=2" in page
    assert "55 products · page 1 of 2" in page


SHARP_JUNK = ["x" * 100_000, str(2**63), "9" * 4400, "\x00", "²", "💥", "-1", "1e309"]


def test_a_valid_form_with_one_hostile_field_gets_a_page_never_a_server_error(client, admin):
    product = create_jacket(client, make_category("Jackets"))
    forms = [("/admin/products/new", product_form(product.category, name="Another", slug="")),
             (f"/admin/products/{product.id}", product_form(product.category, slug="trail-jacket")),
             (f"/admin/products/{product.id}/variants", variants_form(four_variants())),
             ("/admin/products/bulk", {"action": "activate", "product_ids": str(product.id)})]
    failures = []
    for url, body in forms:
        for name in body:
            for junk in SHARP_JUNK:
                response = client.post(url, data={**body, name: junk})
                if response.status_code >= 500:
                    failures.append(f"{url} {name}={junk[:12]!r} -> {response.status_code}")
    assert not failures, "\n".join(failures)

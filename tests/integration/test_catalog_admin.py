"""The product use cases against the database: options, variants, slugs, status, deletion, the admin list."""
import os

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import (
    AuditRecord,
    Product,
    ProductImage,
    ProductOption,
    ProductOptionValue,
    ProductSlugRedirect,
    ProductSpecification,
    ProductVariant,
    SavedItem,
    StockMovement,
    StockReason,
)
from shop.services import ShopError
from shop.services import catalog_admin as admin_products
from shop.services.catalog_admin import InvalidProduct, ProductFields, ProductFilters, VariantRow
from shop.services.images import rendition_name
from shop.services.rich_text import first_sentence, render_markdown
from tests.factories import make_brand, make_category, make_order, make_product


@pytest.fixture
def category(app):
    made = make_category("Jackets")
    db.session.commit()
    return made


def fields(category, **overrides) -> ProductFields:
    values = {"name": "Trail Jacket", "slug": "", "description": "Light.", "category_id": category.id,
              "brand_id": None, "is_featured": False, "is_active": True,
              "options": [("Size", ["S", "M"]), ("Colour", ["Red", "Blue"])]}
    values.update(overrides)
    return ProductFields(**values)


def rows_for(product_id: int, **by_label) -> list[VariantRow]:
    """Return the editor's rows, each enabled with a SKU and price unless by_label gives something else."""
    grid = admin_products.variant_grid(admin_products.product_for_edit(product_id))
    rows = []
    for row in grid:
        given = by_label.get(row.label, {})
        sku = "JKT-" + row.label.replace(" / ", "-").upper()
        rows.append(VariantRow(values=row.values, enabled=given.get("enabled", True), sku=given.get("sku", sku),
                               price_cents=given.get("price_cents", 5000),
                               compare_at_cents=given.get("compare_at_cents"), image_id=given.get("image_id"),
                               initial_stock=given.get("stock", 0)))
    db.session.commit()
    return rows


def reload(product_id: int) -> Product:
    db.session.commit()
    return admin_products.product_for_edit(product_id)


def test_a_product_gets_its_options_then_its_variants_with_initial_stock_in_the_ledger(boss, category):
    product = admin_products.create_product(boss, fields(category, specifications=[("Material", "Nylon")]))
    rows = rows_for(product.id, **{"S / Red": {"stock": 5, "price_cents": 4900}, "M / Blue": {"enabled": False}})
    summary = admin_products.save_variants(boss, product.id, rows)

    assert "added S / Red (JKT-S-RED) at $49.00 with 5 in stock" in summary
    product = reload(product.id)
    assert [(v.label, v.stock, v.price_cents) for v in product.variants] == [
        ("S / Red", 5, 4900), ("S / Blue", 0, 5000), ("M / Red", 0, 5000)]
    assert [(o.name, [v.value for v in o.values]) for o in product.options] == [
        ("Size", ["S", "M"]), ("Colour", ["Red", "Blue"])]
    movement = db.session.scalars(sa.select(StockMovement)).one()
    assert (movement.delta, movement.reason, movement.note, movement.actor_id) == (
        5, StockReason.RECEIVED, "initial stock", boss.id)
    assert db.session.scalars(sa.select(AuditRecord.action).order_by(AuditRecord.id)).all() == [
        "product.create", "product.variants"]


def test_a_product_without_options_has_one_default_variant(boss, category):
    product = admin_products.create_product(boss, fields(category, options=[]))
    grid = admin_products.variant_grid(reload(product.id))
    assert [(row.label, row.values) for row in grid] == [("Default", ("", "", ""))]
    admin_products.save_variants(boss, product.id, rows_for(product.id))
    assert [v.label for v in reload(product.id).variants] == ["Default"]

    # An option added later leaves the lone variant without a combination: never used, it goes.
    summary = admin_products.update_product(boss, product.id, fields(category, options=[("Size", ["S", "M"])]))
    assert summary == ("Trail Jacket: changed options; variants: deleted Default (JKT-DEFAULT). "
                       "It has no variant on sale: choose its combinations on the variants page.")
    assert reload(product.id).variants == []


def test_refusals_name_their_fields_and_change_nothing(boss, category):
    other = make_product("Rain Coat", variants=[{"sku": "TAKEN"}])
    db.session.commit()
    with pytest.raises(InvalidProduct) as refused:
        admin_products.create_product(boss, fields(category, slug=other.slug, category_id=10**6, brand_id=10**6,
                                                    options=[("Size", ["S", "s"]), ("size", ["A"])]))
    assert set(refused.value.errors) == {"slug", "category", "brand", "option1_values", "option2_name"}

    product = admin_products.create_product(boss, fields(category))
    rows = rows_for(product.id, **{"S / Red": {"sku": "TAKEN"}, "S / Blue": {"compare_at_cents": 5000},
                                   "M / Red": {"sku": "JKT-M-BLUE"}, "M / Blue": {"stock": -1}})
    with pytest.raises(InvalidProduct) as refused:
        admin_products.save_variants(boss, product.id, rows)
    assert refused.value.errors == {
        "variants-0-sku": "This SKU is already used by “Rain Coat” (Default).",
        "variants-1-compare_at": "The compare-at price must be higher than the price, or blank.",
        "variants-3-sku": "Two combinations have this SKU.",
        "variants-3-initial_stock": "Enter a whole number from 0 to 1,000,000.",
    }
    with pytest.raises(ShopError, match="options changed"):
        admin_products.save_variants(boss, product.id, rows[:2])
    assert reload(product.id).variants == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == 1  # the creation only


def test_too_many_combinations_are_refused(boss, category):
    many = [str(n) for n in range(11)]
    with pytest.raises(InvalidProduct) as refused:
        admin_products.create_product(boss, fields(category, options=[("A", many), ("B", many)]))
    assert "121 combinations" in refused.value.errors["option1_values"]


def test_renamed_slugs_keep_redirecting_and_a_taken_old_slug_stops(boss, category):
    product = admin_products.create_product(boss, fields(category))
    for slug in ("trail-jacket-v2", "summit-jacket"):
        admin_products.update_product(boss, product.id, fields(category, slug=slug))
    redirects = dict(db.session.execute(sa.select(ProductSlugRedirect.old_slug, ProductSlugRedirect.product_id)).all())
    assert redirects == {"trail-jacket": product.id, "trail-jacket-v2": product.id}

    admin_products.update_product(boss, product.id, fields(category, slug="trail-jacket"))  # back to the first
    newcomer = admin_products.create_product(boss, fields(category, name="Other", slug="summit-jacket"))
    db.session.commit()
    redirects = dict(db.session.execute(sa.select(ProductSlugRedirect.old_slug, ProductSlugRedirect.product_id)).all())
    assert redirects == {"trail-jacket-v2": product.id}
    assert newcomer.slug == "summit-jacket"

    second = admin_products.create_product(boss, fields(category, name="Trail Jacket"))
    assert second.slug == "trail-jacket-2"  # made from the name, unique


def test_removed_option_values_retire_their_variants_keeping_the_ordered_ones(boss, category):
    product = admin_products.create_product(boss, fields(category))
    admin_products.save_variants(boss, product.id, rows_for(product.id))
    variants = {v.sku: v for v in reload(product.id).variants}
    make_order(variant=variants["JKT-M-BLUE"])
    db.session.commit()

    summary = admin_products.update_product(boss, product.id, fields(category, options=[
        ("Size", ["M", "S"]), ("Colour", ["Red"])]))
    assert "deleted S / Blue (JKT-S-BLUE)" in summary and "deactivated M / Blue (JKT-M-BLUE)" in summary
    product = reload(product.id)
    assert {v.sku: v.is_active for v in product.variants} == {"JKT-S-RED": True, "JKT-M-RED": True,
                                                              "JKT-M-BLUE": False}
    assert [row.label for row in admin_products.variant_grid(product)] == ["M / Red", "S / Red"]
    assert [v.sku for v in admin_products.retired_variants(product)] == ["JKT-M-BLUE"]
    assert db.session.scalars(sa.select(ProductOptionValue.value).join(ProductOption)
                              .order_by(ProductOption.position, ProductOptionValue.position)).all() == ["M", "S", "Red"]

    # Blue comes back: the ordered variant is offered again in its row, not duplicated.
    admin_products.update_product(boss, product.id, fields(category, options=[("Size", ["M", "S"]),
                                                                               ("Colour", ["Red", "Blue"])]))
    grid = admin_products.variant_grid(reload(product.id))
    assert [(row.label, row.variant.sku if row.variant else None, row.enabled) for row in grid] == [
        ("M / Red", "JKT-M-RED", True), ("M / Blue", "JKT-M-BLUE", False), ("S / Red", "JKT-S-RED", True),
        ("S / Blue", None, False)]


def test_bulk_status_changes_report_only_what_changed(boss, category):
    first, second = make_product("Alpha"), make_product("Beta", is_active=False)
    db.session.commit()
    assert admin_products.set_products_active(boss, [first.id, second.id], False) == ["Alpha"]
    assert admin_products.set_products_active(boss, [first.id, second.id], True) == ["Alpha", "Beta"]
    assert db.session.scalars(sa.select(AuditRecord.changes).order_by(AuditRecord.id)).all() == [
        {"is_active": [True, False]}, {"is_active": [False, True]}, {"is_active": [False, True]}]


def test_deleting_removes_every_row_and_file_unless_the_product_was_ordered(app, boss, category):
    kept = make_product("Ordered", images=0)
    make_order(variant=kept.variants[0])
    gone = make_product("Unsold", images=0)
    image = ProductImage(product_id=gone.id, filename="x.jpg", key="unsold-key")
    db.session.add_all([image, ProductSlugRedirect(old_slug="unsold-old", product_id=gone.id),
                        ProductSpecification(product_id=gone.id, name="A", value="B"),
                        SavedItem(user_id=boss.id, variant_id=gone.variants[0].id, quantity=1),
                        StockMovement(variant_id=gone.variants[0].id, delta=3, reason=StockReason.RECEIVED)])
    db.session.commit()
    os.makedirs(app.config["MEDIA_PATH"], exist_ok=True)
    path = os.path.join(app.config["MEDIA_PATH"], rendition_name("unsold-key", "card", "webp"))
    open(path, "wb").close()

    assert admin_products.delete_product(boss, kept.id).deleted is False
    assert admin_products.delete_product(boss, gone.id).deleted is True
    db.session.commit()
    assert db.session.scalars(sa.select(Product.name)).all() == ["Ordered"]
    assert not db.session.get(Product, kept.id).is_active
    for model in (ProductSlugRedirect, ProductSpecification, SavedItem, StockMovement, ProductImage):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0, model
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProductVariant)) == 1
    assert not os.path.exists(path)


def _names(filters: ProductFilters) -> list[str]:
    return [row.product.name for row in admin_products.list_products(filters, 1, 50).items]


def test_the_list_filters_on_both_databases(app, boss):
    outdoors = make_category("Outdoors")
    tents = make_category("Tents", parent=outdoors)
    brand = make_brand("Peak")
    make_product("Alpine Tent", category=tents, brand=brand,
                 variants=[{"size": "2P", "stock": 3, "sku": "TENT_2P", "price_cents": 30000},
                           {"size": "4P", "stock": 20, "sku": "TENT-4P", "price_cents": 45000}])
    stove = make_product("Camp Stove", category=outdoors, stock=0, price_cents=5000)
    make_product("100% Wool", category=make_category("Clothes"), stock=40, price_cents=2000)
    empty = make_product("No Variants Yet", category=outdoors)
    for variant in list(empty.variants):
        db.session.delete(variant)
    db.session.commit()

    assert _names(ProductFilters(category_id=outdoors.id)) == ["Alpine Tent", "Camp Stove", "No Variants Yet"]
    assert _names(ProductFilters(brand_id=brand.id)) == ["Alpine Tent"]
    assert _names(ProductFilters(term="tent_")) == ["Alpine Tent"]  # the underscore is no wildcard
    assert _names(ProductFilters(term="100%")) == ["100% Wool"]
    assert _names(ProductFilters(stock="low")) == ["Alpine Tent", "Camp Stove"]
    assert _names(ProductFilters(stock="out")) == ["Camp Stove", "No Variants Yet"]
    assert _names(ProductFilters(sort="price_desc")) == ["Alpine Tent", "Camp Stove", "100% Wool", "No Variants Yet"]
    assert _names(ProductFilters(sort="stock"))[:2] == ["Camp Stove", "No Variants Yet"]
    admin_products.set_products_active(boss, [stove.id], False)
    assert _names(ProductFilters(status="inactive")) == ["Camp Stove"]
    row = admin_products.list_products(ProductFilters(term="alpine"), 1, 50).items[0]
    assert (row.skus, row.min_price_cents, row.max_price_cents, row.total_stock, row.low_stock) == (
        ["TENT_2P", "TENT-4P"], 30000, 45000, 23, True)


def test_descriptions_render_safe_markdown():
    html = render_markdown("Hi *there* <b onclick='x()'>raw</b> [x](javascript:alert(1)) [y](https://e.example)")
    assert "<em>there</em>" in html and "&lt;b onclick" in html
    assert 'href="javascript' not in html and '<a href="https://e.example" rel="nofollow noopener">y</a>' in html
    assert first_sentence("**Warm** wool. Second.") == "Warm wool."
    assert len(first_sentence("word " * 100)) <= 160


def test_a_sku_taken_between_the_check_and_the_commit_is_a_message_not_an_error(boss, category, monkeypatch):
    make_product("Rain Coat", variants=[{"sku": "TAKEN"}])
    product = admin_products.create_product(boss, fields(category, options=[]))
    rows = rows_for(product.id, Default={"sku": "TAKEN"})
    # As if another admin committed the SKU just after this save checked it.
    monkeypatch.setattr(admin_products, "_check_variant_rows", lambda *args: None)
    with pytest.raises(ShopError, match="Another change was saved at the same moment"):
        admin_products.save_variants(boss, product.id, rows)
    assert reload(product.id).variants == []

"""Every way the catalogue changes is searchable at once: the search rows are rebuilt in the same transaction."""
import pytest
import sqlalchemy as sa

from shop.database import write_transaction
from shop.extensions import db
from shop.models import Product, ProductFacetValue, ProductSearch, Review, SearchWord
from shop.models.search import FTS_TABLE
from shop.services import catalog_admin, search_index, search_text, taxonomy
from shop.services.catalog_admin import ProductFields, VariantRow
from shop.services.catalog_csv import apply_import
from shop.services.demo import seed_demo
from shop.services.taxonomy import BrandFields, CategoryFields
from tests.factories import csv_file, csv_row, make_brand, make_category, make_order, make_product, make_user


def listed(term: str) -> list[str]:
    """Return the names a shopper's search lists: matching products that are active with a variant on sale."""
    db.session.commit()  # a fresh snapshot: SQLite's open read transaction would show the past
    matches = search_text.matching(term)
    if matches is None:
        return []
    return sorted(db.session.scalars(
        sa.select(Product.name).join(matches, matches.c.product_id == Product.id)
        .join(ProductSearch, ProductSearch.product_id == Product.id)
        .where(Product.is_active == sa.true(), ProductSearch.min_price_cents.is_not(None))))


def search_row(product_id: int) -> ProductSearch | None:
    db.session.commit()
    return db.session.get(ProductSearch, product_id, populate_existing=True)


def committed_rating(product_id: int) -> tuple[int, int]:
    """Return the search row's rating figures as committed, read apart from the session (whose commit would index)."""
    with db.engine.connect() as connection:
        row = connection.execute(sa.select(ProductSearch.rating_count, ProductSearch.rating_total)
                                 .where(ProductSearch.product_id == product_id)).one()
    return row.rating_count, row.rating_total


def facets(product_id: int) -> set[tuple[str, str]]:
    db.session.commit()
    return {(row.facet, row.value) for row in db.session.scalars(
        sa.select(ProductFacetValue).where(ProductFacetValue.product_id == product_id))}


def fts_rowids() -> set[int]:
    """Return the products in SQLite's FTS5 table (Postgres keeps the text in product_search itself)."""
    if db.engine.dialect.name != "sqlite":
        return set(db.session.scalars(sa.select(ProductSearch.product_id)))
    return set(db.session.scalars(sa.text(f"SELECT rowid FROM {FTS_TABLE}")))


@pytest.fixture
def jackets(app):
    outdoor = make_category("Outdoor")
    made = make_category("Jackets", parent=outdoor)
    db.session.commit()
    return made


def fields(category, **overrides) -> ProductFields:
    values = {"name": "Trail Jacket", "slug": "", "description": "Sheds a downpour.", "category_id": category.id,
              "brand_id": None, "is_featured": False, "is_active": True,
              "specifications": [("Material", "Ripstop nylon")],
              "options": [("Size", ["S", "M"]), ("Colour", ["Red", "Blue"])]}
    values.update(overrides)
    return ProductFields(**values)


def rows(product_id: int, **by_label: dict) -> list[VariantRow]:
    """Return the variants editor's rows, each enabled with a SKU and a price unless by_label says otherwise."""
    grid = catalog_admin.variant_grid(catalog_admin.product_for_edit(product_id))
    made = []
    for row in grid:
        given = by_label.get(row.label, {})
        made.append(VariantRow(values=row.values, enabled=given.get("enabled", True),
                               sku=given.get("sku", "TJ-" + row.label.replace(" / ", "-").upper()),
                               price_cents=given.get("price_cents", 5000), initial_stock=3))
    db.session.commit()
    return made


def created_jacket(boss, jackets, **overrides) -> int:
    product = catalog_admin.create_product(boss, fields(jackets, **overrides))
    catalog_admin.save_variants(boss, product.id, rows(product.id))
    return product.id


def test_a_created_product_is_listed_once_a_variant_is_on_sale(boss, jackets):
    brand = make_brand("Fieldcraft")
    db.session.commit()
    product = catalog_admin.create_product(boss, fields(jackets, brand_id=brand.id))
    assert listed("trail") == []  # no variant yet: nothing to sell
    assert search_row(product.id).min_price_cents is None

    catalog_admin.save_variants(boss, product.id, rows(product.id, **{"S / Red": {"price_cents": 4500}}))
    for term in ["trail jacket", "trai", "jackets", "outdoor", "fieldcraft", "ripstop", "nylon", "downpour",
                 "blue", "TJ-M-BLUE", "tj-s-red"]:
        assert listed(term) == ["Trail Jacket"], term
    assert search_row(product.id).min_price_cents == 4500
    assert facets(product.id) == {("Size", "S"), ("Size", "M"), ("Colour", "Red"), ("Colour", "Blue")}
    assert {"trail", "jacket", "fieldcraft", "jackets", "outdoor", "red"} <= set(db.session.scalars(
        sa.select(SearchWord.word)))


def test_edits_of_name_description_brand_and_category_are_searchable_at_once(boss, jackets):
    product_id = created_jacket(boss, jackets)
    brand = make_brand("Tidewater")
    coats = make_category("Coats")
    db.session.commit()
    catalog_admin.update_product(boss, product_id, fields(
        coats, name="Storm Parka", description="Keeps out the sleet.", brand_id=brand.id))

    assert listed("trail") == [] and listed("downpour") == [] and listed("jackets") == []
    for term in ["storm parka", "sleet", "tidewater", "coats"]:
        assert listed(term) == ["Storm Parka"], term


def test_deactivated_products_leave_the_results_and_come_back(boss, jackets):
    product_id = created_jacket(boss, jackets)
    catalog_admin.set_products_active(boss, [product_id], False)
    assert listed("trail") == []
    catalog_admin.set_products_active(boss, [product_id], True)
    assert listed("trail") == ["Trail Jacket"]


def test_a_deleted_product_leaves_no_search_rows(boss, jackets):
    product_id = created_jacket(boss, jackets)
    kept = make_product("Rain Shell")
    db.session.commit()
    assert product_id in fts_rowids()

    catalog_admin.delete_product(boss, product_id)
    assert listed("trail") == []
    assert search_row(product_id) is None and facets(product_id) == set()
    assert fts_rowids() == {kept.id}
    assert search_text.matching("trail") is not None
    assert db.session.execute(sa.select(search_text.matching("trail"))).all() == []


def test_an_ordered_product_asked_to_be_deleted_is_deactivated_and_unlisted(boss, jackets):
    product_id = created_jacket(boss, jackets)
    make_order(variant=catalog_admin.product_for_edit(product_id).variants[0])
    db.session.commit()
    catalog_admin.delete_product(boss, product_id)
    assert listed("trail") == []


def test_variant_changes_reach_skus_facets_and_prices(boss, jackets):
    product_id = created_jacket(boss, jackets)
    catalog_admin.save_variants(boss, product_id, rows(product_id, **{"S / Red": {"sku": "TJ-CRANBERRY"}}))
    assert listed("TJ-CRANBERRY") == ["Trail Jacket"]
    catalog_admin.save_variants(boss, product_id, rows(product_id, **{
        "S / Red": {"sku": "TJ-SCARLET", "price_cents": 3900}, "M / Blue": {"enabled": False},
        "S / Blue": {"enabled": False}}))

    assert listed("TJ-SCARLET") == ["Trail Jacket"] and listed("TJ-CRANBERRY") == []
    assert listed("TJ-M-BLUE") == []  # kept for its stock history, but no longer on sale
    assert facets(product_id) == {("Size", "S"), ("Size", "M"), ("Colour", "Red")}
    assert search_row(product_id).min_price_cents == 3900

    catalog_admin.save_variants(boss, product_id, rows(product_id, **{
        label: {"enabled": False} for label in ["S / Red", "S / Blue", "M / Red", "M / Blue"]}
        | {"M / Red": {"price_cents": 6100}}))
    assert facets(product_id) == {("Size", "M"), ("Colour", "Red")}
    assert search_row(product_id).min_price_cents == 6100


def test_renamed_options_and_values_and_changed_specifications_are_searchable(boss, jackets):
    product_id = created_jacket(boss, jackets)
    catalog_admin.update_product(boss, product_id, fields(
        jackets, options=[("Size", ["S", "M"]), ("Shade", ["Crimson", "Blue"])],
        specifications=[("Material", "Waxed cotton"), ("Fit", "Relaxed")]))
    catalog_admin.save_variants(boss, product_id, rows(product_id))

    assert listed("crimson") == ["Trail Jacket"] and listed("shade") == ["Trail Jacket"]
    assert listed("waxed cotton") == ["Trail Jacket"] and listed("relaxed") == ["Trail Jacket"]
    assert listed("ripstop") == [] and listed("red") == []
    assert ("Shade", "Crimson") in facets(product_id) and ("Colour", "Red") not in facets(product_id)


def test_a_renamed_category_finds_every_product_below_it(boss, jackets):
    created_jacket(boss, jackets)
    outdoor = jackets.parent
    make_product("Camp Stove", category=make_category("Stoves", parent=outdoor))
    make_product("Chef Knife", category=make_category("Kitchen"))
    db.session.commit()
    taxonomy.update_category(boss, outdoor.id, CategoryFields(name="Wilderness", slug=outdoor.slug, parent_id=None))

    assert listed("wilderness") == ["Camp Stove", "Trail Jacket"]
    assert listed("outdoor") == []
    taxonomy.update_category(boss, jackets.id, CategoryFields(name="Shells", slug=jackets.slug, parent_id=None))
    assert listed("wilderness") == ["Camp Stove"] and listed("shells") == ["Trail Jacket"]


def test_a_renamed_or_deleted_brand_changes_what_its_products_are_found_by(boss, jackets):
    brand = make_brand("Fieldcraft")
    db.session.commit()
    created_jacket(boss, jackets, brand_id=brand.id)
    taxonomy.update_brand(boss, brand.id, BrandFields(name="Moorland", slug=brand.slug))
    assert listed("moorland") == ["Trail Jacket"] and listed("fieldcraft") == []

    taxonomy.delete_brand(boss, brand.id)
    assert listed("moorland") == [] and listed("trail") == ["Trail Jacket"]


def test_a_csv_import_is_searchable_at_once(app, boss):
    apply_import(csv_file([csv_row(), csv_row(sku="TEE-M", option1_value="M")]), boss)
    assert listed("tee") == ["Tee"] and listed("northwind") == ["Tee"] and listed("tops") == ["Tee"]
    assert listed("TEE-M") == ["Tee"]

    apply_import(csv_file([csv_row(product_name="Pocket Tee", brand="Oakline", category_path="Clothing > Basics",
                                   option1_value="XL")]), boss)
    assert listed("pocket") == ["Pocket Tee"] and listed("oakline") == ["Pocket Tee"]
    assert listed("basics") == ["Pocket Tee"] and listed("northwind") == []


def test_the_demo_catalogue_is_searchable_at_once(app):
    seed_demo(3)
    db.session.commit()
    names = set(db.session.scalars(sa.select(Product.name)))
    assert len(names) >= 2
    for name in names:
        assert name in listed(name), name
    assert fts_rowids() == set(db.session.scalars(sa.select(Product.id)))


def test_reindex_rebuilds_a_lost_index(app, runner):
    product = make_product("Merino Sweater", variants=[{"colour": "Navy"}])
    db.session.commit()
    with write_transaction():
        if db.engine.dialect.name == "sqlite":
            db.session.execute(sa.text(f"DELETE FROM {FTS_TABLE}"))
        db.session.execute(sa.delete(ProductFacetValue))
        db.session.execute(sa.delete(ProductSearch))
        db.session.execute(sa.delete(SearchWord))
    assert listed("merino") == []

    result = runner.invoke(args=["shop", "reindex"])
    assert result.exit_code == 0, result.output
    assert "1 products" in result.output
    assert listed("merino") == ["Merino Sweater"] and listed("navy") == ["Merino Sweater"]
    assert facets(product.id) == {("Colour", "Navy")}
    assert search_text.suggestion("merrino") == "merino"


def test_reviews_count_only_while_visible(app):
    product = make_product("Merino Sweater")
    shoppers = [make_user(), make_user()]
    reviews = [Review(product_id=product.id, user_id=user.id, rating=rating, title="Warm", author_name=user.name)
               for user, rating in zip(shoppers, [5, 2], strict=True)]
    db.session.add_all(reviews)
    db.session.commit()  # nothing flushed before: the commit's own flush must mark the product
    assert committed_rating(product.id) == (2, 7)

    reviews[1].is_hidden = True
    db.session.commit()
    assert committed_rating(product.id) == (1, 5)


def test_a_rolled_back_change_leaves_the_index_as_it_was(boss, jackets):
    product_id = created_jacket(boss, jackets)
    with pytest.raises(RuntimeError), write_transaction():
        catalog_admin.product_for_edit(product_id).name = "Storm Parka"
        db.session.flush()
        raise RuntimeError("the admin's request failed half way")
    assert listed("storm") == [] and listed("trail") == ["Trail Jacket"]
    assert search_row(product_id).name == "Trail Jacket"


def test_the_catalogue_change_is_undone_when_its_index_cannot_be_written(boss, jackets, monkeypatch):
    product_id = created_jacket(boss, jackets)

    def broken(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(search_index, "_refresh_batch", broken)
    with pytest.raises(RuntimeError):
        catalog_admin.update_product(boss, product_id, fields(jackets, name="Storm Parka"))
    monkeypatch.undo()
    assert catalog_admin.product_for_edit(product_id).name == "Trail Jacket"
    assert listed("trail") == ["Trail Jacket"] and listed("storm") == []


def test_a_savepoint_rolled_back_keeps_the_earlier_changes_to_index(app):
    product = make_product("Trail Jacket")
    db.session.commit()
    with write_transaction():
        product.name = "Storm Parka"
        db.session.flush()
        savepoint = db.session.begin_nested()
        make_product("Never Sold")
        savepoint.rollback()
    assert listed("storm") == ["Storm Parka"] and listed("never") == []

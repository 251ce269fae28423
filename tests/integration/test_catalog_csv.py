"""The catalogue CSV service: parsing and checking every row, planning, applying all or nothing, the round trip."""
import csv
import io

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import (
    AuditRecord,
    Brand,
    Category,
    Product,
    ProductOption,
    ProductOptionValue,
    ProductVariant,
    StockMovement,
    StockReason,
)
from shop.services.catalog_csv import (
    COLUMNS,
    ImportRefused,
    apply_import,
    escape_cell,
    export_chunks,
    parse_csv,
    preview_import,
    unescape_cell,
)
from tests.factories import csv_file, csv_row, make_brand, make_category, make_product, stock


def _export() -> bytes:
    return "".join(export_chunks()).encode("utf-8")


def _table_rows(model) -> int:
    db.session.commit()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _variant(sku: str) -> ProductVariant:
    db.session.commit()
    return db.session.scalar(sa.select(ProductVariant).where(ProductVariant.sku == sku)
                             .execution_options(populate_existing=True))


def _problems(data: bytes) -> set[tuple[int, str]]:
    return {(problem.line, problem.column) for problem in preview_import(data).problems}


def test_escaping_keeps_formulas_out_of_spreadsheets_and_round_trips():
    for value in ("=SUM(A1)", "+1", "-5 off", "@cmd", "'=x", "''", "'Tis", "'", "plain", "", "\tx"):
        escaped = escape_cell(value)
        assert not escaped.startswith(("=", "+", "-", "@", "\t"))
        assert unescape_cell(escaped) == value
    assert escape_cell("=SUM(A1)") == "'=SUM(A1)"
    assert unescape_cell("'Tis") == "'Tis"


class TestParsing:
    def test_each_bad_cell_is_reported_with_its_line_and_column(self, app):
        data = csv_file([
            csv_row(sku="A-1"),
            csv_row(sku="A-2", option1_value="L", price="12.345"),
            csv_row(sku="A-3", option1_value="XL", stock="-2", is_active="maybe"),
            csv_row(sku="A-1", option1_value="XS", product_name=""),
            csv_row(sku="B-1", product_slug="Not A Slug", product_name="B", option1_value="S", stock="many"),
            csv_row(sku="C-1", product_slug="c", product_name="C\x07", option1_value="S"),
        ])
        parsed = parse_csv(data, "usd")
        found = {(problem.line, problem.column) for problem in parsed.problems}
        assert found == {(3, "price"), (4, "stock"), (4, "is_active"), (5, "sku"), (5, "product_name"),
                         (6, "product_slug"), (6, "stock"), (7, "product_name")}
        messages = {(problem.line, problem.column): problem.message for problem in parsed.problems}
        assert "at most 2 decimal places" in messages[(3, "price")]
        assert messages[(4, "stock")] == "Stock cannot be negative."
        assert messages[(5, "sku")] == "SKU A-1 is also on line 2."
        assert "control characters" in messages[(7, "product_name")]

    def test_unknown_and_missing_columns_are_named(self, app):
        text = "sku,product_name,colour,Weight\nA,B,red,1\n"
        problems = [problem.message for problem in parse_csv(text.encode(), "usd").problems]
        assert any("Unknown columns: 'colour', 'weight'" in message for message in problems)
        assert any(message.startswith("Missing columns: product_slug, description") for message in problems)

    def test_product_columns_must_agree_across_the_products_rows(self, app):
        data = csv_file([csv_row(sku="A-1"), csv_row(sku="A-2", option1_value="L", category_path="Other"),
                         csv_row(sku="A-3", option1_value="XL", option1_name="Colour")])
        problems = {(problem.line, problem.column): problem.message for problem in parse_csv(data, "usd").problems}
        assert set(problems) == {(3, "category_path"), (4, "option1_name")}
        assert problems[(3, "category_path")].startswith("Differs from line 2")

    def test_excel_semicolon_files_with_a_byte_order_mark_and_decimal_commas_are_read(self, app):
        data = csv_file([csv_row(price="1.234,50", compare_at_price="1500")], delimiter=";", bom=True)
        parsed = parse_csv(data, "usd")
        assert parsed.problems == []
        assert (parsed.rows[0].price_cents, parsed.rows[0].compare_at_cents) == (123450, 150000)

    def test_other_encodings_are_refused_with_a_clear_message(self, app):
        text = csv_file([csv_row(product_name="Crème")]).decode("utf-8")
        for data in (text.encode("latin-1"), text.encode("utf-16")):
            problems = parse_csv(data, "usd").problems
            assert len(problems) == 1 and "CSV UTF-8" in problems[0].message
        assert parse_csv(b"", "usd").problems[0].message == "The file is empty."

    def test_a_compare_at_price_must_be_above_the_price(self, app):
        data = csv_file([csv_row(price="20.00", compare_at_price="20.00"), csv_row(sku="TEE-M", option1_value="M",
                                                                                    compare_at_price="25")])
        assert {(problem.line, problem.column) for problem in parse_csv(data, "usd").problems} == {
            (2, "compare_at_price")}

    def test_a_zero_decimal_currency_takes_whole_amounts(self, app):
        assert parse_csv(csv_file([csv_row(price="1250")]), "jpy").rows[0].price_cents == 1250
        assert parse_csv(csv_file([csv_row(price="12.50")]), "jpy").problems[0].column == "price"


class TestApply:
    def test_a_new_product_is_created_with_its_category_brand_options_and_stock(self, app, boss):
        data = csv_file([
            csv_row(sku="TEE-S-RED", option1_value="S", option2_name="Colour", option2_value="Red", stock="3"),
            csv_row(sku="TEE-M-BLUE", option1_value="M", option2_name="Colour", option2_value="Blue", stock="0",
                    price="21.00", compare_at_price="25.00"),
            csv_row(sku="TEE-S-BLUE", option1_value="S", option2_name="Colour", option2_value="Blue", stock="7"),
        ])
        plan = apply_import(data, boss)
        assert (plan.products_created, plan.variants_created) == (1, 3)
        assert plan.categories_created == ["Clothing > Tops"] and plan.brands_created == ["Northwind"]

        product = db.session.scalar(sa.select(Product).where(Product.slug == "tee"))
        assert product.name == "Tee" and product.brand.name == "Northwind"
        assert product.category.name == "Tops" and product.category.parent.name == "Clothing"
        assert [option.name for option in product.options] == ["Size", "Colour"]
        assert [[value.value for value in option.values] for option in product.options] == [["S", "M"],
                                                                                            ["Red", "Blue"]]
        assert [variant.sku for variant in product.variants] == ["TEE-S-RED", "TEE-M-BLUE", "TEE-S-BLUE"]
        blue = _variant("TEE-M-BLUE")
        assert (blue.price_cents, blue.compare_at_cents, blue.option1, blue.option2) == (2100, 2500, "M", "Blue")
        movements = db.session.scalars(sa.select(StockMovement).order_by(StockMovement.id)).all()
        assert [(movement.delta, movement.reason, movement.actor_id) for movement in movements] == [
            (3, StockReason.IMPORT, boss.id), (7, StockReason.IMPORT, boss.id)]
        actions = db.session.scalars(sa.select(AuditRecord.action).order_by(AuditRecord.id)).all()
        assert sorted(actions) == ["catalogue.import", "product.create"]

    def test_an_update_changes_price_and_stock_and_records_both(self, app, boss):
        product = make_product("Tent", category=make_category("Camping"), stock=5, price_cents=1999,
                               variants=[{"size": "2P"}, {"size": "4P"}])
        db.session.commit()
        data = _export().replace(b"19.99,,5,yes", b"24.50,,2,yes", 1)
        plan = apply_import(data, boss)
        assert (plan.products_unchanged, plan.variants_updated, plan.variants_unchanged) == (1, 1, 1)
        first, second = product.variants[0].sku, product.variants[1].sku
        assert (_variant(first).price_cents, stock(_variant(first))) == (2450, 2)
        assert _variant(second).price_cents == 1999
        movement = db.session.scalar(sa.select(StockMovement))
        assert (movement.delta, movement.reason, movement.actor_id) == (-3, StockReason.IMPORT, boss.id)
        record = db.session.scalar(sa.select(AuditRecord).where(AuditRecord.action == "product.update"))
        assert record.changes[f"{first} price_cents"] == [1999, 2450]
        assert record.changes[f"{first} stock"] == [5, 2]
        summary = db.session.scalar(sa.select(AuditRecord).where(AuditRecord.action == "catalogue.import"))
        assert summary.changes["variants_updated"] == 1 and summary.actor_email == "boss@example.com"

    def test_one_bad_row_changes_nothing(self, app, boss):
        make_product("Tent", stock=5, price_cents=1999)
        db.session.commit()
        good = _export().replace(b"19.99", b"29.99")
        bad = good + csv_file([csv_row(sku="NEW-1", price="lots", image_files="")], header=False)
        before = {model: _table_rows(model) for model in (Product, ProductVariant, Category, Brand, StockMovement,
                                                          AuditRecord, ProductOption)}
        with pytest.raises(ImportRefused) as refused:
            apply_import(bad, boss)
        assert [(problem.line, problem.column) for problem in refused.value.plan.problems] == [(3, "price")]
        assert {model: _table_rows(model) for model in before} == before
        assert db.session.scalar(sa.select(ProductVariant.price_cents)) == 1999

    def test_a_row_that_became_wrong_after_the_preview_changes_nothing(self, app, boss):
        data = csv_file([csv_row(sku="TAKEN")])
        assert preview_import(data).problems == []
        make_product("Other", variants=[{"sku": "TAKEN"}])
        db.session.commit()
        with pytest.raises(ImportRefused) as refused:
            apply_import(data, boss)
        assert refused.value.plan.problems[0].column == "sku"
        assert "belongs to product other-" in refused.value.plan.problems[0].message
        assert _table_rows(Product) == 1

    def test_a_product_keeps_its_number_of_options_and_each_combination_once(self, app, boss):
        make_product("Tee", variants=[{"size": "S", "colour": "Red", "sku": "T-1"}])
        db.session.commit()
        slug = db.session.scalar(sa.select(Product.slug))
        one_option = csv_file([csv_row(sku="T-1", product_slug=slug, option1_value="S")])
        assert _problems(one_option) == {(2, "option1_name")}
        twin = csv_file([csv_row(sku="T-2", product_slug=slug, option1_value="S", option2_name="Colour",
                                 option2_value="Red")])
        assert _problems(twin) == {(2, "option1_value")}

    def test_option_values_follow_the_product_pages_rules(self, app, boss):
        make_product("Tee", variants=[{"size": "M", "sku": "T-M"}])
        db.session.commit()
        slug = db.session.scalar(sa.select(Product.slug))
        respelt = csv_file([csv_row(sku="T-m", product_slug=slug, option1_value="m")])
        assert {(problem.line, problem.column, problem.message) for problem in preview_import(respelt).problems} == {
            (2, "option1_value", "Size already has the value M; spell it the same way.")}
        many = csv_file([csv_row(sku=f"N-{size}-{colour}", option1_value=str(size), option2_name="Colour",
                                 option2_value=f"C{colour}") for size in range(11) for colour in range(10)])
        assert [problem.message for problem in preview_import(many).problems] == [
            "The options of product tee make 110 combinations; a product can have at most 100."]
        comma = csv_file([csv_row(sku="W-1", option1_value="Small, narrow")])
        assert [problem.message for problem in preview_import(comma).problems] == [
            "An option value cannot hold a comma."]

    def test_new_values_extend_an_option_in_the_files_order(self, app, boss):
        product = make_product("Tee", variants=[{"size": "M"}])
        db.session.commit()
        rows = [csv_row(sku=f"T-{size}", product_slug=product.slug, product_name="Tee", option1_value=size,
                        description="About Tee.", category_path=product.category.name, brand="")
                for size in ("XL", "S")]
        apply_import(csv_file(rows), boss)
        values = db.session.scalars(sa.select(ProductOptionValue.value).order_by(ProductOptionValue.position)).all()
        assert values == ["M", "XL", "S"]


def test_an_unchanged_export_imports_as_a_no_op(app, boss):
    clothing = make_category("Clothing")
    tops = make_category("Tops", parent=clothing)
    product = make_product("=HYPERLINK(\"x\")", category=tops, brand=make_brand("Lumen & Co"), compare_at_cents=2500,
                           variants=[{"size": "S", "colour": "Red"}, {"size": "M", "colour": "Blue", "stock": 0},
                                     {"size": "L", "colour": "Red", "is_active": False}])
    product.slug = "hyperlink-tee"
    product.description = "- one\n- two, \"quoted\"\r\n\nLast line; ünïcode"
    product.seo_title = "@home"
    make_product("Mug", images=3)
    db.session.commit()
    before = {table.name: db.session.execute(sa.select(table)).all() for table in db.metadata.sorted_tables}

    data = _export()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == 4 and list(rows[0]) == list(COLUMNS)
    assert rows[0]["product_name"] == "'=HYPERLINK(\"x\")" and rows[0]["category_path"] == "Clothing > Tops"
    plan = apply_import(data, boss)
    assert (plan.products_created, plan.products_updated, plan.products_unchanged) == (0, 0, 2)
    assert (plan.variants_created, plan.variants_updated, plan.variants_unchanged) == (0, 0, 4)
    db.session.commit()
    after = {table.name: db.session.execute(sa.select(table)).all() for table in db.metadata.sorted_tables}
    assert after == before

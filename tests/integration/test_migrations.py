"""The committed migrations build the same schema as the models."""
import os

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from shop import ROOT, create_app
from shop.extensions import db
from shop.models.search import include_in_schema_comparison
from tests.conftest import POSTGRES_URL


def _fresh_database_url(tmp_path) -> str:
    if not POSTGRES_URL:
        return "sqlite:///" + str(tmp_path / "migrated.db")
    # A schema of its own keeps the upgrade away from the tables the other tests use.
    from shop.config import database_uri

    url = database_uri(POSTGRES_URL, "")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA IF EXISTS migration_check CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA migration_check")
        # Made here, in public, as the other tests' schema has it: made by the migration with
        # migration_check first on the path, it would live in that schema and go when it is dropped.
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    engine.dispose()
    # public stays on the path for pg_trgm's operators: the extension lives there, once per database.
    return url + ("&" if "?" in url else "?") + "options=-csearch_path%3Dmigration_check,public"


def test_upgrade_from_empty_matches_the_models(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": _fresh_database_url(tmp_path), "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(directory=os.path.join(ROOT, "migrations"))
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": include_in_schema_comparison})
            differences = compare_metadata(context, db.metadata)
            tables = set(sa.inspect(connection).get_table_names())
        db.engine.dispose()
    assert differences == []
    assert {"users", "products", "product_variants", "orders", "order_items", "alembic_version"} <= tables


def test_sizes_and_colours_become_named_options_keeping_every_variant(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": _fresh_database_url(tmp_path), "SECRET_KEY": "x"})
    directory = os.path.join(ROOT, "migrations")
    with app.app_context():
        upgrade(directory=directory, revision="7b2f4c9e1a30")
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO categories (id, name, slug, description, position) VALUES (1, 'Tops', 'tops', '', 0)")
            connection.exec_driver_sql(
                "INSERT INTO products (id, slug, name, description, category_id, is_active, is_featured, created_at,"
                " updated_at) VALUES (1, 'tee', 'Tee', '', 1, true, false, '2026-01-01', '2026-01-01'),"
                " (2, 'mug', 'Mug', '', 1, true, false, '2026-01-01', '2026-01-01'),"
                " (3, 'lamp', 'Lamp', '', 1, true, false, '2026-01-01', '2026-01-01')")
            connection.exec_driver_sql(
                "INSERT INTO product_variants (id, product_id, sku, size, colour, price_cents, stock, position) VALUES"
                " (10, 1, 'TEE-M-BLUE', 'M', 'Blue', 1900, 3, 0), (11, 1, 'TEE-S-RED', 'S', 'Red', 1900, 2, 1),"
                " (12, 1, 'TEE-M-RED', 'M', 'Red', 2100, 0, 2), (20, 2, 'MUG', '', '', 900, 9, 0),"
                " (30, 3, 'LAMP-BRASS', '', 'Brass', 4900, 1, 0)")
        upgrade(directory=directory)
        with db.engine.connect() as connection:
            options = connection.exec_driver_sql(
                "SELECT o.product_id, o.position, o.name, v.value FROM product_options o"
                " JOIN product_option_values v ON v.option_id = o.id ORDER BY o.product_id, o.position, v.position"
            ).all()
            variants = connection.exec_driver_sql(
                "SELECT id, sku, option1, option2, option3, is_active FROM product_variants ORDER BY id").all()
        db.engine.dispose()
    assert [tuple(row) for row in options] == [
        (1, 0, "Size", "M"), (1, 0, "Size", "S"), (1, 1, "Colour", "Blue"), (1, 1, "Colour", "Red"),
        (3, 0, "Colour", "Brass"),
    ]
    assert [tuple(row) for row in variants] == [
        (10, "TEE-M-BLUE", "M", "Blue", "", True), (11, "TEE-S-RED", "S", "Red", "", True),
        (12, "TEE-M-RED", "M", "Red", "", True), (20, "MUG", "", "", "", True),
        (30, "LAMP-BRASS", "Brass", "", "", True),
    ]

"""The committed migrations build the same schema as the models."""
import os

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from shop import ROOT, create_app
from shop.extensions import db
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
    engine.dispose()
    return url + ("&" if "?" in url else "?") + "options=-csearch_path%3Dmigration_check"


def test_upgrade_from_empty_matches_the_models(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": _fresh_database_url(tmp_path), "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(directory=os.path.join(ROOT, "migrations"))
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
            tables = set(sa.inspect(connection).get_table_names())
        db.engine.dispose()
    assert differences == []
    assert {"users", "products", "product_variants", "orders", "order_items", "alembic_version"} <= tables

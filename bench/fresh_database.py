"""The app every benchmark measures: a throwaway instance folder and an empty database."""
import os
import sys
import tempfile

from flask import Flask

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from shop import create_app  # noqa: E402
from shop.extensions import db  # noqa: E402


def fresh_app(database_url: str | None) -> Flask:
    """Return the app on an emptied database: the URL given, else a temporary SQLite file."""
    workdir = tempfile.mkdtemp(prefix="shop-bench-")
    os.environ["SHOP_INSTANCE_PATH"] = workdir
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{workdir}/bench.db",
                      "SECRET_KEY": "bench"})
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app

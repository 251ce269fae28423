"""Time searches and filtered category pages, with their facets, on a 50,000-product demo catalogue.

Usage: .venv/bin/python bench/search_speed.py [--db sqlite|postgres] [--products 50000] [--runs 200]
                                              [--database-url URL] [--reuse]
Seeds the demo catalogue into an emptied database (SQLite: a temporary file unless --database-url
names one; Postgres: --database-url, default postgresql://postgres@127.0.0.1:5432/shop_bench, which
must exist; it is then vacuumed and analysed, as autovacuum would), then requests each page --runs
times through the test client and prints p50/p95 of the whole page and of the listing service
alone, the statements per page and the slowest statement's p95 (on SQLite a statement's rows are
produced as they are fetched, so that figure undercounts). --reuse keeps a database that already
holds the catalogue. Exits non-zero when a search with two filters misses the target.
Seeding 50,000 products takes about a minute on SQLite and two on Postgres (2-core machine).
"""
import argparse
import os
import statistics
import sys
import time
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402
from flask import current_app, request  # noqa: E402
from fresh_database import fresh_app  # noqa: E402  (beside this script)

from shop import create_app  # noqa: E402
from shop.extensions import db  # noqa: E402
from shop.models import Brand, Category, Product  # noqa: E402
from shop.services import catalog, discovery  # noqa: E402
from shop.services.demo import seed_demo  # noqa: E402

TARGET_P95_MS = 50
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/shop_bench"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--reuse", action="store_true", help="keep a database that already holds the catalogue")
    args = parser.parse_args()
    url = args.database_url or (DEFAULT_POSTGRES_URL if args.db == "postgres" else None)

    app = _app(url, args.products, args.reuse)
    with app.app_context():
        backend = db.engine.dialect.name
        brand = {row.name: row.slug for row in db.session.execute(sa.select(Brand.name, Brand.slug))}
        category = {row.name: row.slug for row in db.session.execute(sa.select(Category.name, Category.slug))}
    pages = {
        # The case: a search with two filters, facets included; the target applies to these.
        "q=tee + brand + size": (True, f"/search?q=tee&brand={brand['Oakline']}&opt.Size=M"),
        "q=sweater + price range + in stock": (True, "/search?q=sweater&min_price=20&max_price=60&in_stock=1"),
        "category + colour + brand": (True, f"/categories/{category['T-shirts']}?opt.Colour=Navy"
                                            f"&brand={brand['Northwind']}"),
        # Broad ones, for the record: a top-level category holding a quarter of the catalogue, a
        # word a third of it matches (a colour), a search as typed, a whole category unfiltered.
        "top category + colour + brand": (False, f"/categories/{category['Clothing']}?opt.Colour=Navy"
                                                 f"&brand={brand['Northwind']}"),
        "q=navy + colour + size, by price, page 2": (False, "/search?q=navy&opt.Colour=Navy&opt.Size=L"
                                                            "&sort=price_asc&page=2"),
        "q=swea (prefix, no filter)": (False, "/search?q=swea"),
        "top category, no filter": (False, f"/categories/{category['Clothing']}"),
    }

    statements: list[tuple[str, float]] = []
    started_at: dict[int, float] = {}

    def before(conn, cursor, statement, parameters, context, executemany):
        started_at[id(cursor)] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, (time.perf_counter() - started_at.pop(id(cursor))) * 1000))

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", before)
        sa.event.listen(db.engine, "after_cursor_execute", after)
    client = app.test_client()
    failed = False
    print(f"{backend}, {args.products} products, {args.runs} runs each; target p95 <= {TARGET_P95_MS} ms "
          "for the searches with two filters")
    for label, (targeted, path) in pages.items():
        response = client.get(path)  # warm caches and the connection pool
        assert response.status_code == 200, (path, response.status_code)
        page_times, by_statement = [], defaultdict(list)
        statements.clear()
        for _ in range(args.runs):
            started = time.perf_counter()
            response = client.get(path)
            page_times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        per_page = len(statements) / args.runs
        for statement, elapsed in statements:
            by_statement[statement].append(elapsed)
        slowest = max(by_statement.values(), key=_p95)
        service_times = _service_times(app, path, args.runs)
        ok = not targeted or _p95(page_times) <= TARGET_P95_MS
        failed |= not ok
        verdict = ("ok  " if ok else "MISS") if targeted else "    "
        print(f"{verdict} {label:42} page p50 {statistics.median(page_times):6.1f} p95 {_p95(page_times):6.1f} ms"
              f" | listing p50 {statistics.median(service_times):6.1f} p95 {_p95(service_times):6.1f} ms"
              f" | {per_page:.0f} statements, slowest p95 {_p95(slowest):5.1f} ms"
              f" | {_results(response.get_data(as_text=True))}")
    return 1 if failed else 0


def _app(url: str | None, products: int, reuse: bool):
    if reuse and url:
        os.environ.setdefault("SHOP_INSTANCE_PATH", "/tmp/shop-bench-search")
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
        with app.app_context():
            db.create_all()
            count = db.session.scalar(sa.select(sa.func.count()).select_from(Product))
        if count >= products:
            print(f"reusing {count} products")
            return app
    app = fresh_app(url)
    with app.app_context():
        started = time.perf_counter()
        seed_demo(products)
        print(f"seed-demo --products {products} (search index included): {time.perf_counter() - started:.1f} s")
        if db.engine.dialect.name == "postgresql":
            # What autovacuum does to a live database soon after a bulk load: planner statistics,
            # and the visibility map that lets index-only scans skip the table.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
    return app


def _service_times(app, path: str, runs: int) -> list[float]:
    """Time criteria parsing and the listing service alone for the page's query string, without rendering."""
    times = []
    slug = path.split("?")[0].rsplit("/", 1)[-1] if path.startswith("/categories/") else None
    for _ in range(runs):
        with app.test_request_context(path):
            started = time.perf_counter()
            family = catalog.category_family(slug) if slug else None
            criteria = discovery.criteria_from_args(request.args, family=family)
            discovery.listing(criteria, current_app.config["PRODUCTS_PER_PAGE"])
            times.append((time.perf_counter() - started) * 1000)
            db.session.remove()
    return times


def _results(page: str) -> str:
    marker = 'class="listing-count">'
    return page.split(marker, 1)[1].split("<", 1)[0].strip() if marker in page else "?"


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) > 1 else values[0]


if __name__ == "__main__":
    sys.exit(main())

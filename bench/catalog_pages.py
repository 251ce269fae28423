"""Measure catalogue page latency, SQL statements and memory on a 10,000-product demo catalogue.

Usage: .venv/bin/python bench/catalog_pages.py [--products 10000] [--requests 200] [--database-url URL]
Prints one line per page (p50/p95 in ms, statements per request) and the process's peak RSS,
and exits non-zero when a target is missed. Targets are for the 2-core reference machine.
"""
import argparse
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402
from fresh_database import fresh_app  # noqa: E402  (beside this script)

from shop.extensions import db  # noqa: E402
from shop.models import Category, Product  # noqa: E402
from shop.services.demo import seed_demo  # noqa: E402

TARGET_P95_MS = 60
TARGET_MAX_STATEMENTS = 8
TARGET_PEAK_RSS_MB = 300


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()

    app = fresh_app(args.database_url)
    with app.app_context():
        started = time.perf_counter()
        seed_demo(args.products)
        print(f"seed-demo --products {args.products}: {time.perf_counter() - started:.1f} s")
        top = db.session.scalar(sa.select(Category.slug).where(Category.parent_id.is_(None)).order_by(Category.id))
        product = db.session.scalar(sa.select(Product.slug).order_by(Product.id.desc()))

    statements = []
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(1))
    client = app.test_client()
    pages = {
        "home": "/",
        "category (top level, page 1)": f"/categories/{top}",
        "category (price desc, page 40)": f"/categories/{top}?sort=price_desc&page=40",
        "product": f"/products/{product}",
        "search": "/search?q=merino",
    }
    failed = False
    for label, path in pages.items():
        client.get(path)  # warm caches and the connection pool
        timings = []
        statements.clear()
        for _ in range(args.requests):
            started = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        per_request = len(statements) / args.requests
        p50 = statistics.median(timings)
        p95 = statistics.quantiles(timings, n=20)[18]
        ok = p95 <= TARGET_P95_MS and per_request <= TARGET_MAX_STATEMENTS
        failed |= not ok
        verdict = "ok  " if ok else "MISS"
        print(f"{verdict} {label:32} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  {per_request:.0f} statements")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ok = peak_mb <= TARGET_PEAK_RSS_MB
    failed |= not ok
    print(f"{'ok  ' if ok else 'MISS'} peak RSS {peak_mb:.0f} MB (target {TARGET_PEAK_RSS_MB} MB); "
          f"targets: p95 <= {TARGET_P95_MS} ms, <= {TARGET_MAX_STATEMENTS} statements per page")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Time a 10,000-row catalogue CSV import on a fresh database, and the export's memory on 50,000 rows.

Usage: .venv/bin/python bench/import_csv.py [--rows 10000] [--export-rows 50000] [--database-url URL]
Prints the time to check (preview) and apply the import, then re-import the unchanged export, and the
export's peak traced memory; exits non-zero when a target is missed.
"""
import argparse
import csv
import io
import os
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402
from fresh_database import fresh_app  # noqa: E402  (beside this script)

from shop.extensions import db  # noqa: E402
from shop.models import ProductVariant, Role, User  # noqa: E402
from shop.services.catalog_csv import COLUMNS, apply_import, export_chunks, preview_import  # noqa: E402

TARGET_IMPORT_SECONDS = 30
TARGET_EXPORT_PEAK_MB = 30
SIZES = ["S", "M", "L", "XL"]
COLOURS = ["Black", "Navy", "Sand"]


def generate(rows: int, prefix: str = "") -> bytes:
    """Return a catalogue CSV of `rows` variants: products of up to 12 (size x colour), in 40 categories."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column for column in COLUMNS if column != "image_files"])
    per_product = len(SIZES) * len(COLOURS)
    for number in range(rows):
        product, index = divmod(number, per_product)
        size, colour = SIZES[index % len(SIZES)], COLOURS[index // len(SIZES)]
        writer.writerow([
            f"{prefix}B{product:06d}-{size}-{colour[:3].upper()}", f"Bench Tee {product}",
            f"{prefix}bench-tee-{product}",
            f"The bench tee number {product}.\n\nSoft, and measured.", f"Clothing > Line {product % 40}",
            f"Brand {product % 12}", "yes", "no", "", "", "Size", size, "Colour", colour, "", "",
            f"{19 + product % 30}.90", "", str(number % 50), "yes",
        ])
    return buffer.getvalue().encode("utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--export-rows", type=int, default=50_000)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()

    app = fresh_app(args.database_url)
    failed = False
    with app.test_request_context():
        admin = User(email="bench@example.com", name="Bench", password_hash="x", role=Role.OWNER)
        db.session.add(admin)
        db.session.commit()

        data = generate(args.rows)
        started = time.perf_counter()
        plan = preview_import(data)
        checked = time.perf_counter() - started
        assert not plan.problems, plan.problems[:5]
        db.session.commit()
        started = time.perf_counter()
        plan = apply_import(data, admin)
        applied = time.perf_counter() - started
        total = checked + applied
        ok = total <= TARGET_IMPORT_SECONDS
        failed |= not ok
        print(f"{'ok  ' if ok else 'MISS'} import {args.rows:,} rows ({plan.products_created:,} products): "
              f"check {checked:.1f} s + apply {applied:.1f} s = {total:.1f} s (target {TARGET_IMPORT_SECONDS} s)")

        started = time.perf_counter()
        exported = "".join(export_chunks()).encode()
        plan = apply_import(exported, admin)
        print(f"     re-import of the unchanged export: {time.perf_counter() - started:.1f} s, "
              f"{plan.variants_unchanged:,} unchanged, {plan.variants_updated} updated")

        extra = args.export_rows - db.session.scalar(sa.select(sa.func.count(ProductVariant.id)))
        if extra > 0:
            apply_import(generate(extra, prefix="x"), admin)
        db.session.commit()
        started = time.perf_counter()
        size = rows = 0
        for chunk in export_chunks():
            size += len(chunk)
            rows += chunk.count("\r\n")
        elapsed = time.perf_counter() - started
        # Again under tracemalloc (several times slower): the most memory the export ever held at once.
        tracemalloc.start()
        for _ in export_chunks():
            pass
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak_mb = peak / 2**20
        ok = peak_mb <= TARGET_EXPORT_PEAK_MB
        failed |= not ok
        print(f"{'ok  ' if ok else 'MISS'} export {rows - 1:,} rows ({size / 2**20:.1f} MB) in {elapsed:.1f} s, "
              f"peak traced memory {peak_mb:.1f} MB (target {TARGET_EXPORT_PEAK_MB} MB)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

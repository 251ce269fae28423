"""The Import/Export page: download the catalogue, upload a file, read the preview, apply it."""
import csv
import io
import os
import re
from pathlib import Path

import sqlalchemy as sa

from shop.extensions import db
from shop.models import AuditRecord, ProductVariant
from shop.services.catalog_csv import COLUMNS
from tests.factories import csv_file, csv_row, make_product


def _upload(client, data: bytes, name: str = "catalogue.csv"):
    return client.post("/admin/import-export/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _price(sku: str) -> int:
    db.session.commit()
    return db.session.scalar(sa.select(ProductVariant.price_cents).where(ProductVariant.sku == sku))


def _kept_files(app) -> list[Path]:
    return sorted((Path(app.instance_path) / "imports").glob("*.csv"))


def test_the_export_downloads_every_variant_as_csv(client, admin):
    make_product("Tent", variants=[{"size": "2P", "price_cents": 1990}, {"size": "4P", "price_cents": 2990}])
    response = client.get("/admin/import-export/catalogue.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert re.fullmatch(r"attachment; filename=catalogue-\d{4}-\d\d-\d\d\.csv", response.headers["Content-Disposition"])
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0] == list(COLUMNS)
    assert [(row[0].split("-")[0], row[1], row[11], row[16]) for row in rows[1:]] == [
        ("SKU", "Tent", "2P", "19.90"), ("SKU", "Tent", "4P", "29.90")]


def test_the_page_runs_the_same_queries_however_large_the_catalogue(client, admin, count_queries):
    make_product("Tent")
    with count_queries() as few:
        page = client.get("/admin/import-export")
    assert page.status_code == 200 and "1 row for 1 product" in page.get_data(as_text=True)
    for number in range(30):
        make_product(f"Mug {number}")
    with count_queries() as many:
        page = client.get("/admin/import-export")
    assert "31 rows for 31 products" in page.get_data(as_text=True)
    assert len(many) == len(few)


def test_a_bad_row_is_named_by_line_then_the_fixed_file_changes_the_price(app, client, admin):
    product = make_product("Tent", price_cents=1999)
    sku = product.variants[0].sku
    exported = client.get("/admin/import-export/catalogue.csv").get_data()
    changed = exported.replace(b"19.99", b"24.99")
    bad_row = csv_file([csv_row(sku="NEW-1", price="cheap", image_files="")], header=False)

    response = _upload(client, changed + bad_row)
    assert response.status_code == 302
    preview = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 problem: nothing can be imported" in preview
    assert re.search(r"<td class=\"num\">3</td><td>price</td><td>Enter an amount like 12.50", preview)
    assert "Apply the import" not in preview
    assert client.post(response.headers["Location"]).status_code == 302  # applying anyway changes nothing
    assert _price(sku) == 1999

    response = _upload(client, changed)
    preview = client.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(r'data-testid="variants-updated">1<', preview)
    assert "Apply the import" in preview and _price(sku) == 1999
    done = client.post(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "The import is done: 0 products created, 0 updated, 1 unchanged; 0 variants created, 1 updated" in done
    assert _price(sku) == 2499
    token = response.headers["Location"].rsplit("/", 1)[1]
    assert [path.stem for path in _kept_files(app)] != [token] and len(_kept_files(app)) == 1  # the bad one
    assert client.post(response.headers["Location"]).status_code == 404  # an applied file is gone
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditRecord.action == "catalogue.import")) == 1


def test_an_unchanged_export_previews_as_nothing_to_change(client, admin):
    make_product("Tent", variants=[{"size": "2P"}, {"size": "4P"}])
    exported = client.get("/admin/import-export/catalogue.csv").get_data()
    preview = client.get(_upload(client, exported).headers["Location"]).get_data(as_text=True)
    assert re.search(r'data-testid="variants-unchanged">2<', preview)
    assert "importing it would change nothing" in preview and "Apply the import" not in preview


def test_an_empty_or_missing_file_is_refused_next_to_the_field(app, client, admin):
    page = _upload(client, b"")
    assert page.status_code == 422 and "The file is empty." in page.get_data(as_text=True)
    page = client.post("/admin/import-export/import", data={})
    assert page.status_code == 422 and "Choose a CSV file to import." in page.get_data(as_text=True)
    assert _kept_files(app) == []


def test_files_in_other_encodings_or_formats_get_a_message(client, admin):
    for data in (csv_file([csv_row(product_name="Crème")]).decode().encode("latin-1"), b"\x89PNG\r\n\x1a\n\x00\xff",
                 b"just, some; words\n"):
        preview = client.get(_upload(client, data, "photo.csv").headers["Location"]).get_data(as_text=True)
        assert "nothing can be imported" in preview
        assert "CSV UTF-8" in preview or "Unknown columns" in preview


def test_an_unknown_malformed_or_stale_import_is_not_found(app, client, admin):
    for token in ("A" * 32, "../../secret_key", "x" * 31):
        assert client.get(f"/admin/import-export/import/{token}").status_code == 404
        assert client.post(f"/admin/import-export/import/{token}").status_code == 404
    location = _upload(client, csv_file([csv_row()])).headers["Location"]
    stale = _kept_files(app)[0]
    day_old = stale.stat().st_mtime - 25 * 3600
    os.utime(stale, (day_old, day_old))
    assert client.get(location).status_code == 404
    _upload(client, csv_file([csv_row()]))
    assert not stale.exists()  # the next upload sweeps it away

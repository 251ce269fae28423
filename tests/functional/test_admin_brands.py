"""Brands in the back office: list, create, edit, logo and delete (the products stay, brandless)."""
import html
import io
import os

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import AuditRecord, Brand, Product
from tests.factories import make_brand, make_product
from tests.images import picture_file


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def brand_named(name: str) -> Brand | None:
    db.session.commit()
    return db.session.scalar(sa.select(Brand).where(Brand.name == name).execution_options(populate_existing=True))


def media_files(app) -> list[str]:
    folder = app.config["MEDIA_PATH"]
    return [name for _, _, names in os.walk(folder) for name in names] if os.path.exists(folder) else []


@pytest.fixture
def acme():
    brand = make_brand("Acme")
    for n in range(12):
        make_product(f"Anvil {n}", brand=brand)
    db.session.commit()
    return brand.id


def test_the_list_shows_product_counts_and_an_empty_state(client, admin, acme):
    make_brand("Zenith")
    db.session.commit()
    page = text(client.get("/admin/brands"))
    assert "2 brands" in page
    acme_row = page[page.index(">Acme<"):page.index(">Zenith<")]
    assert '<td class="num" data-testid="product-count">12</td>' in acme_row
    assert "No brands match these filters." in text(client.get("/admin/brands?q=nothing"))
    with_products = text(client.get("/admin/brands?products=with"))
    assert ">Acme<" in with_products and ">Zenith<" not in with_products and "1 brand" in with_products
    without = text(client.get("/admin/brands?products=without"))
    assert ">Zenith<" in without and ">Acme<" not in without


def test_no_brands_yet(client, admin):
    page = text(client.get("/admin/brands"))
    assert "No brands yet." in page and 'href="/admin/brands/new"' in page


def test_search_sort_and_pages_keep_the_filters(client, admin):
    for n in range(55):
        make_brand(f"Maker {n:02d}")
    make_brand("Other 100%_")
    db.session.commit()
    page = text(client.get("/admin/brands?q=maker&sort=name_desc"))
    assert "55 brands · page 1 of 2" in page
    assert page.index("Maker 54") < page.index("Maker 53")
    assert 'href="/admin/brands?q=maker&sort=name_desc&page=2"' in page
    second = text(client.get("/admin/brands?q=maker&sort=name_desc&page=2"))
    assert "Maker 04" in second and "Maker 54" not in second
    assert "Other 100%_" in text(client.get("/admin/brands?q=0%25_")), "wildcards are searched for literally"
    assert "1 brand" in text(client.get("/admin/brands?q=0%25_"))


def test_sort_by_product_count(client, admin, acme):
    make_product("Bolt", brand=make_brand("Bolts Inc"))
    db.session.commit()
    page = text(client.get("/admin/brands?sort=products"))
    assert page.index(">Acme<") < page.index(">Bolts Inc<")


def test_the_list_runs_a_constant_number_of_queries(client, admin, count_queries):
    for n in range(3):
        make_product(f"P{n}", brand=make_brand(f"Few {n}"))
    db.session.commit()
    with count_queries() as few:
        assert client.get("/admin/brands").status_code == 200
    for n in range(30):
        make_product(f"Q{n}", brand=make_brand(f"Many {n}"))
    db.session.commit()
    with count_queries() as many:
        assert client.get("/admin/brands?sort=products").status_code == 200
    assert len(few) == len(many) <= 5


def test_create_and_edit_a_brand(client, admin):
    response = client.post("/admin/brands/new", data={"name": "Nordic Gear", "slug": "", "description": "Warm."},
                           follow_redirects=True)
    assert "The brand Nordic Gear was created." in text(response)
    brand = brand_named("Nordic Gear")
    assert brand.slug == "nordic-gear" and brand.description == "Warm."
    response = client.post(f"/admin/brands/{brand.id}", data={"name": "Nordic", "slug": "nordic",
                                                                "description": "Warm."}, follow_redirects=True)
    assert "The brand Nordic was saved: name and slug changed." in text(response)
    db.session.commit()
    records = list(db.session.scalars(sa.select(AuditRecord).where(AuditRecord.entity_type == "brand")
                                      .order_by(AuditRecord.id)))
    assert [record.action for record in records] == ["brand.create", "brand.update"]
    assert records[1].changes == {"name": ["Nordic Gear", "Nordic"], "slug": ["nordic-gear", "nordic"]}
    assert records[1].actor_id == admin.id


def test_a_second_brand_with_the_same_name_gets_its_own_slug(client, admin, acme):
    client.post("/admin/brands/new", data={"name": "Acme", "slug": ""})
    db.session.commit()
    slugs = sorted(db.session.scalars(sa.select(Brand.slug).where(Brand.name == "Acme")))
    assert len(slugs) == 2 and "acme" in slugs


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"name": ""}, "name", "Please enter the name."),
    ({"name": "Acme", "slug": "brand-" + "x" * 200}, "slug", "The slug can be at most 140 characters long."),
    ({"name": "Acme", "slug": "UPPER"}, "slug", "A slug has lower-case letters and digits"),
    ({"name": "Acme", "description": "Bad\x00byte"}, "description", "This contains characters we cannot store."),
])
def test_validation_errors_are_shown_next_to_the_fields(client, admin, data, field, message):
    response = client.post("/admin/brands/new", data=data)
    assert response.status_code == 422
    page = text(response)
    assert message in page[page.index(f'name="{field}"'):]
    assert brand_named("Acme") is None


def test_a_slug_another_brand_uses_is_refused(client, admin, acme):
    other = make_brand("Bolts")
    db.session.commit()
    response = client.post(f"/admin/brands/{other.id}", data={"name": "Bolts", "slug": brand_named("Acme").slug})
    assert response.status_code == 422
    assert "is already used by Acme; choose another." in text(response)


def test_delete_asks_first_and_leaves_the_products_brandless(client, admin, acme):
    product = db.session.scalar(sa.select(Product).where(Product.brand_id == acme).limit(1))
    page = text(client.get(f"/admin/brands/{acme}/delete"))
    assert "Delete the brand Acme?" in page and "12 products will show no brand" in page
    assert client.post(f"/admin/brands/{acme}/delete").status_code == 200, "without confirmation it only asks"
    assert brand_named("Acme") is not None

    response = client.post(f"/admin/brands/{acme}/delete", data={"confirmed": "yes"}, follow_redirects=True)
    assert "The brand Acme was deleted; 12 products now show no brand." in text(response)
    assert brand_named("Acme") is None
    assert db.session.scalar(sa.select(sa.func.count()).where(Product.brand_id.is_(None))) == 12
    shown = client.get(f"/products/{product.slug}")
    assert shown.status_code == 200 and "by Acme" not in text(shown)
    record = db.session.scalar(sa.select(AuditRecord).where(AuditRecord.action == "brand.delete"))
    assert record.changes["name"] == ["Acme", None] and record.changes["products"] == [12, 0]


def test_unknown_brands_are_404(client, admin):
    for path in ("/admin/brands/999999", "/admin/brands/999999/delete"):
        assert client.get(path).status_code == 404
        assert client.post(path, data={"confirmed": "yes", "name": "X"}).status_code == 404


def test_a_logo_is_uploaded_shown_replaced_and_removed(client, admin, acme, app):
    data = {"name": "Acme", "slug": brand_named("Acme").slug, "logo": picture_file("acme.png", "PNG", 300, 120)}
    response = client.post(f"/admin/brands/{acme}", data=data, content_type="multipart/form-data",
                           follow_redirects=True)
    assert "logo changed" in text(response)
    first = brand_named("Acme").logo_key
    assert first and f"{first}-thumb.webp" in text(client.get("/admin/brands"))
    assert any(name.startswith(first.rsplit("/", 1)[-1]) for name in media_files(app))

    data["logo"] = picture_file("acme.webp", "WEBP")
    client.post(f"/admin/brands/{acme}", data=data, content_type="multipart/form-data")
    second = brand_named("Acme").logo_key
    assert second != first
    assert not any(first.rsplit("/", 1)[-1] in name for name in media_files(app)), "the old logo's files are gone"

    client.post(f"/admin/brands/{acme}", data={"name": "Acme", "slug": data["slug"], "remove_logo": "y"})
    assert brand_named("Acme").logo_key is None
    assert media_files(app) == []


def test_a_refused_logo_is_explained_next_to_the_field(client, admin, app):
    data = {"name": "Acme", "slug": "", "logo": (io.BytesIO(b""), "empty.png")}
    response = client.post("/admin/brands/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    page = text(response)
    assert "“empty.png” was not saved: the file is empty." in page[page.index('name="logo"'):]
    assert brand_named("Acme") is None and media_files(app) == []


def test_deleting_a_brand_deletes_its_logo_files(client, admin, app):
    client.post("/admin/brands/new", data={"name": "Acme", "logo": picture_file("a.jpg", "JPEG")},
                content_type="multipart/form-data")
    brand = brand_named("Acme")
    assert brand.logo_key and media_files(app)
    client.post(f"/admin/brands/{brand.id}/delete", data={"confirmed": "yes"})
    assert brand_named("Acme") is None and media_files(app) == []


@pytest.mark.parametrize("junk", ["x" * 100_000, "\x00", "💥", str(2**63), ""])
def test_hostile_fields_on_a_real_brand_never_cause_a_server_error(client, admin, acme, junk):
    slug = brand_named("Acme").slug
    for field in ("name", "slug", "description", "remove_logo", "logo"):
        body = {"name": "Acme", "slug": slug, "description": "", field: junk}
        assert client.post(f"/admin/brands/{acme}", data=body).status_code < 500, field
        assert client.post("/admin/brands/new", data=body).status_code < 500, field
    assert client.post(f"/admin/brands/{acme}/delete", data={"confirmed": junk}).status_code < 500
    assert brand_named("Acme") is not None


@pytest.mark.parametrize("query", ["page=abc", "page=-3", "page=99999999999999999999", "sort=%F0%9F%92%A5",
                                   "status=zzz", "products=1e309", "q=%00", "q=" + "x" * 300])
def test_junk_list_parameters_fall_back(client, admin, query):
    assert client.get("/admin/brands?" + query).status_code == 200

"""The product photos page as an owner uses it with JavaScript off, and how the shop then shows the photos."""
import html
import io
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask import url_for

from shop.extensions import db
from shop.models import AuditRecord, ProductImage
from shop.services.images import RENDITIONS
from tests.factories import make_product
from tests.images import jpeg_bytes, png_bomb, png_bytes, webp_bytes


@pytest.fixture
def tent(app):
    product = make_product("Alpine Tent", images=0)
    db.session.commit()
    return SimpleNamespace(id=product.id, slug=product.slug, category_slug=product.category.slug)


@pytest.fixture
def media(app) -> Path:
    return Path(app.config["MEDIA_PATH"])


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def page_url(product_id: int) -> str:
    return f"/admin/products/{product_id}/images"


def post_photos(client, product_id: int, files: list[tuple[bytes, str]], alt: str = "Green tent", **kwargs):
    data = {"photos": [(io.BytesIO(content), name) for content, name in files], "alt": alt}
    return client.post(page_url(product_id), data=data, content_type="multipart/form-data", **kwargs)


def photos(product_id: int) -> list[ProductImage]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(ProductImage).where(ProductImage.product_id == product_id)
                                   .order_by(ProductImage.position)))


def files_in(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def shown_order(page: str) -> list[int]:
    """Return the photo ids in the order the page lists them."""
    return [int(found) for found in re.findall(r'<li class="photo-item" id="photo-(\d+)"', page)]


THREE_PHOTOS = [(jpeg_bytes(1600, 1200), "front.jpg"), (png_bytes(800, 800), "inside.png"),
                (webp_bytes(500, 300), "packed.webp")]


def test_an_owner_uploads_three_photos_with_alt_text(client, admin, tent, media):
    response = post_photos(client, tent.id, THREE_PHOTOS, alt="Green tent")

    assert response.status_code == 302 and response.headers["Location"] == page_url(tent.id)
    page = text(client.get(page_url(tent.id)))
    assert "Added 3 photos: “Green tent (photo 1)”; “Green tent (photo 2)”; “Green tent (photo 3)”." in page
    first, second, third = photos(tent.id)
    assert shown_order(page) == [first.id, second.id, third.id]
    assert 'value="Green tent (photo 2)"' in page
    assert "Main photo" in page
    assert f'src="/media/{first.key}-thumb.jpg"' in page
    assert (first.width, first.height) == (1200, 900)
    assert len(files_in(media)) == 3 * len(RENDITIONS) * 2
    actions = db.session.scalars(sa.select(AuditRecord.action)).all()
    assert actions == ["product_image.add"] * 3


def test_the_page_shows_where_it_is_and_works_without_photos(client, admin, tent):
    page = text(client.get(page_url(tent.id)))

    assert "Alpine Tent has no photos yet." in page
    assert 'enctype="multipart/form-data"' in page and "multiple" in page
    assert 'accept="image/jpeg,image/png,image/webp"' in page
    breadcrumbs = page.split('aria-label="Breadcrumb">', 1)[1].split("</nav>", 1)[0]
    assert re.sub(r"<[^>]+>|\s+", " ", breadcrumbs).split() == ["Admin", "/", "Products", "/", "Alpine", "Tent",
                                                                "/", "Photos"]
    assert 'aria-current="page">Photos' in breadcrumbs


def test_an_upload_without_a_file_or_alt_text_shows_messages_by_the_fields(client, admin, tent, media):
    response = post_photos(client, tent.id, [], alt="Green tent")
    assert response.status_code == 422
    assert "Please choose at least one photo to upload." in text(response)

    response = post_photos(client, tent.id, [(jpeg_bytes(), "front.jpg")], alt="   ")
    assert response.status_code == 422
    assert "Please describe the photo in its alt text" in text(response)
    assert photos(tent.id) == [] and files_in(media) == []


def test_refused_files_are_named_with_the_reason_and_nothing_is_stored(client, admin, tent, media):
    response = post_photos(client, tent.id, [(b"", "empty.jpg"), (b"just text", "notes.png"),
                                             (png_bomb(), "huge.png")], alt="Green tent")

    assert response.status_code == 422
    page = text(response)
    assert "“empty.jpg” was not saved: the file is empty." in page
    assert "“notes.png” was not saved: it is not a JPEG, PNG or WebP image, or it is damaged." in page
    assert "“huge.png” was not saved: the image has too many pixels (at most 40 megapixels)." in page
    assert 'value="Green tent"' in page, "the alt text typed is kept"
    assert photos(tent.id) == [] and files_in(media) == []


def test_good_files_are_kept_when_others_in_the_upload_are_refused(client, admin, tent):
    response = post_photos(client, tent.id, [(jpeg_bytes(), "front.jpg"), (b"", "empty.jpg")],
                           alt="Green tent", follow_redirects=True)

    page = text(response)
    assert "Added the photo “Green tent”." in page
    assert "“empty.jpg” was not saved: the file is empty." in page
    assert [photo.alt for photo in photos(tent.id)] == ["Green tent"]


def test_an_owner_reorders_chooses_the_main_photo_and_edits_alt_text(client, admin, tent):
    post_photos(client, tent.id, THREE_PHOTOS)
    one, two, three = (photo.id for photo in photos(tent.id))

    response = client.post(f"{page_url(tent.id)}/{three}/move", data={"direction": "up"}, follow_redirects=True)
    assert "The photo moved up." in text(response)
    assert shown_order(text(response)) == [one, three, two]

    response = client.post(f"{page_url(tent.id)}/{two}/main", follow_redirects=True)
    assert "This photo is now the main photo." in text(response)
    assert shown_order(text(response)) == [two, one, three]

    response = client.post(f"{page_url(tent.id)}/{two}/alt", data={"alt": "Tent pitched in snow"},
                           follow_redirects=True)
    assert "The alt text is now “Tent pitched in snow”." in text(response)
    assert [photo.alt for photo in photos(tent.id)][0] == "Tent pitched in snow"

    response = client.post(f"{page_url(tent.id)}/{two}/alt", data={"alt": " "})
    assert response.status_code == 422
    page = text(response)
    assert "Please describe the photo in its alt text" in page
    assert f'id="alt-{two}-error"' in page
    assert photos(tent.id)[0].alt == "Tent pitched in snow"

    response = client.post(f"{page_url(tent.id)}/{two}/move", data={"direction": "sideways"}, follow_redirects=True)
    assert "Choose whether to move the photo up or down." in text(response)


def test_the_first_photo_cannot_move_up_and_the_last_cannot_move_down(client, admin, tent):
    post_photos(client, tent.id, THREE_PHOTOS[:2])
    page = text(client.get(page_url(tent.id)))

    assert re.search(r'aria-label="Move up \(photo 1\)" disabled', page)
    assert re.search(r'aria-label="Move down \(photo 2\)" disabled', page)
    assert not re.search(r'aria-label="Move down \(photo 1\)" disabled', page)


def test_deleting_a_photo_asks_first_then_removes_it_and_its_files(client, admin, tent, media):
    post_photos(client, tent.id, THREE_PHOTOS[:2])
    (first_id, _), (second_id, second_key) = ((photo.id, photo.key) for photo in photos(tent.id))
    url = f"{page_url(tent.id)}/{second_id}/delete"

    for ask in (client.get(url), client.post(url)):
        assert ask.status_code == 200
        assert "Delete this photo?" in text(ask) and "Green tent (photo 2)" in text(ask)
    assert len(photos(tent.id)) == 2

    response = client.post(url, data={"confirmed": "yes"}, follow_redirects=True)

    assert "Deleted the photo “Green tent (photo 2)” of Alpine Tent." in text(response)
    assert [photo.id for photo in photos(tent.id)] == [first_id]
    assert not any(second_key in name for name in files_in(media))
    assert len(files_in(media)) == len(RENDITIONS) * 2
    assert client.post(url, data={"confirmed": "yes"}).status_code == 404


def test_another_products_photo_or_a_missing_product_is_not_found(client, admin, tent):
    stove = make_product("Stove", images=1)
    db.session.commit()
    alien = stove.images[0].id

    assert client.get(page_url(2_000_000)).status_code == 404
    assert post_photos(client, 2_000_000, [(jpeg_bytes(), "a.jpg")]).status_code == 404
    for action, data in (("alt", {"alt": "x"}), ("move", {"direction": "up"}), ("main", {}),
                         ("delete", {"confirmed": "yes"})):
        assert client.post(f"{page_url(tent.id)}/{alien}/{action}", data=data).status_code == 404, action
    assert len(photos(stove.id)) == 1


def test_the_storefront_serves_uploads_at_the_right_size(client, admin, tent):
    post_photos(client, tent.id, [(jpeg_bytes(1600, 1200), "front.jpg")])
    [photo] = photos(tent.id)
    key = photo.key

    for url in (f"/products/{tent.slug}", f"/categories/{tent.category_slug}"):
        page = text(client.get(url))
        assert f'<source type="image/webp" srcset="/media/{key}-thumb.webp 160w, /media/{key}-card.webp 480w' in page
        assert f'srcset="/media/{key}-thumb.jpg 160w, /media/{key}-card.jpg 480w' in page
        assert 'alt="Green tent"' in page
    product_page = text(client.get(f"/products/{tent.slug}"))
    assert f"/media/{key}-full.webp 1200w" in product_page
    assert 'width="1200" height="900"' in product_page
    card_page = text(client.get(f"/categories/{tent.category_slug}"))
    assert 'width="480" height="360"' in card_page


def test_renditions_are_cached_for_a_year_other_media_for_a_week(client, admin, tent, media):
    post_photos(client, tent.id, [(jpeg_bytes(), "front.jpg")])
    [photo] = photos(tent.id)
    (media / "demo").mkdir()
    (media / "demo" / "lamp.png").write_bytes(png_bytes())

    for rendition in RENDITIONS:
        for fmt, mimetype in (("webp", "image/webp"), ("jpg", "image/jpeg")):
            response = client.get(f"/media/{photo.key}-{rendition}.{fmt}")
            assert response.status_code == 200 and response.mimetype == mimetype
            assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    other = client.get("/media/demo/lamp.png")
    assert other.status_code == 200
    assert "max-age=604800" in other.headers["Cache-Control"]
    assert "immutable" not in other.headers["Cache-Control"]
    for traversal in ("/media/../instance/secret_key", "/media/..%2f..%2fetc%2fpasswd",
                      f"/media/{photo.key}-full.jpg/../../../../etc/passwd"):
        assert client.get(traversal).status_code == 404, traversal


def test_the_page_runs_as_many_queries_for_twelve_photos_as_for_one(client, admin, tent, count_queries):
    def add_photos(count: int) -> None:
        start = len(photos(tent.id))
        for n in range(start, start + count):
            key = f"uploads/ab/{n:032x}-1200x800"
            db.session.add(ProductImage(product_id=tent.id, filename=f"{key}-full.jpg", alt=f"Photo {n}",
                                        position=n, key=key, width=1200, height=800))
        db.session.commit()

    add_photos(1)
    with count_queries() as one:
        assert client.get(page_url(tent.id)).status_code == 200
    add_photos(11)
    with count_queries() as twelve:
        page = text(client.get(page_url(tent.id)))
    assert len(shown_order(page)) == 12
    assert len(twelve) == len(one)



def test_the_page_links_to_the_products_other_pages(app, client, admin, tent):
    with app.test_request_context():
        edit, products = url_for("admin.product_edit", product_id=tent.id), url_for("admin.products")

    page = text(client.get(page_url(tent.id)))

    assert page.count(f'href="{edit}"') == 2, "the breadcrumb and the Details tab"
    assert f'href="{products}"' in page

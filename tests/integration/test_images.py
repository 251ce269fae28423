"""The upload pipeline and a product's photos against a real database and media folder.

What a shop owner relies on: only real images get in, they come out upright and without the
camera's metadata, every refusal names the file and why, and no file outlives its photo or a
failed upload.
"""
import io
import os
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from shop.extensions import db
from shop.models import AuditRecord, ProductImage
from shop.services import NotFound, ShopError, audit, images
from shop.services.images import RENDITIONS, key_size, rendition_name, save_picture
from shop.services.product_images import add_images, delete_image, make_main, move_image, set_alt
from tests.factories import make_product
from tests.images import jpeg_bytes, png_bomb, png_bytes, upload, webp_bytes


@pytest.fixture
def media(app) -> Path:
    return Path(app.config["MEDIA_PATH"])


@pytest.fixture
def tent(app):
    product = make_product("Tent", images=0)
    db.session.commit()
    return product


def files_in(folder: Path) -> list[str]:
    """Return every file under the media folder, temporary ones included."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def opened(media: Path, key: str, rendition: str, fmt: str) -> Image.Image:
    return Image.open(media / rendition_name(key, rendition, fmt))


def photos(product_id: int) -> list[ProductImage]:
    db.session.commit()
    return list(db.session.scalars(sa.select(ProductImage).where(ProductImage.product_id == product_id)
                                   .order_by(ProductImage.position)))


def audits() -> list[AuditRecord]:
    db.session.commit()
    return list(db.session.scalars(sa.select(AuditRecord).order_by(AuditRecord.id)))


def refusal(data: bytes, filename: str) -> str:
    with pytest.raises(ShopError) as refused:
        save_picture(upload(data, filename))
    return str(refused.value)


# The pipeline


def test_a_phone_photo_comes_out_upright_without_exif_gps_or_comment(media):
    stored = save_picture(upload(jpeg_bytes(600, 400, orientation=6, gps=True), "IMG_0001.JPG"))

    assert (stored.width, stored.height) == (400, 600), "orientation 6 turns a landscape shot upright"
    for fmt in ("jpg", "webp"):
        for rendition in RENDITIONS:
            path = media / rendition_name(stored.key, rendition, fmt)
            raw = path.read_bytes()
            assert b"Exif" not in raw and b"secret comment" not in raw and b"Taken at home" not in raw, path
            with Image.open(path) as image:
                assert not image.getexif(), path
                assert "exif" not in image.info and "icc_profile" not in image.info, path
    with opened(media, stored.key, "full", "jpg") as full:
        assert full.size == (400, 600)
        # The black band the camera wrote on the left is at the top once turned clockwise.
        assert max(full.getpixel((200, 10))) < 60
        assert full.getpixel((200, 590))[0] > 150


def test_a_transparent_png_is_flattened_on_white(media):
    stored = save_picture(upload(png_bytes(400, 400, alpha=True), "logo.png"))

    for fmt in ("jpg", "webp"):
        with opened(media, stored.key, "full", fmt) as full:
            assert full.mode == "RGB"
            assert min(full.getpixel((50, 200))) > 240, "the transparent half is white"
            assert full.getpixel((350, 200))[2] > 200, "the opaque half stays blue"


def test_a_small_webp_is_never_upscaled(media):
    stored = save_picture(upload(webp_bytes(500, 300), "small.webp"))

    assert (stored.width, stored.height) == (500, 300)
    sizes = {rendition: opened(media, stored.key, rendition, "webp").size for rendition in RENDITIONS}
    assert sizes == {"thumb": (160, 96), "card": (480, 288), "full": (500, 300)}
    assert opened(media, stored.key, "card", "jpg").format == "JPEG"


def test_a_large_photo_gets_three_bounded_renditions_in_both_formats(media):
    stored = save_picture(upload(jpeg_bytes(3000, 2000), "big.jpg"))

    assert (stored.width, stored.height) == (1200, 800)
    assert key_size(stored.key) == (1200, 800)
    expected = {"thumb": (160, 107), "card": (480, 320), "full": (1200, 800)}
    for fmt, kind in (("jpg", "JPEG"), ("webp", "WEBP")):
        for rendition, size in expected.items():
            with opened(media, stored.key, rendition, fmt) as image:
                assert (image.format, image.size) == (kind, size)
    assert len(files_in(media)) == 6


def test_the_file_is_stored_under_the_shops_key_never_its_own_name(media):
    stored = save_picture(upload(png_bytes(), "../../etc/passwd.png"))

    assert images.KEY_PATTERN.fullmatch(stored.key)
    assert all(name.startswith("uploads/") and "passwd" not in name for name in files_in(media))
    assert not (media.parent / "etc").exists()


@pytest.mark.parametrize(("data", "filename", "reason"), [
    (b"", "empty.jpg", "the file is empty"),
    (b"Dear diary, today I renamed a text file.\n" * 20, "notes.jpg", "it is not a JPEG, PNG or WebP image"),
    (jpeg_bytes(800, 600)[:1500], "cut-short.jpg", "it is not a JPEG, PNG or WebP image, or it is damaged"),
    (png_bytes()[:-30], "cut-short.png", "it is not a JPEG, PNG or WebP image, or it is damaged"),
])
def test_what_is_not_a_whole_image_is_refused_naming_the_file(media, data, filename, reason):
    message = refusal(data, filename)

    assert f"“{filename}” was not saved: {reason}" in message
    assert files_in(media) == []


def test_a_gif_named_png_is_refused_by_its_content(media):
    out = io.BytesIO()
    Image.new("RGB", (40, 40), "red").save(out, "GIF")

    assert "“animation.png” was not saved: it is not a JPEG, PNG or WebP image" in refusal(out.getvalue(),
                                                                                           "animation.png")
    assert files_in(media) == []


def test_a_60_megapixel_png_is_refused_before_it_is_decoded(media):
    bomb = png_bomb(10_000, 6_000)
    assert len(bomb) < 100_000, "a bomb is small on the wire"

    started = time.perf_counter()
    message = refusal(bomb, "bomb.png")

    assert time.perf_counter() - started < 1.0
    assert message == "“bomb.png” was not saved: the image has too many pixels (at most 40 megapixels)."
    assert files_in(media) == []


@pytest.mark.parametrize("app_overrides", [{"MAX_UPLOAD_MB": 1}])
def test_a_file_over_the_upload_limit_is_refused_with_the_limit(media):
    message = refusal(b"\xff\xd8" + b"x" * (1024 * 1024), "huge.jpg")

    assert message == "“huge.jpg” was not saved: it is larger than 1 MB."
    assert files_in(media) == []


def test_a_refused_name_is_shown_without_its_path_or_control_characters(media):
    message = refusal(b"", "C:\\Users\\sam\\..\\..\\bad\x00\x1bname.jpg")

    assert message.startswith("“badname.jpg” was not saved")


def test_a_failure_while_writing_leaves_no_file(media, monkeypatch):
    written = []
    real_write = images._write_atomically

    def failing_write(image, path, fmt):
        if len(written) == 3:
            raise OSError("No space left on device")
        written.append(path)
        real_write(image, path, fmt)

    monkeypatch.setattr(images, "_write_atomically", failing_write)
    with pytest.raises(OSError):
        save_picture(upload(jpeg_bytes(), "photo.jpg"))

    assert len(written) == 3
    assert files_in(media) == []


# A product's photos


def test_several_photos_upload_at_once_with_numbered_alt_text(boss, tent, media):
    uploads = [upload(jpeg_bytes(), "a.jpg"), upload(png_bytes(), "b.png"), upload(webp_bytes(), "c.webp")]

    outcome = add_images(boss, tent.id, uploads, "  Green tent,\n door open ")

    assert outcome.refused == []
    assert [photo.alt for photo in photos(tent.id)] == [
        "Green tent, door open (photo 1)", "Green tent, door open (photo 2)", "Green tent, door open (photo 3)"]
    first = photos(tent.id)[0]
    assert (first.position, first.width, first.height) == (0, 600, 400)
    assert first.filename == rendition_name(first.key, "full", "jpg")
    assert (media / first.filename).is_file()
    assert len(files_in(media)) == 18
    records = audits()
    assert [record.action for record in records] == ["product_image.add"] * 3
    assert records[0].actor_id == boss.id and records[0].entity_id == first.id
    assert records[0].changes["alt"] == [None, "Green tent, door open (photo 1)"]


def test_one_photo_keeps_its_alt_text_as_typed(boss, tent):
    add_images(boss, tent.id, [upload(jpeg_bytes(), "a.jpg")], "Green tent")

    assert [photo.alt for photo in photos(tent.id)] == ["Green tent"]


def test_good_photos_are_stored_and_each_refused_one_is_named(boss, tent, media):
    uploads = [upload(jpeg_bytes(), "good.jpg"), upload(b"", "empty.png"), upload(b"text", "notes.webp"),
               upload(png_bytes(), "fine.png")]

    outcome = add_images(boss, tent.id, uploads, "Tent")

    assert outcome.added == ["Tent (photo 1)", "Tent (photo 2)"]
    assert outcome.refused == ["“empty.png” was not saved: the file is empty.",
                               "“notes.webp” was not saved: it is not a JPEG, PNG or WebP image, or it is damaged."]
    assert len(photos(tent.id)) == 2
    assert len(files_in(media)) == 12


def test_new_photos_go_after_the_existing_ones(boss, tent):
    add_images(boss, tent.id, [upload(jpeg_bytes(), "a.jpg")], "First")
    add_images(boss, tent.id, [upload(jpeg_bytes(), "b.jpg")], "Second")

    assert [(photo.alt, photo.position) for photo in photos(tent.id)] == [("First", 0), ("Second", 1)]


def test_blank_alt_text_is_refused_before_any_file_is_written(boss, tent, media):
    with pytest.raises(ShopError, match="alt text"):
        add_images(boss, tent.id, [upload(jpeg_bytes(), "a.jpg")], " \n ")

    assert files_in(media) == [] and photos(tent.id) == []


def test_photos_for_a_missing_product_write_no_file(boss, media):
    with pytest.raises(NotFound):
        add_images(boss, 12345, [upload(jpeg_bytes(), "a.jpg")], "Tent")

    assert files_in(media) == []


def test_when_the_database_refuses_the_photos_their_files_are_deleted(boss, tent, media, monkeypatch):
    def broken_record(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(audit, "record", broken_record)
    with pytest.raises(RuntimeError):
        add_images(boss, tent.id, [upload(jpeg_bytes(), "a.jpg"), upload(png_bytes(), "b.png")], "Tent")

    assert photos(tent.id) == []
    assert files_in(media) == []


def test_deleting_a_photo_removes_every_rendition_and_closes_the_gap(boss, tent, media):
    add_images(boss, tent.id, [upload(jpeg_bytes(), f"{n}.jpg") for n in range(3)], "Tent")
    first, second, third = photos(tent.id)
    variant = tent.variants[0]
    variant.image_id = second.id
    db.session.commit()

    assert delete_image(boss, tent.id, second.id) == "Tent (photo 2)"

    assert [(photo.id, photo.position) for photo in photos(tent.id)] == [(first.id, 0), (third.id, 1)]
    assert not any(second.key in name for name in files_in(media))
    assert len(files_in(media)) == 12
    db.session.refresh(variant)
    assert variant.image_id is None, "the variant shows the main photo instead"
    record = audits()[-1]
    assert (record.action, record.entity_id, record.changes["alt"]) == ("product_image.delete", second.id,
                                                                        ["Tent (photo 2)", None])


def test_a_photo_of_another_product_is_not_found(boss, tent):
    other = make_product("Stove", images=1)
    db.session.commit()
    alien = other.images[0].id

    for action in (lambda: delete_image(boss, tent.id, alien), lambda: make_main(boss, tent.id, alien),
                   lambda: move_image(boss, tent.id, alien, "up"), lambda: set_alt(boss, tent.id, alien, "x")):
        with pytest.raises(NotFound):
            action()
    assert len(photos(other.id)) == 1


def test_moving_and_choosing_the_main_photo_reorders_and_is_audited(boss, tent):
    add_images(boss, tent.id, [upload(jpeg_bytes(), f"{n}.jpg") for n in range(3)], "Tent")
    one, two, three = (photo.id for photo in photos(tent.id))

    assert move_image(boss, tent.id, three, "up") is True
    assert [photo.id for photo in photos(tent.id)] == [one, three, two]
    assert move_image(boss, tent.id, one, "up") is False, "the first photo cannot go higher"
    assert move_image(boss, tent.id, two, "down") is False
    assert make_main(boss, tent.id, two) is True
    assert [(photo.id, photo.position) for photo in photos(tent.id)] == [(two, 0), (one, 1), (three, 2)]
    assert make_main(boss, tent.id, two) is False

    moves = [record for record in audits() if record.action == "product_image.move"]
    assert [(record.entity_id, record.changes) for record in moves] == [
        (three, {"position": [2, 1]}), (two, {"position": [2, 0]})]
    with pytest.raises(ShopError):
        move_image(boss, tent.id, one, "sideways")


def test_alt_text_is_changed_and_audited_and_never_blank(boss, tent):
    add_images(boss, tent.id, [upload(jpeg_bytes(), "a.jpg")], "Tent")
    [photo] = photos(tent.id)

    assert set_alt(boss, tent.id, photo.id, "Tent in the snow") is True
    assert set_alt(boss, tent.id, photo.id, "Tent in the snow") is False
    for bad in ("", "   ", "x" * 256, "Tent\x00"):
        with pytest.raises(ShopError):
            set_alt(boss, tent.id, photo.id, bad)

    assert photos(tent.id)[0].alt == "Tent in the snow"
    record = audits()[-1]
    assert (record.action, record.changes) == ("product_image.update", {"alt": ["Tent", "Tent in the snow"]})


def test_renditions_are_written_atomically_with_no_temporary_file_left(boss, tent, media):
    add_images(boss, tent.id, [upload(jpeg_bytes(), "a.jpg")], "Tent")

    assert not any(os.path.basename(name).startswith(".") for name in files_in(media))

"""Nothing under /media/ is ever sent as a page or a script, whatever lands in the media folder.

An attacker who gets a file into the folder (a misconfigured sync, a compromised tool) must not
get the shop's origin to serve it as HTML, SVG or JavaScript: pictures go out as the image type
the shop gives them, never sniffed, and anything else is not found.
"""
from pathlib import Path

import pytest

from shop.services.images import rendition_name, save_picture
from tests.images import jpeg_bytes, upload

PAGE = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
KEY = "uploads/ab/" + "ab" * 16 + "-10x10"
DANGEROUS = ("text/html", "image/svg+xml", "application/xhtml+xml", "text/javascript", "application/javascript",
             "text/xml", "application/xml", "text/plain")


@pytest.fixture
def media(app) -> Path:
    folder = Path(app.config["MEDIA_PATH"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def plant(media: Path, name: str, content: bytes) -> str:
    path = media / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return f"/media/{name}"


def test_a_planted_page_svg_or_script_is_not_found(client, media):
    for name in ("evil.html", "demo/evil.htm", "uploads/ab/evil.svg", "demo/evil.SVG", "evil.js", "evil.mjs",
                 "evil.xhtml", "evil.xml", "evil.txt", "demo/evil", "demo/.png", "evil.png.html",
                 f"{KEY}-full.html", f"{KEY}-full.svg"):
        url = plant(media, name, SVG if "svg" in name.lower() else PAGE)

        for response in (client.get(url), client.head(url)):
            assert response.status_code == 404, name
            assert b"alert" not in response.data


def test_a_page_named_like_a_picture_goes_out_as_that_image_type_and_is_never_sniffed(client, media):
    renamed = {f"{KEY}-full.jpg": "image/jpeg", f"{KEY}-card.webp": "image/webp", "demo/tee.png": "image/png",
               "demo/Tee.JPEG": "image/jpeg"}
    for name, mimetype in renamed.items():
        response = client.get(plant(media, name, PAGE))

        assert response.status_code == 200 and response.mimetype == mimetype, name
        assert response.mimetype not in DANGEROUS
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"].split("; ")
        assert "Content-Disposition" not in response.headers


def test_a_rendition_is_served_as_its_format_with_nosniff_and_a_years_cache(client, app, media):
    stored = save_picture(upload(jpeg_bytes(), "front.jpg"))

    for fmt, mimetype in (("jpg", "image/jpeg"), ("webp", "image/webp")):
        name = rendition_name(stored.key, "card", fmt)
        response = client.get(f"/media/{name}")

        assert response.status_code == 200 and response.mimetype == mimetype
        assert response.data == (media / name).read_bytes()
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert "sandbox" in response.headers["Content-Security-Policy"].split("; ")
        assert response.content_length == len(response.data)

        again = client.get(f"/media/{name}", headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304 and again.data == b""


def test_paths_out_of_the_media_folder_or_to_folders_are_not_found(client, app, media):
    (media.parent / "outside.png").write_bytes(b"\x89PNG secret")
    (media / "demo.png").mkdir()

    for url in ("/media/../outside.png", "/media/demo/..%2f..%2foutside.png", "/media/%2e%2e/outside.png",
                "/media/demo.png"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"secret" not in response.data

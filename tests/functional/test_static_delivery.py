"""The shop's own files: favicon and touch icon, versioned static URLs cached for a year, compression."""
import gzip
import hashlib
import io
import re
from pathlib import Path

import brotli
from PIL import Image

from shop.core.static_files import VERSIONED_MAX_AGE

STATIC = Path(__file__).resolve().parents[2] / "static"
LONG_CACHE = f"public, max-age={VERSIONED_MAX_AGE}, immutable"


def linked(page: str, rel: str) -> str:
    """Return the href of the page's <link rel=...>."""
    match = re.search(rf'<link rel="{rel}" href="([^"]+)"', page)
    assert match, f"no <link rel={rel}>"
    return match.group(1)


def test_favicon_ico_is_an_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    assert response.data[:4] == b"\x00\x00\x01\x00"  # the ICO signature
    assert Image.open(io.BytesIO(response.data)).format == "ICO"


def test_pages_link_the_icons_theme_colour_and_a_description(client):
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" href="/favicon.ico" sizes="32x32">' in page
    touch_icon = client.get(linked(page, "apple-touch-icon"))
    assert touch_icon.mimetype == "image/png"
    assert Image.open(io.BytesIO(touch_icon.data)).size == (180, 180)
    assert '<meta name="theme-color" content="#1f6f5c">' in page
    assert re.search(r'<meta name="description" content="[^"]{20,}">', page)


def test_static_urls_carry_the_hash_of_the_files_content(client):
    stylesheet = linked(client.get("/").get_data(as_text=True), "stylesheet")
    content_hash = hashlib.sha256((STATIC / "css" / "shop.css").read_bytes()).hexdigest()
    assert re.fullmatch(r"/static/css/shop\.css\?v=([0-9a-f]+)", stylesheet)
    assert content_hash.startswith(stylesheet.rpartition("=")[2])


def test_a_file_asked_for_by_its_version_is_cached_for_a_year(client):
    stylesheet = linked(client.get("/").get_data(as_text=True), "stylesheet")
    response = client.get(stylesheet)
    assert response.status_code == 200 and response.mimetype == "text/css"
    assert response.headers["Cache-Control"] == LONG_CACHE


def test_without_its_current_version_a_file_must_be_checked_again(client):
    for url in ("/static/css/shop.css", "/static/css/shop.css?v=0123456789ab"):
        cache_control = client.get(url).headers.get("Cache-Control", "")
        assert "immutable" not in cache_control and "max-age=31536000" not in cache_control


def test_pages_and_stylesheets_are_sent_gzipped_to_browsers_that_accept_it(client):
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in page.headers["Vary"]
    assert b"<!doctype html>" in gzip.decompress(page.data)

    stylesheet = client.get(linked(gzip.decompress(page.data).decode(), "stylesheet"),
                            headers={"Accept-Encoding": "gzip"})
    assert stylesheet.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(stylesheet.data) == (STATIC / "css" / "shop.css").read_bytes()
    assert stylesheet.headers["Cache-Control"] == LONG_CACHE


def test_brotli_is_preferred_when_the_browser_offers_it(client):
    page = client.get("/", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert page.headers["Content-Encoding"] == "br"
    assert b"<!doctype html>" in brotli.decompress(page.data)


def test_a_browser_that_asks_for_no_compression_gets_none(client):
    page = client.get("/")
    assert "Content-Encoding" not in page.headers
    assert page.data.startswith(b"<!doctype html>")


def test_pictures_are_sent_as_they_are(client):
    for url in ("/favicon.ico", "/static/img/apple-touch-icon.png"):
        response = client.get(url, headers={"Accept-Encoding": "gzip, br"})
        assert response.status_code == 200
        assert "Content-Encoding" not in response.headers, url


def test_personal_pages_are_not_compressed(client):
    # They are never cached and hold secrets beside what the visitor typed: what BREACH reads.
    cart = client.get("/cart", headers={"Accept-Encoding": "gzip"})
    assert cart.status_code == 200 and "Content-Encoding" not in cart.headers


def test_a_stylesheet_the_browser_has_is_answered_with_304(client):
    for encoding in ("gzip", "identity"):
        first = client.get("/static/css/shop.css", headers={"Accept-Encoding": encoding})
        assert first.headers.get("ETag"), encoding
        again = client.get("/static/css/shop.css",
                           headers={"Accept-Encoding": encoding, "If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304, encoding
        assert again.data == b""

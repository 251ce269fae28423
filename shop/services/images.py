"""Stored pictures: the files behind product images, category pictures and brand logos.

An upload is stored under a key the shop chooses (never the uploaded file's name), as
renditions named <key>-<rendition>.<format> in the shop's storage (the media folder, or S3: see
shop/operations/storage.py). The key ends with the full
rendition's pixel size (uploads/ab/<32 hex>-1200x800), so a page can size any rendition from the
key alone and nothing shifts while it loads, even where only the key is kept (category images,
brand logos).

save_picture trusts nothing about the upload: its bytes must decode as a JPEG, PNG or WebP of a
bounded size; the renditions are re-encoded from the decoded pixels, so no metadata (EXIF with
GPS, XMP, comments, ICC profiles) survives.
"""
import io
import logging
import posixpath
import re
import secrets
import unicodedata
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app, url_for
from PIL import Image, ImageOps
from werkzeug.datastructures import FileStorage

from shop.operations.storage import StorageError, current_storage
from shop.services import ShopError

log = logging.getLogger(__name__)

# Rendition name -> the longest side in pixels.
RENDITIONS = {"thumb": 160, "card": 480, "full": 1200}
# Each format a rendition is written in, and the type it is stored and served as.
CONTENT_TYPES = {"webp": "image/webp", "jpg": "image/jpeg"}
FORMATS = tuple(CONTENT_TYPES)
# Pictures the shop did not render (the demo's drawings, files placed in the media folder by hand)
# are served only as one of these image types, chosen by their extension; any other file not at all.
PICTURE_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}

# Pillow's decoder names for the formats the shop accepts, whatever the file is called.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
# Decoding needs about 4 bytes a pixel: 40 MP is ~160 MB, more than any product photo needs.
MAX_PIXELS = 40_000_000
JPEG_QUALITY = 85
WEBP_QUALITY = 80

KEY_PATTERN = re.compile(r"uploads/[0-9a-f]{2}/[0-9a-f]{32}-(\d{1,5})x(\d{1,5})")
RENDITION_FILE = re.compile(rf"{KEY_PATTERN.pattern}-(?:{'|'.join(RENDITIONS)})\.(?:{'|'.join(FORMATS)})")


@dataclass(frozen=True)
class StoredPicture:
    """An upload the shop accepted: its renditions' key and the full rendition's size in pixels."""

    key: str
    width: int
    height: int


@dataclass(frozen=True)
class Rendition:
    name: str  # "thumb", "card" or "full"
    width: int
    height: int


def rendition_name(key: str, rendition: str, fmt: str) -> str:
    """Return a rendition's file name inside the media folder."""
    return f"{key}-{rendition}.{fmt}"


def fitted(width: int, height: int, box: int) -> tuple[int, int]:
    """Return the size that fits width x height inside a box x box square, never larger than it was."""
    longest = max(width, height)
    if longest <= box:
        return width, height
    return (max(1, (width * box + longest // 2) // longest), max(1, (height * box + longest // 2) // longest))


def renditions(width: int, height: int) -> list[Rendition]:
    """Return each rendition's size, smallest first, for a picture whose full rendition is width x height."""
    return [Rendition(name, *fitted(width, height, box)) for name, box in RENDITIONS.items()]


def key_size(key: str) -> tuple[int, int] | None:
    """Return the full rendition's (width, height) written into a key, or None for a key the shop did not make."""
    match = KEY_PATTERN.fullmatch(key or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def is_rendition_file(filename: str) -> bool:
    """Return whether a media path names a rendition of a stored picture (its content never changes)."""
    return RENDITION_FILE.fullmatch(filename) is not None


def media_type(filename: str) -> str | None:
    """Return the image type a media file is served as, or None for a file the shop never serves.

    A rendition's type is its format's; another picture's comes from a short list of raster image
    types, so nothing in the media folder is ever sent as HTML, SVG or script.
    """
    if is_rendition_file(filename):
        return CONTENT_TYPES[filename.rpartition(".")[2]]
    name, dot, extension = posixpath.basename(filename).rpartition(".")
    return PICTURE_TYPES.get(extension.lower()) if name and dot else None


def picture_url(key: str, rendition: str = "full", fmt: str = "jpg") -> str:
    """Return the URL of one rendition of a stored picture."""
    return url_for("core.media", filename=rendition_name(key, rendition, fmt))


@dataclass(frozen=True)
class PictureSources:
    """What a page needs to show a stored picture: a srcset per format, the fallback file and its size."""

    webp_srcset: str
    jpg_srcset: str
    src: str  # the JPEG of the largest rendition offered
    width: int
    height: int


def picture_sources(image, rendition: str = "full", box: int | None = None) -> PictureSources | None:
    """Return the sources of a stored picture up to the given rendition, or None when it has no renditions.

    image is a ProductImage (or anything with key, width and height) or a bare key such as a
    category's image_key. The width and height are the largest rendition's, or, given a box,
    the size that fits the picture in a box x box square (a small thumbnail).
    """
    key = image if isinstance(image, str) else getattr(image, "key", None)
    if not key:
        return None
    width, height = getattr(image, "width", None), getattr(image, "height", None)
    if not (width and height):
        width, height = key_size(key) or (RENDITIONS["full"], RENDITIONS["full"])
    wanted = list(RENDITIONS).index(rendition) + 1 if rendition in RENDITIONS else len(RENDITIONS)
    offered: list[Rendition] = []
    for candidate in renditions(width, height)[:wanted]:
        if offered and offered[-1].width == candidate.width:
            offered[-1] = candidate  # a small original: the same pixels twice, offer the file once
        else:
            offered.append(candidate)

    def srcset(fmt: str) -> str:
        return ", ".join(f"{picture_url(key, each.name, fmt)} {each.width}w" for each in offered)

    largest = offered[-1]
    shown = fitted(largest.width, largest.height, box) if box else (largest.width, largest.height)
    return PictureSources(srcset("webp"), srcset("jpg"), picture_url(key, largest.name, "jpg"), *shown)


def max_upload_bytes() -> int:
    """Return the largest upload accepted, from SHOP_MAX_UPLOAD_MB."""
    return int(current_app.config["MAX_UPLOAD_MB"]) * 1024 * 1024


def shown_name(filename: str | None) -> str:
    """Return an upload's base name, safe and short enough to quote in a message."""
    base = posixpath.basename((filename or "").replace("\\", "/"))
    printable = "".join(char for char in base if unicodedata.category(char)[0] not in ("C", "Z") or char == " ")
    printable = printable.strip()
    if len(printable) > 80:
        printable = printable[:77] + "…"
    return printable or "the file"


def save_picture(upload: FileStorage) -> StoredPicture:
    """Check an uploaded image and write its renditions under a new key; raise ShopError naming the file if refused."""
    name = shown_name(upload.filename)
    limit = max_upload_bytes()
    data = upload.stream.read(limit + 1)
    if not data:
        raise ShopError(f"“{name}” was not saved: the file is empty.")
    if len(data) > limit:
        raise ShopError(f"“{name}” was not saved: it is larger than {current_app.config['MAX_UPLOAD_MB']} MB.")
    pixels = _decoded(data, name)
    try:
        return _write_renditions(pixels)
    except StorageError:
        log.exception("Could not store the renditions of %s", name)
        raise ShopError(f"“{name}” was not saved: the picture storage is not available right now "
                        "(`flask shop check` says why). Please try again later.") from None


def discard_picture(key: str | None) -> None:
    """Delete a stored picture's files: one that was saved but never used, or one whose row is gone."""
    delete_files([key])


def delete_files(keys: Iterable[str | None]) -> None:
    """Delete every rendition of the given keys; call it after the transaction that dropped their rows commits."""
    names = [rendition_name(key, rendition, fmt) for key in keys if key for rendition in RENDITIONS for fmt in FORMATS]
    try:
        current_storage().delete(names)
    except StorageError:
        # The rows are gone and no page links the files any more: left behind, they cost only space.
        log.exception("Could not delete %d stored files", len(names))


def _decoded(data: bytes, name: str) -> Image.Image:
    """Return the upload's pixels, upright, in RGB, no larger than the full rendition, with no metadata."""
    not_an_image = ShopError(f"“{name}” was not saved: it is not a JPEG, PNG or WebP image, or it is damaged.")
    too_large = ShopError(f"“{name}” was not saved: the image has too many pixels "
                          f"(at most {MAX_PIXELS // 1_000_000} megapixels).")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            # The header alone gives the size: a bomb is refused before a pixel is decoded.
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
                if probe.width * probe.height > MAX_PIXELS:
                    raise too_large
                probe.verify()
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                # A JPEG decodes straight at a fraction of its size when that still covers the full rendition.
                image.draft("RGB", (RENDITIONS["full"], RENDITIONS["full"]))
                image.load()
                upright = ImageOps.exif_transpose(image)
                upright.thumbnail((RENDITIONS["full"], RENDITIONS["full"]), Image.Resampling.LANCZOS)
                return _flattened(upright)
        except ShopError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise too_large from None
        # Pillow's decoders answer hostile bytes with many kinds of error (OSError, SyntaxError,
        # ValueError, struct.error, EOFError...): each means the same thing here.
        except Exception:
            raise not_an_image from None


def _flattened(image: Image.Image) -> Image.Image:
    """Return the pixels alone in a new RGB image, transparency on white: nothing of the file's metadata."""
    if image.mode == "P":
        image = image.convert("RGBA")
    clean = Image.new("RGB", image.size, "white")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        clean.paste(rgba, mask=rgba.getchannel("A"))
    else:
        clean.paste(image.convert("RGB"))
    return clean


def _write_renditions(full: Image.Image) -> StoredPicture:
    """Write every rendition under a new key; on any failure remove whatever was written."""
    token = secrets.token_hex(16)
    key = f"uploads/{token[:2]}/{token}-{full.width}x{full.height}"
    try:
        for rendition in renditions(full.width, full.height):
            resized = full if rendition.name == "full" else full.resize(
                (rendition.width, rendition.height), Image.Resampling.LANCZOS)
            for fmt in FORMATS:
                _write_atomically(resized, rendition_name(key, rendition.name, fmt), fmt)
    except BaseException:
        delete_files([key])
        raise
    return StoredPicture(key, full.width, full.height)


def _write_atomically(image: Image.Image, name: str, fmt: str) -> None:
    """Encode a rendition and store it in one step: no half-written rendition is ever served."""
    out = io.BytesIO()
    if fmt == "webp":
        image.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    else:
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    current_storage().save(name, out.getvalue(), CONTENT_TYPES[fmt], immutable=True)

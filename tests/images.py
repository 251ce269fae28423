"""Bytes of test images, as a camera, an editor or an attacker would make them, and uploads carrying them."""
import io
import struct
import zlib

from PIL import Image
from werkzeug.datastructures import FileStorage

ORIENTATION = 0x0112
GPS_IFD = 0x8825
GPS_LATITUDE_REF, GPS_LATITUDE = 1, 2
IMAGE_DESCRIPTION = 0x010E


def jpeg_bytes(width: int = 600, height: int = 400, colour=(200, 30, 30), orientation: int | None = None,
               gps: bool = False, quality: int = 90) -> bytes:
    """Return a JPEG; with an EXIF orientation tag and a GPS position when asked, as phones write them."""
    image = Image.new("RGB", (width, height), colour)
    # A black left edge shows which way the picture was turned.
    image.paste((0, 0, 0), (0, 0, max(1, width // 10), height))
    exif = Image.Exif()
    exif[IMAGE_DESCRIPTION] = "Taken at home"
    if orientation:
        exif[ORIENTATION] = orientation
    if gps:
        exif[GPS_IFD] = {GPS_LATITUDE_REF: "N", GPS_LATITUDE: (51.0, 30.0, 12.5)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif.tobytes(), comment=b"secret comment")
    return out.getvalue()


def png_bytes(width: int = 400, height: int = 400, alpha: bool = False) -> bytes:
    """Return a PNG; with alpha, its left half is fully transparent."""
    if alpha:
        image = Image.new("RGBA", (width, height), (0, 0, 255, 255))
        image.paste((0, 0, 0, 0), (0, 0, width // 2, height))
    else:
        image = Image.new("RGB", (width, height), (0, 0, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def webp_bytes(width: int = 500, height: int = 300) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (0, 160, 0)).save(out, "WEBP")
    return out.getvalue()


def png_bomb(width: int = 10_000, height: int = 6_000) -> bytes:
    """Return a valid 1-bit PNG of width x height (60 megapixels by default) that is only a few KB."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x00" * ((width + 7) // 8)  # filter byte, then the row's bits
    compressor = zlib.compressobj(9)
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def upload(data: bytes, filename: str = "photo.jpg", content_type: str = "image/jpeg") -> FileStorage:
    """Wrap bytes as the FileStorage a multipart form hands a view."""
    return FileStorage(io.BytesIO(data), filename=filename, content_type=content_type)


def picture_file(name: str, fmt: str = "JPEG", width: int = 600, height: int = 400) -> tuple[io.BytesIO, str]:
    """Return a plain picture as the test client posts a file field: (stream, file name)."""
    data = {"JPEG": jpeg_bytes, "PNG": png_bytes, "WEBP": webp_bytes}[fmt](width=width, height=height)
    return io.BytesIO(data), name

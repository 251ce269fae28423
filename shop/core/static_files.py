"""How the shop delivers its own files: versioned static URLs cached for a year, compression, the favicon.

Every `url_for('static', ...)` gets `?v=` and a hash of the file's content, so a changed file has
a new URL and browsers may keep each version for good. Text responses are compressed with gzip or
Brotli (Flask-Compress); pictures are already compressed and are sent as they are.
"""
import hashlib
import os
from functools import lru_cache

from flask import Flask, Response, current_app, request, send_from_directory

from shop.core.security import PERSONAL_BLUEPRINTS
from shop.extensions import compress

VERSIONED_MAX_AGE = 365 * 24 * 3600
FAVICON_MAX_AGE = 24 * 3600  # browsers ask for /favicon.ico by that name, so it cannot be versioned
COMPRESSED_TYPES = [
    "text/html", "text/css", "text/plain", "text/javascript", "application/javascript", "application/json",
    "image/svg+xml",
]


@lru_cache(maxsize=256)
def _content_hash(path: str, modified_ns: int, size: int) -> str:
    """Return a short hash of a file's bytes; the stat values in the key notice an edited file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(65536), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def static_version(filename: str) -> str | None:
    """Return the version of a file under the static folder, or None when there is no such file."""
    folder = current_app.static_folder
    if not folder:
        return None
    path = os.path.join(folder, filename)
    try:
        stat = os.stat(path)
    except (OSError, ValueError):
        return None
    return _content_hash(path, stat.st_mtime_ns, stat.st_size)


def add_static_version(endpoint: str, values: dict) -> None:
    """Give every static URL its file's content hash as `v`."""
    if endpoint == "static" and "v" not in values and "filename" in values:
        version = static_version(values["filename"])
        if version:
            values["v"] = version


def cache_versioned_files(response: Response) -> Response:
    """Let browsers keep a static file for a year when it was asked for by its current version."""
    if request.endpoint != "static" or response.status_code not in (200, 304):
        return response
    filename = (request.view_args or {}).get("filename", "")
    if request.args.get("v") and request.args.get("v") == static_version(filename):
        response.cache_control.no_cache = None  # Flask's default for static files: ask again every time
        response.cache_control.public = True
        response.cache_control.max_age = VERSIONED_MAX_AGE
        response.cache_control.immutable = True
    return response


def compress_response(response: Response) -> Response:
    """Compress text for the browser, except pages of one person's data.

    Those pages are never cached and hold secrets beside what a visitor typed, the mix a
    compression side channel (BREACH) reads.
    """
    if request.blueprint in PERSONAL_BLUEPRINTS:
        return response
    return compress.after_request(response)


def favicon():
    """Serve the icon browsers ask for at /favicon.ico."""
    folder = os.path.join(current_app.static_folder or "", "img")
    return send_from_directory(folder, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=FAVICON_MAX_AGE)


def register(app: Flask) -> None:
    """Version static URLs, cache versioned files for a year, compress text, and answer /favicon.ico."""
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    # Static files are sent as streams; Flask-Compress would otherwise leave gzip out for them.
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "gzip"])
    app.config["COMPRESS_REGISTER"] = False
    compress.init_app(app)
    app.url_defaults(add_static_version)
    app.after_request(cache_versioned_files)
    app.after_request(compress_response)
    app.add_url_rule("/favicon.ico", "favicon", favicon)

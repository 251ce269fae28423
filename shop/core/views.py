"""Health check and product media."""
import os

from flask import abort, current_app, send_from_directory

from shop.core import bp
from shop.database import database_reachable
from shop.extensions import limiter


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """Answer 200 when the database answers, 503 when it does not."""
    if not database_reachable():
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}, 200


@bp.get("/media/<path:filename>")
def media(filename: str):
    """Serve uploaded and generated product images from the media folder."""
    folder = current_app.config["MEDIA_PATH"]
    if not os.path.isdir(folder):
        abort(404)
    response = send_from_directory(folder, filename, max_age=7 * 24 * 3600)
    return response

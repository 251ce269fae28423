"""Health check and product media."""
import os

from flask import abort, current_app, send_from_directory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from shop.core import bp
from shop.extensions import db, limiter


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """Answer 200 when the database answers, 503 when it does not."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
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

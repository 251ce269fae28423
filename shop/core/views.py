"""Product media."""
import os

from flask import abort, current_app, send_from_directory

from shop.core import bp
from shop.services.images import is_rendition_file, picture_sources

# A rendition's name is new for every upload, so its content never changes: browsers may keep it for a year.
RENDITION_MAX_AGE = 365 * 24 * 3600
OTHER_MEDIA_MAX_AGE = 7 * 24 * 3600

bp.add_app_template_global(picture_sources)


@bp.get("/media/<path:filename>")
def media(filename: str):
    """Serve product images from the media folder: stored renditions as immutable, other files for a week."""
    folder = current_app.config["MEDIA_PATH"]
    if not os.path.isdir(folder):
        abort(404)
    if is_rendition_file(filename):
        response = send_from_directory(folder, filename, max_age=RENDITION_MAX_AGE)
        response.cache_control.immutable = True
        response.cache_control.public = True
        return response
    return send_from_directory(folder, filename, max_age=OTHER_MEDIA_MAX_AGE)

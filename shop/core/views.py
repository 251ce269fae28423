"""Product media, from the media folder or S3 alike."""
from flask import abort, current_app, request
from werkzeug.wsgi import wrap_file

from shop.core import bp
from shop.core.security import content_security_policy
from shop.operations.storage import IMMUTABLE_MAX_AGE, MUTABLE_MAX_AGE, StorageError, current_storage
from shop.services.images import is_rendition_file, media_type, picture_sources

bp.add_app_template_global(picture_sources)


@bp.get("/media/<path:filename>")
def media(filename: str):
    """Serve a stored picture as the image type the shop gives it: renditions as immutable, others for a week.

    Streamed through the shop from S3 too, so image URLs, the content security policy and these
    headers stay the same wherever the files live, and the bucket needs no public access.
    """
    mimetype = media_type(filename)
    if mimetype is None:
        abort(404)
    try:
        stored = current_storage().open(filename)
    except StorageError:
        current_app.logger.exception("Could not read %s from the picture storage", filename)
        abort(503)
    if stored is None:
        abort(404)
    response = current_app.response_class(wrap_file(request.environ, stored.stream), mimetype=mimetype,
                                          direct_passthrough=True)
    response.content_length = stored.size
    response.last_modified = stored.modified
    response.set_etag(stored.etag)
    response.cache_control.public = True
    if is_rendition_file(filename):
        response.cache_control.max_age = IMMUTABLE_MAX_AGE
        response.cache_control.immutable = True
    else:
        response.cache_control.max_age = MUTABLE_MAX_AGE
    # Should a browser ever open a stored file as a page, it runs in a sandbox: no script, no
    # forms, no access to the shop's cookies or storage.
    response.headers["Content-Security-Policy"] = f"{content_security_policy()}; sandbox"
    # A 304 sends no body; the server still closes the stream through the response.
    return response.make_conditional(request)

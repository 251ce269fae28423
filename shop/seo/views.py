"""The sitemap (one file, or an index of files past SITEMAP_LIMIT URLs) and robots.txt."""
from flask import Response, abort, render_template, request

from shop.seo import bp
from shop.services import seo

XML = "application/xml"


@bp.get("/sitemap.xml")
def sitemap():
    """List every page worth indexing, or, past the limit of one file, the sitemap files that do."""
    pages = seo.sitemap_page_count(seo.sitemap_size())
    if pages == 1:
        return Response(seo.urlset_xml(seo.sitemap_entries(1)), mimetype=XML)
    build = seo.url_builder()
    files = [build("seo.sitemap_page", file_number=number) for number in range(1, pages + 1)]
    return Response(seo.sitemap_index_xml(files), mimetype=XML)


@bp.get("/sitemap-<id:file_number>.xml")
def sitemap_page(file_number: int):
    """List one file's share of the pages worth indexing; there are none while one file holds them all."""
    pages = seo.sitemap_page_count(seo.sitemap_size())
    if pages == 1 or file_number > pages:
        abort(404)
    return Response(seo.urlset_xml(seo.sitemap_entries(file_number)), mimetype=XML)


@bp.get("/robots.txt")
def robots():
    """Keep crawlers out of private pages and search results, and point them at the sitemap."""
    body = render_template("seo/robots.txt", root=request.script_root, disallowed=seo.disallowed_paths(),
                           sitemap=seo.absolute_url("seo.sitemap"))
    return Response(body, mimetype="text/plain")

"""Which pages search engines may index: none of one person's pages, nor search results."""
from flask import request
from werkzeug.wrappers import Response

from shop.core.security import PERSONAL_BLUEPRINTS
from shop.seo import bp
from shop.services import seo

PRIVATE = "noindex"
# Search results are not worth indexing, but the products they link to are.
SEARCH_RESULTS = "noindex, follow"


@bp.app_template_global()
def robots_directive() -> str | None:
    """Return the robots rule of this request's page, or None when search engines may index it."""
    if request.blueprint in PERSONAL_BLUEPRINTS:
        return PRIVATE
    if request.endpoint == "catalog.search":
        return SEARCH_RESULTS
    return None


@bp.app_template_global()
def canonical_category_url(slug: str, page: int) -> str:
    """Return a category page's canonical address: without sort or filters, with its page number past the first.

    A filtered listing's later pages hold other products than the category's own, so a filtered
    page points at the category's first page.
    """
    filtered = any(name not in ("page", "sort") for name in request.args)
    return seo.absolute_url("catalog.category", slug=slug, page=page if page > 1 and not filtered else None)


@bp.after_app_request
def add_robots_header(response: Response) -> Response:
    """Send the page's robots rule as X-Robots-Tag too, which also covers files that are not HTML."""
    directive = robots_directive()
    if directive:
        response.headers.setdefault("X-Robots-Tag", directive)
    return response


bp.add_app_template_global(seo.absolute_url)
bp.add_app_template_global(seo.image_url)
bp.add_app_template_global(seo.logo_url)
bp.add_app_template_global(seo.json_ld)
bp.add_app_template_global(seo.product_structured_data)
bp.add_app_template_global(seo.home_structured_data)

"""A content page as shoppers read it, and the addresses the footer's pages had before they were editable."""
from flask import abort, redirect, render_template, url_for

from shop.pages import bp
from shop.services import content_pages

# Links in emails, bookmarks and search engines still point at these.
OLD_ADDRESSES = {"/shipping-returns": "shipping-returns", "/privacy": "privacy", "/terms": "terms",
                 "/contact": "contact"}


@bp.get("/pages/<slug>")
def page(slug: str):
    """Show a published page; an unpublished or unknown one is not found."""
    found = content_pages.published_page(slug)
    if found is None:
        abort(404)
    return render_template("pages/page.html", page=found, body=content_pages.render_body(found.body))


def _moved(slug: str):
    def view():
        return redirect(url_for("pages.page", slug=slug), 301)

    view.__doc__ = f"Send the old address to the {slug} page, for good."
    return view


for path, slug in OLD_ADDRESSES.items():
    bp.add_url_rule(path, slug.replace("-", "_"), _moved(slug), methods=["GET"])

"""Shoppers' catalogue pages: home, categories, search, product pages."""
from flask import abort, current_app, render_template, request

from shop.catalog import bp
from shop.core.params import page_number
from shop.services import catalog as queries


def _sort_arg() -> str:
    sort = request.args.get("sort", queries.DEFAULT_SORT)
    return sort if sort in queries.SORTS else queries.DEFAULT_SORT


@bp.get("/")
def home():
    """Show featured products and the top categories."""
    return render_template("catalog/home.html", featured=queries.featured_products())


@bp.get("/categories/<slug>")
def category(slug: str):
    """List the products of a category and its subcategories."""
    family = queries.category_family(slug)
    if family is None:
        abort(404)
    sort = _sort_arg()
    page = queries.category_products(
        family.subtree_ids, sort, page_number(), current_app.config["PRODUCTS_PER_PAGE"]
    )
    return render_template(
        "catalog/category.html", family=family, page=page, sort=sort, sorts=queries.SORTS
    )


@bp.get("/search")
def search():
    """Search active products by name."""
    # Postgres cannot compare text holding a NUL, and no product name has one.
    term = request.args.get("q", "").replace("\x00", "").strip()[:100]
    sort = _sort_arg()
    page = None
    if term:
        page = queries.search_products(term, sort, page_number(), current_app.config["PRODUCTS_PER_PAGE"])
    return render_template("catalog/search.html", term=term, page=page, sort=sort, sorts=queries.SORTS)


@bp.get("/products/<slug>")
def product(slug: str):
    """Show a product with its variants; the variant comes from ?variant= so it works without JS."""
    item = queries.product_detail(slug)
    if item is None or not item.variants:
        abort(404)
    requested = request.args.get("variant", "")
    selected = next((v for v in item.variants if str(v.id) == requested), None)
    if selected is None:
        selected = next((v for v in item.variants if v.stock > 0), item.variants[0])
    return render_template("catalog/product.html", product=item, selected=selected)

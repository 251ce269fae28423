"""Shoppers' catalogue pages: home, categories, search, product pages."""
from dataclasses import dataclass

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from shop.catalog import bp, reviews, suggestions
from shop.core import page_cache
from shop.core.page_cache import cached_page
from shop.models import ProductImage, ProductOption, ProductVariant
from shop.services import catalog as queries
from shop.services import discovery, lists
from shop.services.rich_text import first_sentence


@bp.get("/")
@cached_page
def home():
    """Show featured products and the top categories."""
    return render_template("catalog/home.html", featured=queries.featured_products(), tiles=queries.category_tiles())


@bp.get("/categories/<slug>")
@cached_page
def category(slug: str):
    """List the products of a category and its subcategories, narrowed by the filters in the query string."""
    family = queries.category_family(slug)
    if family is None:
        abort(404)
    criteria = discovery.criteria_from_args(request.args, family=family)
    found = discovery.listing(criteria, current_app.config["PRODUCTS_PER_PAGE"])
    return render_template("catalog/category.html", family=family, listing=found, page=found.page,
                           sort=criteria.sort, sorts=criteria.sorts)


@bp.get("/search")
@cached_page
def search():
    """Search active products by what was typed, narrowed by the filters in the query string."""
    criteria = discovery.criteria_from_args(request.args)
    found = None
    if criteria.q or criteria.filtered:
        found = discovery.listing(criteria, current_app.config["PRODUCTS_PER_PAGE"])
    return render_template("catalog/search.html", term=criteria.q, listing=found, page=found.page if found else None,
                           sort=criteria.sort, sorts=criteria.sorts)


@bp.get("/products/<slug>")
@cached_page
def product(slug: str):
    """Show a product with its variants; the variant comes from ?variant= and the photo shown large from
    ?image= (an image id), so both work without JS.

    An old slug of a renamed product answers with a permanent redirect to the current one.
    """
    item = queries.product_detail(slug)
    if item is None:
        current = queries.renamed_product_slug(slug)
        if current is None:
            abort(404)
        return redirect(url_for("catalog.product", slug=current, variant=request.args.get("variant")), 301)
    variants = [variant for variant in item.variants if variant.is_active]
    if not variants:
        abort(404)
    requested = request.args.get("variant", "")
    selected = next((v for v in variants if str(v.id) == requested), None)
    if selected is None:
        selected = next((v for v in variants if v.stock > 0), variants[0])
    images = sorted(item.images, key=lambda image: image.id != selected.image_id)  # the variant's own first
    return render_template(
        "catalog/product.html", product=item, selected=selected, variants=variants, images=images,
        shown_image=_requested_image(images), chosen_variant=selected if str(selected.id) == requested else None,
        trail=queries.category_trail(item.category_id),
        picker=variant_picker(item.options, variants, selected),
        meta_description=item.meta_description or first_sentence(item.description),
        **reviews.product_page_context(item), **suggestions.product_page_context(item),
    )


@page_cache.hole("product_wishlist", same_for_logged_out=True)
def wishlist_state(product_id: int, slug: str, variant_id: int) -> str:
    """Render the visitor's wishlist state for the product, the form to add it, or the way to log in."""
    entry = lists.wishlist_item_id(current_user.id, product_id) if current_user.is_authenticated else None
    return page_cache.render_part("personal/product_wishlist.html", wishlist_entry=entry, product_id=product_id,
                                  slug=slug, variant_id=variant_id)


def _requested_image(images: list[ProductImage]) -> ProductImage | None:
    """Return the photo ?image= asks for when it is one of the product's, else the first."""
    requested = request.args.get("image", "")
    return next((image for image in images if str(image.id) == requested), images[0] if images else None)


@dataclass
class PickerValue:
    """One value of an option on the product page: where its link leads and how it is marked."""

    value: str
    variant: ProductVariant | None  # what the link selects; None when no active variant has this value
    selected: bool
    exact: bool  # the link keeps the other options as chosen (else it changes them to what exists)


@dataclass
class PickerOption:
    name: str
    values: list[PickerValue]


def variant_picker(options: list[ProductOption], variants: list[ProductVariant],
                   selected: ProductVariant) -> list[PickerOption]:
    """Return each option's values as links: to the variant with that value and the other options as
    selected when that combination is sold, else to the first variant that has the value."""
    by_values = {variant.option_values: variant for variant in reversed(variants)}
    picker = []
    for option in sorted(options, key=lambda o: o.position):
        position = option.position
        values = []
        for value_row in option.values:
            wanted = list(selected.option_values)
            wanted[position] = value_row.value
            exact = by_values.get((wanted[0], wanted[1], wanted[2]))
            target = exact or next((v for v in variants if v.option_values[position] == value_row.value), None)
            values.append(PickerValue(value=value_row.value, variant=target,
                                      selected=selected.option_values[position] == value_row.value,
                                      exact=exact is not None))
        picker.append(PickerOption(option.name, values))
    return picker

"""Shoppers' reviews on product pages: who may write one, the form, the list."""
from flask import current_app, flash, g, redirect, request, url_for
from flask_login import current_user

from shop.catalog import bp
from shop.catalog.forms import ReviewForm
from shop.catalog.limits import review_saved, reviews_per_user
from shop.core import page_cache
from shop.core.outcomes import flash_refusals, load_or_404
from shop.models import Product
from shop.services import reviews

REVIEWS_PER_PAGE = 5
MAX_REVIEWS_PAGE = 10_000


def _reviews_page_number() -> int:
    """Return ?reviews_page= from 1 to MAX_REVIEWS_PAGE, 1 for anything else."""
    return max(1, min(request.args.get("reviews_page", 1, type=int), MAX_REVIEWS_PAGE))


def product_page_context(product: Product) -> dict:
    """Return what the product page's rating summary and reviews list need (the same for every visitor).

    rating_count and rating_average (a float, or None without reviews) count visible reviews only.
    """
    summary = reviews.rating_summary(product.id)
    return {
        "rating_count": summary.count,
        "rating_average": summary.average,
        "rating_bars": summary.bars,
        "review_page": reviews.review_page(product.id, _reviews_page_number(), REVIEWS_PER_PAGE, summary.count),
    }


@page_cache.hole("review_write", same_for_logged_out=True)
def review_write(product_id: int, slug: str) -> str:
    """Render the visitor's review form when they bought the product, else who may review it."""
    reviewer, review_form = None, None
    if current_user.is_authenticated:
        reviewer = reviews.reviewer(current_user.id, product_id)
        if reviewer.bought:
            # After a refused post the view left the submitted form, with its errors, to be shown again.
            review_form = g.get("review_form") or ReviewForm.filled_from(reviewer.review)
    return page_cache.render_part("personal/review_write.html", slug=slug, reviewer=reviewer,
                                  review_form=review_form)


def _product_url(slug: str, **args) -> str:
    variant = request.args.get("variant", type=int)
    return url_for("catalog.product", slug=slug, variant=variant, _anchor="reviews", **args)


@bp.post("/products/<slug>/reviews")
@reviews_per_user
def review_post(slug: str):
    """Save the shopper's review of the product, then show the page again; with mistakes, show them on it."""
    product_id = load_or_404(reviews.active_product_id, slug)
    if not current_user.is_authenticated:
        flash("Please log in to review this product.", "info")
        return redirect(url_for("auth.login", next=url_for("catalog.product", slug=slug)))
    form = ReviewForm()
    if not form.validate():
        g.review_form = form
        return current_app.view_functions["catalog.product"](slug=slug), 422
    with flash_refusals():
        created = reviews.save_review(current_user, product_id, form.fields())
        review_saved.set()
        flash("Thank you: your review is on the page." if created else "Your review has been updated.", "success")
    return redirect(_product_url(slug))

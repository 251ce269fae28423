"""Admin review pages: the list (search, filter, pages) and hiding or unhiding a review after confirmation."""
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from shop.admin import bp, listing
from shop.admin.confirm import Confirmation, ask, confirmed
from shop.core.outcomes import flash_refusals, load_or_404
from shop.services.reviews import ADMIN_STATUSES, admin_reviews, review_for_admin, set_hidden

REVIEWS_PER_PAGE = 50
EXCERPT = 300  # characters of a review's text shown on the confirmation page


def _list_args() -> dict[str, Any]:
    """Return the list's search, filter and page as the query string has them, to come back to the same view."""
    args: dict[str, Any] = {"q": listing.search_term(), "status": listing.choice("status", ADMIN_STATUSES),
                                  "page": listing.page()}
    return {name: value for name, value in args.items() if value and value != 1}


@bp.get("/reviews")
def reviews():
    """List reviews newest first; ?q= searches product names and reviewer emails, ?status= shows visible or hidden."""
    term = listing.search_term()
    status = listing.choice("status", ADMIN_STATUSES)
    page = admin_reviews(term, status, listing.page(), REVIEWS_PER_PAGE)
    return render_template("admin/reviews.html", page=page, term=term, status=status,
                           statuses=ADMIN_STATUSES, list_args=_list_args())


@bp.route("/reviews/<id:review_id>/hide", methods=["GET", "POST"])
def review_hide(review_id: int):
    """Hide a review from shoppers and from the product's rating, after confirmation."""
    return _moderate(review_id, hidden=True)


@bp.route("/reviews/<id:review_id>/unhide", methods=["GET", "POST"])
def review_unhide(review_id: int):
    """Show a hidden review again, after confirmation."""
    return _moderate(review_id, hidden=False)


def _moderate(review_id: int, hidden: bool):
    row = load_or_404(review_for_admin, review_id)
    back = url_for("admin.reviews", **_list_args())
    if request.method == "POST" and confirmed():
        with flash_refusals():
            outcome = set_hidden(current_user._get_current_object(), review_id, hidden)
            title = outcome.review.title
            if not outcome.changed:
                flash(f"The review “{title}” was already {'hidden' if hidden else 'visible'}.", "info")
            elif hidden:
                flash(f"The review “{title}” is hidden: shoppers no longer see it or count it.", "success")
            else:
                flash(f"The review “{title}” is visible again and counts in the product's rating.", "success")
            return redirect(back)
    review = row.review
    endpoint = "admin.review_hide" if hidden else "admin.review_unhide"
    excerpt = review.body if len(review.body) <= EXCERPT else review.body[:EXCERPT].rstrip() + "…"
    items = [f"{review.rating} out of 5 stars: “{review.title}”", f"By {review.author_name} ({row.reviewer_email}) "
             f"on {review.created_at.strftime('%d %b %Y')}"] + ([excerpt] if excerpt else [])
    if hidden:
        question = (f"Shoppers will no longer see this review of {row.product_name}, and it will no longer count in "
                    "its rating. The reviewer still sees it, and you can show it again later.")
    else:
        question = f"Shoppers will see this review of {row.product_name} again, and it will count in its rating."
    return ask(Confirmation(
        title="Hide this review?" if hidden else "Show this review again?",
        question=question, items=items,
        action_url=url_for(endpoint, review_id=review_id, **_list_args()),
        button="Hide the review" if hidden else "Show the review", cancel_url=back, danger=hidden,
    ))

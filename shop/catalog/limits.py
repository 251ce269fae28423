"""The rate limit on writing reviews, per shopper: bounds flooding a product page or the moderators."""
from flask_login import current_user

from shop.core.limits import RequestMark, by_client_address, form_limit


def by_reviewer() -> str:
    """Key the limit on the logged-in shopper (a visitor who is not gets sent to log in, by address)."""
    return f"user:{current_user.id}" if current_user.is_authenticated else by_client_address()


# Only saved reviews count: a form sent back with a mistake to correct costs nothing.
review_saved = RequestMark("review_saved")

reviews_per_user = form_limit("REVIEW_LIMIT", by_reviewer, "review-user", counts=review_saved)

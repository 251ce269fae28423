"""Shoppers' reviews: who may write one, writing and editing it, a product's figures, and admins hiding them.

A shopper may review a product once they bought it: an order of theirs containing one of its
variants whose payment was taken (paid, or refunded afterwards: a shopper who sent a faulty item
back has an experience worth reading) and that was not cancelled (a cancelled order never left
the warehouse). Hidden reviews are shown to no one and counted nowhere.
"""
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager

from shop.database import write_transaction
from shop.extensions import db
from shop.models import Order, OrderItem, Product, ProductVariant, Review, User, lengths
from shop.models.order import MONEY_TAKEN, OrderStatus
from shop.services import NotFound, ShopError, audit, search_index
from shop.services.catalog import Page, contains_pattern
from shop.text import storable

STARS = (5, 4, 3, 2, 1)
ONLY_BUYERS = "Only shoppers who bought this product can review it."
ADMIN_STATUSES = {"": "Visible and hidden", "visible": "Visible", "hidden": "Hidden"}


@dataclass
class RatingBar:
    """One line of a product's rating distribution: how many visible reviews gave it this many stars."""

    stars: int
    count: int
    percent: int  # of all visible reviews, rounded


@dataclass
class RatingSummary:
    """A product's visible reviews counted by stars."""

    counts: dict[int, int]  # stars -> number of reviews

    @property
    def count(self) -> int:
        return sum(self.counts.values())

    @property
    def average(self) -> float | None:
        """Return the mean stars, or None without reviews (shown to one decimal, as cards show it)."""
        total = sum(stars * count for stars, count in self.counts.items())
        return total / self.count if self.count else None

    @property
    def bars(self) -> list[RatingBar]:
        """Return the distribution from five stars down to one."""
        return [RatingBar(stars, self.counts.get(stars, 0), round(100 * self.counts.get(stars, 0) / self.count)
                          if self.count else 0) for stars in STARS]


@dataclass
class ReviewEntry:
    review: Review
    verified: bool  # the author still has a paid order of the product


@dataclass
class Reviewer:
    """What a logged-in shopper may do on a product's page: write (or edit) a review when they bought it."""

    bought: bool
    review: Review | None  # theirs, hidden or not


@dataclass
class ReviewFields:
    rating: int
    title: str
    body: str


@dataclass
class AdminReviewRow:
    review: Review
    product_name: str
    product_slug: str
    reviewer_email: str


@dataclass
class Moderation:
    """What hiding or unhiding did; changed is False when the review already was in that state."""

    review: Review
    product_name: str
    changed: bool


def _bought(user_id, product_id) -> sa.Exists:
    """Return whether the shopper has a paid, not cancelled, order containing one of the product's variants."""
    return sa.exists(
        sa.select(Order.id)
        .join(OrderItem, OrderItem.order_id == Order.id)
        .join(ProductVariant, ProductVariant.id == OrderItem.variant_id)
        .where(Order.user_id == user_id, ProductVariant.product_id == product_id,
               Order.payment_status.in_(MONEY_TAKEN), Order.status != OrderStatus.CANCELLED)
    )


def rating_summary(product_id: int) -> RatingSummary:
    """Return the product's visible reviews counted by stars, in one query."""
    rows = db.session.execute(
        sa.select(Review.rating, sa.func.count())
        .where(Review.product_id == product_id, Review.is_hidden == sa.false())
        .group_by(Review.rating)
    )
    return RatingSummary({rating: count for rating, count in rows})


def review_page(product_id: int, page: int, per_page: int, total: int) -> Page:
    """Return a page of the product's visible reviews, newest first, as ReviewEntries; past the end, the last page.

    `total` is the number of visible reviews (from rating_summary): no query is run when there are none.
    """
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    if not total:
        return Page([], page, per_page, 0)
    rows = db.session.execute(
        sa.select(Review, _bought(Review.user_id, Review.product_id).label("verified"))
        .where(Review.product_id == product_id, Review.is_hidden == sa.false())
        .order_by(Review.created_at.desc(), Review.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    )
    return Page([ReviewEntry(review, bool(verified)) for review, verified in rows], page, per_page, total)


def _reviewer_statement() -> sa.Select:
    # One row whatever happens: the purchase check beside the shopper's review, if they wrote one.
    user_id: sa.BindParameter[int] = sa.bindparam("user_id")
    product_id: sa.BindParameter[int] = sa.bindparam("product_id")
    one_row = sa.select(sa.literal(1).label("one")).subquery()
    return (
        sa.select(_bought(user_id, product_id).label("bought"), Review)
        .select_from(one_row)
        .outerjoin(Review, sa.and_(Review.product_id == product_id, Review.user_id == user_id))
    )


# Run on each product page a logged-in shopper sees: built once, as building it cost more than running it.
_REVIEWER = _reviewer_statement()


def reviewer(user_id: int, product_id: int) -> Reviewer:
    """Return whether the shopper bought the product and their review of it, in one query."""
    row = db.session.execute(_REVIEWER, {"user_id": user_id, "product_id": product_id}).one()
    return Reviewer(bool(row.bought), row.Review)


def active_product_id(slug: str) -> int | None:
    """Return the id of the active product with this slug, or None."""
    return db.session.scalar(sa.select(Product.id).where(Product.slug == slug, Product.is_active == sa.true()))


def author_name(full_name: str) -> str:
    """Return how a review names its author: the first name and the last name's initial ("Sam S.")."""
    words = full_name.split()
    if not words:
        return "A shopper"
    if len(words) == 1:
        return words[0][:lengths.PERSON_NAME]
    return f"{words[0]} {words[-1][0]}."[:lengths.PERSON_NAME]


def _check(fields: ReviewFields) -> None:
    if fields.rating not in STARS:
        raise ShopError("Please choose from 1 to 5 stars.")
    if not fields.title.strip() or len(fields.title) > lengths.REVIEW_TITLE or not storable(fields.title):
        raise ShopError(f"Please give your review a title of up to {lengths.REVIEW_TITLE} characters.")
    if len(fields.body) > lengths.REVIEW_BODY or not storable(fields.body, multiline=True):
        raise ShopError(f"Please keep your review to {lengths.REVIEW_BODY:,} characters of plain text.")


def save_review(author: User, product_id: int, fields: ReviewFields) -> bool:
    """Write the shopper's review of a product they bought, or edit the one they wrote; return whether it is new.

    A hidden review stays hidden when edited.
    """
    _check(fields)
    user_id, name = author.id, author.name
    try:
        return _write_review(user_id, name, product_id, fields)
    except IntegrityError:
        # The same shopper's other tab inserted their review a moment before: the unique constraint
        # refused this one, which now edits it instead.
        return _write_review(user_id, name, product_id, fields)


def _write_review(user_id: int, name: str, product_id: int, fields: ReviewFields) -> bool:
    with write_transaction():
        if not db.session.scalar(sa.select(Product.is_active).where(Product.id == product_id)):
            raise NotFound("That product is not in the shop.")
        if not db.session.scalar(sa.select(_bought(user_id, product_id))):
            raise ShopError(ONLY_BUYERS)
        review = db.session.scalar(
            sa.select(Review).where(Review.product_id == product_id, Review.user_id == user_id).with_for_update()
        )
        created = review is None
        if review is None:
            review = Review(product_id=product_id, user_id=user_id, author_name=author_name(name))
            db.session.add(review)
        review.rating, review.title, review.body = fields.rating, fields.title, fields.body
        # The search rows' rating figures are rebuilt from what the flush marks, before the commit.
        db.session.flush()
    return created


def admin_reviews(term: str, status: str, page: int, per_page: int) -> Page:
    """Return a page of reviews, newest first, as AdminReviewRows; `term` matches product names and reviewer emails."""
    conditions = []
    if term:
        pattern = contains_pattern(term)
        conditions.append(sa.or_(Product.name.ilike(pattern, escape="\\"), User.email.ilike(pattern, escape="\\")))
    if status in ("visible", "hidden"):
        conditions.append(Review.is_hidden == (sa.true() if status == "hidden" else sa.false()))
    condition = sa.and_(sa.true(), *conditions)
    base = sa.select(Review).join(Review.product).join(Review.user).where(condition)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0
    reviews = db.session.scalars(
        base.options(contains_eager(Review.product), contains_eager(Review.user))
        .order_by(Review.created_at.desc(), Review.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    )
    rows = [AdminReviewRow(review, review.product.name, review.product.slug, review.user.email) for review in reviews]
    return Page(rows, page, per_page, total)


def review_for_admin(review_id: int) -> AdminReviewRow | None:
    """Return one review with its product and reviewer, or None."""
    review = db.session.scalar(
        sa.select(Review).join(Review.product).join(Review.user)
        .options(contains_eager(Review.product), contains_eager(Review.user))
        .where(Review.id == review_id)
    )
    if review is None:
        return None
    return AdminReviewRow(review, review.product.name, review.product.slug, review.user.email)


def set_hidden(actor: User, review_id: int, hidden: bool) -> Moderation:
    """Hide a review from shoppers (and from the product's figures), or show it again; recorded in the audit log."""
    with write_transaction():
        review = db.session.scalar(
            sa.select(Review).join(Review.product).join(Review.user)
            .options(contains_eager(Review.product), contains_eager(Review.user))
            .where(Review.id == review_id).with_for_update(of=Review)
        )
        if review is None:
            raise NotFound("That review does not exist.")
        moderation = Moderation(review, review.product.name, changed=review.is_hidden != hidden)
        if moderation.changed:
            review.is_hidden = hidden
            verb = "Hid" if hidden else "Unhid"
            audit.record(actor, "review.hide" if hidden else "review.unhide", "review", review.id,
                         f"{verb} the review “{review.title}” of {review.product.name} by {review.user.email}",
                         {"is_hidden": [not hidden, hidden]})
            db.session.flush()
    return moderation


_LEAVING_REVIEWERS = "reviews_of_deleted_accounts"


@event.listens_for(Session, "before_flush")
def _note_products_of_deleted_accounts(session: Session, flush_context, instances) -> None:
    # A deleted account's reviews go with it by the database's ON DELETE CASCADE, which the
    # search hooks cannot see: note their products while the reviews still exist.
    deleted = [instance.id for instance in session.deleted if isinstance(instance, User)]
    if deleted:
        session.info.setdefault(_LEAVING_REVIEWERS, set()).update(
            session.scalars(sa.select(Review.product_id).where(Review.user_id.in_(deleted))))


@event.listens_for(Session, "after_flush")
def _recount_products_of_deleted_accounts(session: Session, flush_context) -> None:
    # Rebuilt here, in the flush that deleted the reviews, rather than marked for the commit: this
    # flush may be the commit's own, which runs after the search hooks' check before the commit.
    product_ids = session.info.pop(_LEAVING_REVIEWERS, None)
    if product_ids:
        search_index.refresh(product_ids, session)

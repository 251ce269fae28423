"""The reviews service against a real database: who bought, saving once per shopper, the figures, the search rows."""
import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order, ProductSearch, Review, User
from shop.services import NotFound, ShopError, accounts
from shop.services.reviews import (
    Reviewer,
    ReviewFields,
    author_name,
    rating_summary,
    review_page,
    reviewer,
    save_review,
    set_hidden,
)
from tests.concurrency import all_at_once
from tests.factories import DEFAULT_PASSWORD, make_order, make_product, make_user

pytestmark = pytest.mark.usefixtures("app")

GOOD = ReviewFields(rating=5, title="Great", body="Really.")


def ratings_in_search(product_id: int) -> tuple[int, int]:
    """Return the product's rating figures as the cards read them, committed (read on a connection of its own)."""
    db.session.commit()
    with db.engine.connect() as connection:
        row = connection.execute(sa.select(ProductSearch.rating_count, ProductSearch.rating_total)
                                 .where(ProductSearch.product_id == product_id)).one()
    return row.rating_count, row.rating_total


def buyer_of(product, status: str = "delivered", payment_status: str = "paid", name: str = "Sam Shopper") -> User:
    shopper = make_user(name=name)
    make_order(shopper, product.variants[-1], status=status, payment_status=payment_status)
    db.session.commit()
    return shopper


@pytest.mark.parametrize("status, payment_status, may_review", [
    ("paid", "paid", True),
    ("shipped", "partially refunded", True),
    ("delivered", "refunded", True),  # sent back after it arrived: still a buyer's experience
    ("pending", "unpaid", False),
    ("pending", "processing", False),
    ("cancelled", "failed", False),
    ("cancelled", "refunded", False),  # cancelled before it shipped: never had it
    ("expired", "unpaid", False),
])
def test_who_bought_the_product(status, payment_status, may_review):
    product = make_product(variants=[{"size": "S"}, {"size": "M"}])
    shopper = buyer_of(product, status, payment_status)
    assert reviewer(shopper.id, product.id).bought is may_review
    if may_review:
        assert save_review(shopper, product.id, GOOD) is True
    else:
        with pytest.raises(ShopError, match="Only shoppers who bought this product can review it."):
            save_review(shopper, product.id, GOOD)


def test_buying_another_product_or_someone_else_buying_this_one_is_not_enough():
    product, other = make_product(), make_product()
    shopper = buyer_of(other)
    buyer_of(product)
    assert reviewer(shopper.id, product.id) == Reviewer(bought=False, review=None)
    with pytest.raises(ShopError):
        save_review(shopper, product.id, GOOD)


def test_saving_twice_edits_the_one_review_and_the_search_row_follows():
    product = make_product()
    shopper = buyer_of(product, name="  Mary  Ann   Smith ")
    assert save_review(shopper, product.id, ReviewFields(4, "Good", "")) is True
    assert ratings_in_search(product.id) == (1, 4)
    assert save_review(shopper, product.id, ReviewFields(2, "Worse after a wash", "Faded.")) is False
    [review] = db.session.scalars(sa.select(Review)).all()
    assert (review.rating, review.title, review.body, review.author_name) == (2, "Worse after a wash", "Faded.",
                                                                              "Mary S.")
    assert reviewer(shopper.id, product.id).review.id == review.id
    assert ratings_in_search(product.id) == (1, 2)


def test_the_same_shopper_posting_from_several_tabs_at_once_gets_one_review(app):
    product = make_product()
    shopper_id, product_id = buyer_of(product).id, product.id

    def post(index: int, together) -> bool:
        with app.app_context():
            author = db.session.get(User, shopper_id)
            together()
            return save_review(author, product_id, ReviewFields(index % 5 + 1, f"Tab {index}", ""))

    results = all_at_once(4, post)
    assert sorted(results) == [False, False, False, True]
    db.session.commit()  # end the read snapshot taken before the tabs wrote
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Review)) == 1
    assert ratings_in_search(product_id)[0] == 1


@pytest.mark.parametrize("fields", [
    ReviewFields(0, "Title", ""), ReviewFields(6, "Title", ""), ReviewFields(5, "  ", ""),
    ReviewFields(5, "x" * 121, ""), ReviewFields(5, "Title", "y" * 5001), ReviewFields(5, "Ti\ntle", ""),
    ReviewFields(5, "Title", "nul\x00"),
])
def test_the_service_refuses_what_the_form_would(fields):
    product = make_product()
    shopper = buyer_of(product)
    with pytest.raises(ShopError):
        save_review(shopper, product.id, fields)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Review)) == 0


def test_an_inactive_product_cannot_be_reviewed():
    product = make_product(is_active=False)
    shopper = buyer_of(product)
    with pytest.raises(NotFound):
        save_review(shopper, product.id, GOOD)


def test_hidden_reviews_are_not_counted_or_listed_and_stay_hidden_when_edited():
    product = make_product()
    admin = make_user(is_admin=True)
    shoppers = [buyer_of(product) for _ in range(3)]
    for shopper, rating in zip(shoppers, (5, 3, 1), strict=True):
        save_review(shopper, product.id, ReviewFields(rating, f"{rating} stars", ""))
    hidden = db.session.scalar(sa.select(Review).where(Review.rating == 1))
    assert set_hidden(admin, hidden.id, True).changed
    summary = rating_summary(product.id)
    assert (summary.count, summary.average) == (2, 4.0)
    assert [bar.count for bar in summary.bars] == [1, 0, 1, 0, 0]
    assert [bar.percent for bar in summary.bars] == [50, 0, 50, 0, 0]
    assert ratings_in_search(product.id) == (2, 8)
    assert [entry.review.rating for entry in review_page(product.id, 1, 10, summary.count).items] == [3, 5]

    save_review(shoppers[2], product.id, ReviewFields(2, "Edited", ""))
    assert db.session.scalar(sa.select(Review.is_hidden).where(Review.id == hidden.id)) is True
    assert ratings_in_search(product.id) == (2, 8)


def test_a_review_is_verified_while_its_author_has_a_paid_order():
    product = make_product()
    shopper = buyer_of(product)
    save_review(shopper, product.id, GOOD)
    order = db.session.scalar(sa.select(Order).where(Order.user_id == shopper.id))
    assert review_page(product.id, 1, 5, 1).items[0].verified is True
    order.status = "cancelled"
    db.session.commit()
    assert review_page(product.id, 1, 5, 1).items[0].verified is False


def test_the_figures_with_no_reviews():
    product = make_product()
    summary = rating_summary(product.id)
    assert (summary.count, summary.average) == (0, None)
    assert [(bar.stars, bar.count, bar.percent) for bar in summary.bars] == [(s, 0, 0) for s in (5, 4, 3, 2, 1)]
    page = review_page(product.id, 3, 5, 0)
    assert (page.items, page.page, page.pages) == ([], 1, 1)


@pytest.mark.parametrize("name, shown", [
    ("Sam Shopper", "Sam S."), ("Cher", "Cher"), ("", "A shopper"), ("   ", "A shopper"),
    ("Jean-Luc de la Croix", "Jean-Luc C."), ("Åsa Öberg", "Åsa Ö."),
])
def test_reviews_name_their_author_by_first_name_and_initial(name, shown):
    assert author_name(name) == shown


def test_deleting_an_account_takes_its_reviews_and_their_stars_with_it():
    product = make_product()
    leaving, staying = buyer_of(product), buyer_of(product)
    save_review(leaving, product.id, ReviewFields(1, "Bad", ""))
    save_review(staying, product.id, ReviewFields(5, "Good", ""))
    assert ratings_in_search(product.id) == (2, 6)

    accounts.delete_account(leaving.id, DEFAULT_PASSWORD)

    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.id == leaving.id)) == 0
    assert list(db.session.scalars(sa.select(Review.title))) == ["Good"]
    assert ratings_in_search(product.id) == (1, 5)

"""Reviews on product pages: who may write one, writing and editing it, what others see, the figures."""
import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Review
from shop.models.base import now_utc
from tests.factories import make_category, make_order, make_product, make_user
from tests.plugins.accounts import AuthActions
from tests.plugins.checkout import payment_reference_of

LIMIT = 3


@pytest.fixture
def app_overrides():
    return {"REVIEW_LIMIT": f"{LIMIT} per hour"}


@pytest.fixture
def tee():
    product = make_product("Organic Tee", variants=[{"size": "S"}, {"size": "M"}])
    db.session.commit()
    return product


def buy(user, product, status="paid", payment_status="paid"):
    make_order(user, product.variants[0], status=status, payment_status=payment_status)
    db.session.commit()


def post_review(client, product, rating="5", title="Soft and warm", body="Wore it all week.", **query):
    url = f"/products/{product.slug}/reviews"
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return client.post(url, data={"rating": rating, "title": title, "body": body})


def reviews_of(product) -> list[Review]:
    return list(db.session.scalars(sa.select(Review).where(Review.product_id == product.id)))


def add_review(product, rating: int, title: str = "Fine", age_days: int = 0, hidden: bool = False) -> Review:
    """Add a paying shopper's review written age_days ago."""
    author = make_user(name="Rae Reviewer")
    make_order(author, product.variants[0], status="delivered", payment_status="paid")
    review = Review(product_id=product.id, user_id=author.id, rating=rating, title=title, body="",
                    author_name="Rae R.", is_hidden=hidden, created_at=now_utc() - timedelta(days=age_days))
    db.session.add(review)
    db.session.flush()
    return review


def page_of(client, product, query: str = "") -> str:
    response = client.get(f"/products/{product.slug}{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def review_titles(page: str) -> list[str]:
    return [html.unescape(title) for title in re.findall(r'class="review-title">([^<]*)</h3>', page)]


def test_a_visitor_is_asked_to_log_in_and_comes_back_to_the_product(client, tee):
    page = page_of(client, tee)
    assert "Log in to review</a>" in page
    assert f'href="/auth/login?next=/products/{tee.slug}"' in page
    assert 'name="title"' not in page
    response = post_review(client, tee)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/auth/login?next=/products/{tee.slug}"
    assert reviews_of(tee) == []


def test_a_shopper_who_did_not_buy_it_is_told_who_may_review(client, user, tee):
    page = page_of(client, tee)
    assert "Only shoppers who bought this product can review it." in page
    assert 'name="title"' not in page
    response = post_review(client, tee)
    assert response.status_code == 302
    assert "Only shoppers who bought this product can review it." in page_of(client, tee)
    assert reviews_of(tee) == []


@pytest.mark.parametrize("status, payment_status", [
    ("pending", "unpaid"), ("pending", "processing"), ("cancelled", "refunded"), ("expired", "unpaid"),
])
def test_an_order_not_paid_for_or_cancelled_does_not_make_a_reviewer(client, user, tee, status, payment_status):
    buy(user, tee, status, payment_status)
    assert "Only shoppers who bought this product can review it." in page_of(client, tee)
    post_review(client, tee)
    assert reviews_of(tee) == []


def test_a_buyer_writes_a_review_that_shows_with_its_verified_purchase_label(client, user, tee):
    buy(user, tee)
    page = page_of(client, tee)
    assert "Write a review" in page and "No reviews yet." in page
    assert 'data-testid="rating-summary"' not in page  # nothing beside the price without reviews

    response = post_review(client, tee, rating="4", title="Soft and warm", body="Wore it all week.")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/products/{tee.slug}#reviews"
    page = page_of(client, tee)
    assert "Thank you: your review is on the page." in page
    assert review_titles(page) == ["Soft and warm"]
    assert "Sam S." in page and "Verified purchase" in page and "Wore it all week." in page
    assert "4 out of 5 stars" in page
    summary = re.search(r'data-testid="rating-summary">(.*?)</p>', page, re.S).group(1)
    assert 'href="#reviews"' in summary and "4.0 out of 5 · 1 review<" in summary
    assert [(row.rating, row.title, row.author_name) for row in reviews_of(tee)] == [(4, "Soft and warm", "Sam S.")]


def test_the_form_shows_the_shoppers_review_and_posting_again_edits_it(client, user, tee):
    buy(user, tee)
    post_review(client, tee, rating="2", title="Shrank", body="After one wash.")
    page = page_of(client, tee)
    assert "Your review" in page and "Update your review" in page
    assert 'value="Shrank"' in page and "After one wash.</textarea>" in page
    assert re.search(r'<input checked[^>]*value="2"|<input[^>]*value="2"[^>]*checked', page)

    post_review(client, tee, rating="3", title="Shrank a little", body="Still fine.")
    page = page_of(client, tee)
    assert "Your review has been updated." in page
    assert review_titles(page) == ["Shrank a little"]
    assert [(row.rating, row.title) for row in reviews_of(tee)] == [(3, "Shrank a little")]


def test_the_variant_chosen_is_kept_after_posting(client, user, tee):
    buy(user, tee)
    second = tee.variants[1].id
    page = page_of(client, tee, f"?variant={second}")
    assert f'action="/products/{tee.slug}/reviews?variant={second}"' in page
    response = post_review(client, tee, variant=second)
    assert response.headers["Location"] == f"/products/{tee.slug}?variant={second}#reviews"


@pytest.mark.parametrize("rating, title, body, message", [
    ("", "Good", "", "Please choose from 1 to 5 stars."),
    ("7", "Good", "", "Please choose from 1 to 5 stars."),
    ("five", "Good", "", "Please choose from 1 to 5 stars."),
    ("5", "   ", "", "Please give your review a title."),
    ("5", "x" * 121, "", "Please keep the title to 120 characters."),
    ("5", "Good", "y" * 5001, "Please keep your review to 5,000 characters."),
    ("5", "Go\x00od", "", "This contains characters we cannot store. Please retype it."),
    ("5", "Good", "Bad\x07bell", "This contains characters we cannot store. Please retype it."),
])
def test_mistakes_are_shown_on_the_product_page_and_nothing_is_saved(client, user, tee, rating, title, body, message):
    buy(user, tee)
    response = post_review(client, tee, rating=rating, title=title, body=body)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and message in page
    assert "<h1>Organic Tee</h1>" in page  # the product page itself, with the form as sent
    assert 'aria-invalid="true"' in page
    assert reviews_of(tee) == []


def test_a_long_review_of_exactly_the_limits_is_accepted_with_its_line_breaks(client, user, tee):
    buy(user, tee)
    body = ("line\r\n" * 1000)[:-2]  # 4,998 characters once the browser's CR LF are single line breaks
    assert post_review(client, tee, title="t" * 120, body=body).status_code == 302
    assert reviews_of(tee)[0].body == body.replace("\r\n", "\n")


def test_review_text_is_shown_as_text_with_its_line_breaks(client, user, tee):
    buy(user, tee)
    post_review(client, tee, title="<script>alert('t')</script>", body="<b>bold</b>\nsecond line")
    page = page_of(client, tee)
    assert "<script>alert" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;" in page
    assert '<p class="review-body">&lt;b&gt;bold&lt;/b&gt;\nsecond line</p>' in page


def test_reviews_are_throttled_per_shopper_and_mistakes_do_not_count(client, user, tee):
    buy(user, tee)
    assert post_review(client, tee, title="").status_code == 422
    for number in range(LIMIT):
        assert post_review(client, tee, title=f"Take {number}").status_code == 302
    blocked = post_review(client, tee, title="One too many")
    assert blocked.status_code == 429
    assert f"{LIMIT} per 1 hour; you can try again in" in blocked.get_data(as_text=True)
    assert reviews_of(tee)[0].title == f"Take {LIMIT - 1}"
    # Another shopper is not held back by this one.
    other = make_user("other@example.com")
    buy(other, tee)
    other_browser = client.application.test_client()
    AuthActions(other_browser).login("other@example.com")
    assert post_review(other_browser, tee, title="Mine").status_code == 302


def test_reviews_are_listed_newest_first_five_a_page_keeping_the_variant_and_photo(client, tee):
    for age in range(12):
        add_review(tee, 5, title=f"Review {age}", age_days=age)
    db.session.commit()
    variant, image = tee.variants[1].id, tee.images[0].id
    page = page_of(client, tee, f"?variant={variant}&image={image}")
    assert review_titles(page) == [f"Review {n}" for n in range(5)]
    assert "Page 1 of 3" in page
    assert (f'href="/products/{tee.slug}?variant={variant}&amp;image={image}&amp;reviews_page=2#reviews"'
            in page)
    page = page_of(client, tee, f"?variant={variant}&image={image}&reviews_page=3")
    assert review_titles(page) == ["Review 10", "Review 11"]
    assert "Older reviews" not in page
    assert 'reviews_page=2#reviews">&larr; Newer reviews' in page
    # Junk is page 1, and past the end is the last page.
    assert review_titles(page_of(client, tee, "?reviews_page=x%00"))[0] == "Review 0"
    assert review_titles(page_of(client, tee, "?reviews_page=999"))[0] == "Review 10"
    assert review_titles(page_of(client, tee, "?reviews_page=-4"))[0] == "Review 0"


def test_the_distribution_counts_each_star_with_its_share(client, tee):
    for rating in (5, 5, 5, 4, 1):
        add_review(tee, rating)
    add_review(tee, 1, hidden=True)
    db.session.commit()
    page = page_of(client, tee)
    bars = re.search(r'data-testid="rating-bars">(.*?)</ul>', page, re.S).group(1)
    figures = [(int(stars), int(percent), int(count)) for stars, percent, count in re.findall(
        r'bar-label">(\d) stars?<.*?bar-figures">(\d+)%.*?\((\d+)<', bars, re.S)]
    assert figures == [(5, 60, 3), (4, 20, 1), (3, 0, 0), (2, 0, 0), (1, 20, 1)]
    assert 'width="60"' in bars
    assert "4.0 out of 5 · 5 reviews" in page


def test_the_average_has_one_decimal_like_the_card(client, tee):
    for rating in (5, 4, 4):
        add_review(tee, rating)
    db.session.commit()
    page = page_of(client, tee)
    assert "4.3 out of 5 · 3 reviews" in page
    assert 'class="reviews-average-figure">4.3<' in page


@pytest.mark.parametrize("logged_in", [False, True])
def test_the_product_page_runs_the_same_queries_with_one_review_or_many(client, auth, count_queries, logged_in):
    few, many = make_product("Few"), make_product("Many")
    add_review(few, 4)
    for rating in (1, 2, 3, 4, 5, 5, 4, 3, 2, 1, 5, 5):
        add_review(many, rating)
    reader = make_user("reader@example.com")
    make_order(reader, many.variants[0], status="paid", payment_status="paid")
    db.session.commit()
    if logged_in:
        auth.login("reader@example.com")
    counts = []
    for product in (few, many):
        with count_queries() as statements:
            page_of(client, product)
        counts.append(len([statement for statement in statements if "reviews" in statement]))
    assert counts[0] == counts[1] == (3 if logged_in else 2)


def test_the_card_on_the_category_page_shows_the_rating_after_a_review(client, user):
    shelf = make_category("Tops")
    tee = make_product("Organic Tee", category=shelf)
    db.session.commit()
    card = client.get(f"/categories/{shelf.slug}").get_data(as_text=True)
    assert "rating-line" not in card
    buy(user, tee)
    post_review(client, tee, rating="4")
    card = client.get(f"/categories/{shelf.slug}").get_data(as_text=True)
    line = re.search(r'<p class="rating-line">(.*?)</p>', card, re.S).group(1)
    assert re.sub(r"<[^>]+>", "", line).split() == ["★★★★★", "4.0", "out", "of", "5", "stars,", "(1", "review)"]


def test_a_hidden_review_is_shown_only_to_its_author_with_a_note(client, user, tee):
    buy(user, tee)
    post_review(client, tee, title="Too honest")
    db.session.execute(sa.update(Review).values(is_hidden=True))
    db.session.commit()
    page = page_of(client, tee)
    assert "Our team has hidden your review" in page and 'value="Too honest"' in page
    assert review_titles(page) == [] and "No reviews yet." in page
    post_review(client, tee, title="Still honest")
    assert reviews_of(tee)[0].is_hidden is True
    client.post("/auth/logout")
    page = page_of(client, tee)
    assert "honest" not in page and 'data-testid="rating-summary"' not in page


def test_a_shopper_buys_through_the_checkout_then_reviews_and_the_card_shows_it(
        client, user, checkout_cart, checkout_form):
    shelf = make_category("Mugs")
    mug = make_product("Stoneware Mug", category=shelf)
    db.session.commit()
    checkout_cart({mug.variants[0]: 1})
    placed = client.post("/checkout", data=checkout_form(email=user.email))
    assert "Only shoppers who bought this product can review it." in page_of(client, mug)  # not paid yet
    client.post(f"/checkout/test-payment/{payment_reference_of(placed)}", data={"pay": "Pay"})

    assert post_review(client, mug, rating="5", title="My favourite mug").status_code == 302
    page = page_of(client, mug)
    assert "My favourite mug" in page and "Verified purchase" in page
    card = client.get(f"/categories/{shelf.slug}").get_data(as_text=True)
    assert "5.0" in re.search(r'<p class="rating-line">(.*?)</p>', card, re.S).group(1)

"""Reviews in the back office: the list, and hiding or unhiding one after confirmation, with the audit log."""
import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import AuditRecord, ProductSearch, Review
from shop.models.base import now_utc
from tests.factories import make_category, make_order, make_product, make_user


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def add_review(product, email: str, rating: int = 4, title: str = "Fine", body: str = "", age_days: int = 0,
               hidden: bool = False) -> Review:
    """Add the review of a shopper who paid for the product, written age_days ago."""
    author = make_user(email, name="Rae Reviewer")
    make_order(author, product.variants[0], status="delivered", payment_status="paid")
    review = Review(product_id=product.id, user_id=author.id, rating=rating, title=title, body=body,
                    author_name="Rae R.", is_hidden=hidden, created_at=now_utc() - timedelta(days=age_days))
    db.session.add(review)
    db.session.commit()
    return review


def row_titles(page: str) -> list[str]:
    return re.findall(r'<td class="admin-review-text"[^>]*>\s*<strong>([^<]*)</strong>', page)


def search_row(product_id: int) -> ProductSearch:
    db.session.commit()
    return db.session.scalar(sa.select(ProductSearch).where(ProductSearch.product_id == product_id)
                             .execution_options(populate_existing=True))


@pytest.fixture
def tee():
    product = make_product("Organic Tee", category=make_category("Tops"))
    db.session.commit()
    return product


def test_the_list_shows_reviews_newest_first_and_is_in_the_navigation(client, admin, tee):
    add_review(tee, "old@example.com", title="Old", age_days=3)
    add_review(tee, "new@example.com", title="New", body="Line one\nline two", age_days=0)
    page = text(client.get("/admin/reviews"))
    assert '<a href="/admin/reviews" aria-current="page" class="current">Reviews</a>' in page
    assert row_titles(page) == ["New", "Old"]
    assert "2 reviews" in page and "new@example.com" in page and "Organic Tee" in page
    assert f'href="/products/{tee.slug}#reviews"' in page


def test_no_reviews_yet(client, admin):
    assert "No reviews yet." in text(client.get("/admin/reviews"))


def test_filters_search_and_pages(client, admin, tee):
    boots = make_product("Trail Boots")
    db.session.commit()
    add_review(tee, "ann@example.com", title="Tee by Ann")
    add_review(boots, "bob@example.com", title="Boots by Bob", hidden=True)
    assert row_titles(text(client.get("/admin/reviews?q=boots"))) == ["Boots by Bob"]
    assert row_titles(text(client.get("/admin/reviews?q=ANN@"))) == ["Tee by Ann"]
    assert row_titles(text(client.get("/admin/reviews?status=hidden"))) == ["Boots by Bob"]
    assert row_titles(text(client.get("/admin/reviews?status=visible"))) == ["Tee by Ann"]
    assert "No reviews match these filters." in text(client.get("/admin/reviews?q=%25_nothing"))
    # Junk filters are ignored.
    assert len(row_titles(text(client.get("/admin/reviews?status=bogus&page=x&q=%00")))) == 2

    for n in range(51):
        add_review(boots, f"many{n}@example.com", title=f"Many {n:02d}", age_days=n + 1)
    page = text(client.get("/admin/reviews?q=many"))
    assert "51 reviews · page 1 of 2" in page
    assert 'href="/admin/reviews?q=many&page=2"' in page
    assert row_titles(text(client.get("/admin/reviews?q=many&page=2"))) == ["Many 50"]


def test_hiding_asks_first_then_hides_counts_and_records_it(client, admin, tee):
    review = add_review(tee, "ann@example.com", rating=2, title="Rude words", body="Something rude")
    add_review(tee, "bob@example.com", rating=4, title="Nice")
    assert (search_row(tee.id).rating_count, search_row(tee.id).rating_total) == (2, 6)

    ask = text(client.get(f"/admin/reviews/{review.id}/hide?status=visible"))
    assert "Hide this review?" in ask and "“Rude words”" in ask and "ann@example.com" in ask
    assert "Something rude" in ask
    assert f'action="/admin/reviews/{review.id}/hide?status=visible"' in ask
    # Posting without the confirmation changes nothing.
    client.post(f"/admin/reviews/{review.id}/hide")
    assert search_row(tee.id).rating_count == 2

    response = client.post(f"/admin/reviews/{review.id}/hide?status=visible", data={"confirmed": "yes"})
    assert response.headers["Location"] == "/admin/reviews?status=visible"
    page = text(client.get(response.headers["Location"]))
    assert "The review “Rude words” is hidden" in page
    assert row_titles(page) == ["Nice"]
    assert (search_row(tee.id).rating_count, search_row(tee.id).rating_total) == (1, 4)
    record = db.session.scalar(sa.select(AuditRecord).where(AuditRecord.action == "review.hide"))
    assert record.entity_type == "review" and record.entity_id == review.id and record.actor_id == admin.id
    assert record.changes == {"is_hidden": [False, True]}
    assert "Rude words" in record.summary and "ann@example.com" in record.summary

    product_page = text(client.get(f"/products/{tee.slug}"))
    assert "Rude words" not in product_page and "4.0 out of 5 · 1 review" in product_page
    card = text(client.get(f"/categories/{tee.category.slug}"))
    assert "4.0" in re.search(r'<p class="rating-line">(.*?)</p>', card, re.S).group(1)


def test_unhiding_shows_the_review_again(client, admin, tee):
    review = add_review(tee, "ann@example.com", rating=5, title="Back again", hidden=True)
    assert search_row(tee.id).rating_count == 0
    assert "Show this review again?" in text(client.get(f"/admin/reviews/{review.id}/unhide"))
    response = client.post(f"/admin/reviews/{review.id}/unhide", data={"confirmed": "yes"})
    assert response.headers["Location"] == "/admin/reviews"
    assert "is visible again" in text(client.get("/admin/reviews"))
    assert (search_row(tee.id).rating_count, search_row(tee.id).rating_total) == (1, 5)
    assert "Back again" in text(client.get(f"/products/{tee.slug}"))
    assert db.session.scalar(sa.select(AuditRecord.action).where(AuditRecord.entity_id == review.id)) == "review.unhide"


def test_hiding_twice_says_so_and_records_once(client, admin, tee):
    review = add_review(tee, "ann@example.com", hidden=True)
    client.post(f"/admin/reviews/{review.id}/hide", data={"confirmed": "yes"})
    assert "was already hidden" in text(client.get("/admin/reviews"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == 0


def test_unknown_reviews_are_404(client, admin):
    assert client.get("/admin/reviews/999/hide").status_code == 404
    assert client.post("/admin/reviews/999/unhide", data={"confirmed": "yes"}).status_code == 404


def test_shoppers_and_visitors_are_kept_out(client, auth, tee):
    review = add_review(tee, "ann@example.com", title="Keep")
    assert client.get("/admin/reviews").status_code == 302
    auth.login("ann@example.com")
    assert client.get("/admin/reviews").status_code == 403
    assert client.post(f"/admin/reviews/{review.id}/hide", data={"confirmed": "yes"}).status_code == 403
    assert db.session.scalar(sa.select(Review.is_hidden).where(Review.id == review.id)) is False

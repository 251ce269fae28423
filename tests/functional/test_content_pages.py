"""The owner's pages in the admin: list, write, publish, place in the footer, delete; the migration's starting pages."""
import os
import re

import sqlalchemy as sa
from flask_migrate import upgrade

from shop import ROOT, create_app
from shop.extensions import db
from shop.models import AuditRecord, ContentPage
from shop.services.content_pages import STARTING_PAGES
from tests.integration.test_migrations import _fresh_database_url


def new_page(**fields) -> dict:
    return {"title": "Gift cards", "slug": "", "body": "## Buying one\n\nAsk us.", "is_published": "y",
            "show_in_footer": "y", "position": "2", **fields}


def audit(action: str) -> list[AuditRecord]:
    return list(db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == action)
                                   .order_by(AuditRecord.id)))


def footer_titles(client) -> list[str]:
    page = client.get("/").get_data(as_text=True)
    nav = page[page.index('<nav class="footer-links"'):]
    return re.findall(r'<li><a href="/pages/[^"]+">([^<]+)</a></li>', nav[:nav.index("</nav>")])


def field_error(page: str, field: str) -> str:
    match = re.search(rf'<div id="{field}-error"><p class="error">([^<]+)</p>', page)
    return match.group(1) if match else ""


def test_the_list_offers_the_starting_pages_to_edit_and_lists_saved_ones(client, admin):
    db.session.add(ContentPage(slug="privacy", title="Your privacy", body="Ours.", is_published=False, position=2))
    db.session.commit()
    page = client.get("/admin/pages").get_data(as_text=True)
    starting = re.findall(r'<li data-testid="starting-page"><a href="/pages/([^"]+)">', page)
    assert starting == ["about", "shipping-returns", "terms", "contact"]
    assert '<a href="/admin/pages/new?start=terms">Edit' in page
    assert page.count('data-testid="page-row"') == 1 and "Not published" in page


def test_editing_a_starting_page_saves_it_and_the_footer_shows_it_at_once(client, admin):
    form = client.get("/admin/pages/new?start=shipping-returns").get_data(as_text=True)
    assert 'value="Shipping &amp; returns"' in form and "[shipping methods]" in form

    response = client.post("/admin/pages/new?start=shipping-returns", data=new_page(
        title="Shipping & returns", slug="shipping-returns", position="1",
        body="## Returns\n\nSend it back within **60 days**.\n\n[shipping methods]"))
    saved = db.session.scalar(sa.select(ContentPage).where(ContentPage.slug == "shipping-returns"))
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/pages/{saved.id}"

    shopper_page = client.get("/pages/shipping-returns").get_data(as_text=True)
    assert "Send it back within <strong>60 days</strong>." in shopper_page
    assert "shown at checkout, before you pay" in shopper_page

    client.post(f"/admin/pages/{saved.id}", data=new_page(
        title="Returns", slug="shipping-returns", position="1", body=saved.body))
    assert footer_titles(client) == ["About us", "Returns", "Privacy", "Terms of sale", "Contact us"]
    [record] = audit("content_page.update")
    assert record.changes == {"title": ["Shipping & returns", "Returns"]}
    assert record.entity_id == saved.id and record.actor_email == admin.email


def test_a_new_page_gets_a_slug_from_its_title_and_an_audit_record(client, admin):
    client.post("/admin/pages/new", data=new_page(title="Gift Cards & Vouchers"))
    page = db.session.scalar(sa.select(ContentPage).where(ContentPage.title == "Gift Cards & Vouchers"))
    assert page.slug == "gift-cards-vouchers" and page.is_published and page.position == 2
    assert "<h2>Buying one</h2>" in client.get("/pages/gift-cards-vouchers").get_data(as_text=True)
    [record] = audit("content_page.create")
    assert record.changes["slug"] == [None, "gift-cards-vouchers"]
    assert "Gift Cards &amp; Vouchers" in client.get("/admin/pages").get_data(as_text=True)


def test_a_taken_or_malformed_slug_is_refused_next_to_the_field(client, admin):
    client.post("/admin/pages/new", data=new_page())
    for slug, message in (("gift-cards", "already used by the page Gift cards"),
                          ("Gift Cards", "lower-case letters and digits")):
        response = client.post("/admin/pages/new", data=new_page(title="Other", slug=slug))
        assert response.status_code == 422
        assert message in field_error(response.get_data(as_text=True), "slug")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ContentPage)) == 1


def test_a_page_needs_a_title_and_a_whole_number_position(client, admin):
    response = client.post("/admin/pages/new", data=new_page(title="  ", position="first"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(page, "title") == "Please enter the title."
    assert field_error(page, "position")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ContentPage)) == 0


def test_unpublishing_hides_the_page_from_shoppers_and_the_footer(client, admin):
    client.post("/admin/pages/new", data=new_page())
    page = db.session.scalar(sa.select(ContentPage))
    assert "Gift cards" in footer_titles(client)
    client.post(f"/admin/pages/{page.id}", data=new_page(is_published=""))
    assert client.get("/pages/gift-cards").status_code == 404
    assert "Gift cards" not in footer_titles(client)
    client.post(f"/admin/pages/{page.id}", data=new_page(show_in_footer=""))
    assert client.get("/pages/gift-cards").status_code == 200
    assert "Gift cards" not in footer_titles(client)
    changes = [record.changes for record in audit("content_page.update")]
    assert changes == [{"is_published": [True, False]},
                       {"is_published": [False, True], "show_in_footer": [True, False]}]


def test_deleting_asks_first_and_a_deleted_starting_page_shows_its_starting_text_again(client, admin):
    client.post("/admin/pages/new?start=terms", data=new_page(title="Our terms", slug="terms", body="Be nice."))
    page_id = db.session.scalar(sa.select(ContentPage.id))
    question = client.get(f"/admin/pages/{page_id}/delete").get_data(as_text=True)
    assert "starting pages" in question and "unpublish it instead" in question
    assert client.post(f"/admin/pages/{page_id}/delete").status_code == 200, "no confirmation, no deletion"
    assert db.session.get(ContentPage, page_id) is not None

    response = client.post(f"/admin/pages/{page_id}/delete", data={"confirmed": "yes"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/pages"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ContentPage)) == 0
    assert "<h1>Terms of sale</h1>" in client.get("/pages/terms").get_data(as_text=True)
    [record] = audit("content_page.delete")
    assert record.changes["body"] == ["Be nice.", None] and record.entity_id == page_id
    assert client.get(f"/admin/pages/{page_id}").status_code == 404


def test_deleting_an_own_page_takes_it_off_the_shop(client, admin):
    client.post("/admin/pages/new", data=new_page())
    page_id = db.session.scalar(sa.select(ContentPage.id))
    assert "cannot be undone" in client.get(f"/admin/pages/{page_id}/delete").get_data(as_text=True)
    client.post(f"/admin/pages/{page_id}/delete", data={"confirmed": "yes"})
    assert client.get("/pages/gift-cards").status_code == 404


def test_the_list_searches_filters_and_runs_the_same_statements_for_many_pages(client, admin, count_queries):
    db.session.add_all([ContentPage(slug=f"page-{number}", title=f"Page {number}", body="x",
                                    is_published=number % 2 == 0, position=number) for number in range(3)])
    db.session.commit()
    with count_queries() as few:
        assert client.get("/admin/pages").status_code == 200
    db.session.add_all([ContentPage(slug=f"more-{number}", title=f"More {number}", body="x", is_published=True,
                                    position=10 + number) for number in range(60)])
    db.session.commit()
    with count_queries() as many:
        page = client.get("/admin/pages").get_data(as_text=True)
    assert page.count('data-testid="page-row"') == 50 and "page 1 of 2" in page
    assert len(few) == len(many)
    drafts = client.get("/admin/pages?status=draft").get_data(as_text=True)
    assert drafts.count('data-testid="page-row"') == 1 and "Page 1" in drafts
    found = client.get("/admin/pages?q=more-5").get_data(as_text=True)
    assert re.findall(r">(More \d+)</a></td>", found) == ["More 5", "More 50", "More 51", "More 52", "More 53",
                                                          "More 54", "More 55", "More 56", "More 57", "More 58",
                                                          "More 59"]


def test_shoppers_cannot_reach_the_pages_admin(client, user):
    assert client.get("/admin/pages").status_code == 403
    assert client.post("/admin/pages/new", data=new_page()).status_code == 403


def test_the_migration_seeds_the_starting_pages(tmp_path, monkeypatch):
    url = _fresh_database_url(tmp_path)  # on Postgres, a schema of its own
    monkeypatch.setenv("SHOP_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(directory=os.path.join(ROOT, "migrations"))
        with db.engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT slug, title, body, is_published, show_in_footer FROM content_pages ORDER BY position")).all()
        db.engine.dispose()
    assert [(row.slug, row.title, row.body, bool(row.is_published), bool(row.show_in_footer)) for row in rows] == [
        (page.slug, page.title, page.body, True, True) for page in STARTING_PAGES]

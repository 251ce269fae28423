"""The category tree in the back office, and what shoppers see of it."""
import html
import io
import os
import re

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import AuditRecord, Category
from tests.factories import make_category, make_product
from tests.images import picture_file


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def reloaded(category_id: int) -> Category:
    db.session.commit()
    category = db.session.get(Category, category_id, populate_existing=True)
    assert category is not None
    return category


def form_for(category: Category, **changes) -> dict:
    """Return the edit form as the page fills it in, with some fields changed."""
    data = {
        "name": category.name, "slug": category.slug, "parent_id": str(category.parent_id or ""),
        "description": category.description, "seo_title": category.seo_title,
        "meta_description": category.meta_description,
    }
    if category.is_active:
        data["is_active"] = "y"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def audits(action: str) -> list[AuditRecord]:
    db.session.commit()
    return list(db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == action)
                                   .order_by(AuditRecord.id)))


@pytest.fixture
def outdoor():
    """Outdoor > Tents > (Dome tents, Tunnel tents), Outdoor > Stoves; 3 products in Tents, 1 in Dome tents."""
    root = make_category("Outdoor")
    tents = make_category("Tents", parent=root, position=0)
    stoves = make_category("Stoves", parent=root, position=1)
    dome = make_category("Dome tents", parent=tents, position=0)
    tunnel = make_category("Tunnel tents", parent=tents, position=1)
    for n in range(3):
        make_product(f"Tent {n}", category=tents)
    make_product("Dome One", category=dome)
    db.session.commit()
    return {"root": root.id, "tents": tents.id, "stoves": stoves.id, "dome": dome.id, "tunnel": tunnel.id}


def test_the_tree_is_indented_with_product_counts(client, admin, outdoor):
    page = text(client.get("/admin/categories"))
    order = [page.index(name) for name in (">Outdoor<", ">Tents<", ">Dome tents<", ">Tunnel tents<", ">Stoves<")]
    assert order == sorted(order), "children follow their parent, siblings in position order"
    assert f'id="category-{outdoor["dome"]}" class="depth-2"' in page
    tents_row = page[page.index(f'id="category-{outdoor["tents"]}"'):page.index(f'id="category-{outdoor["dome"]}"')]
    assert "3 (4 with subcategories)" in " ".join(re.sub(r"<[^>]+>", " ", tents_row).split())


def test_search_and_status_filter(client, admin, outdoor):
    page = text(client.get("/admin/categories?q=TENT"))
    assert ">Tents<" in page and ">Dome tents<" in page and ">Stoves<" not in page
    assert "Outdoor › Tents ›" in page, "a match shows where it sits in the tree"
    client.post(f"/admin/categories/{outdoor['stoves']}", data=form_for(reloaded(outdoor["stoves"]), is_active=None))
    inactive = text(client.get("/admin/categories?status=inactive"))
    assert ">Stoves<" in inactive and ">Tents<" not in inactive
    assert "No categories match these filters." in text(client.get("/admin/categories?q=kayak"))


def test_empty_tree_invites_the_first_category(client, admin):
    page = text(client.get("/admin/categories"))
    assert "No categories yet." in page and 'href="/admin/categories/new"' in page


def test_create_a_category_with_a_generated_slug(client, admin, outdoor):
    form = text(client.get(f"/admin/categories/new?parent={outdoor['root']}"))
    assert f'<option selected value="{outdoor["root"]}">Outdoor</option>' in form, "Add subcategory preselects"
    response = client.post("/admin/categories/new", data={
        "name": "Crème Brûlée Sets", "slug": "", "parent_id": str(outdoor["root"]), "is_active": "y",
        "description": "For **campers**.", "seo_title": "Dessert kits", "meta_description": "Torch included."})
    assert response.status_code == 302
    assert "The category Crème Brûlée Sets was created." in text(client.get(response.headers["Location"]))
    created = db.session.scalar(sa.select(Category).where(Category.name == "Crème Brûlée Sets"))
    assert created.slug == "creme-brulee-sets" and created.parent_id == outdoor["root"]
    assert created.position == 2, "a new category goes after its siblings"
    record = audits("category.create")[-1]
    assert record.actor_email == admin.email and record.changes["name"] == [None, "Crème Brûlée Sets"]


def test_a_taken_slug_is_refused_next_to_the_field(client, admin, outdoor):
    tents = reloaded(outdoor["tents"])
    response = client.post("/admin/categories/new", data={"name": "Tarps", "slug": tents.slug, "parent_id": ""})
    assert response.status_code == 422
    page = text(response)
    field = page[page.index('name="slug"'):]
    assert f"The slug {tents.slug} is already used by Tents; choose another." in field[:600]
    assert db.session.scalar(sa.select(Category).where(Category.name == "Tarps")) is None


@pytest.mark.parametrize(("changes", "message"), [
    ({"name": ""}, "Please enter the name."),
    ({"name": "x" * 121}, "The name can be at most 120 characters long."),
    ({"slug": "Not A Slug"}, "A slug has lower-case letters and digits, joined by single hyphens"),
    ({"seo_title": "Tab\x00title"}, "This contains characters we cannot store."),
    ({"parent_id": "banana"}, "Choose a category from the list."),
    ({"parent_id": "999999"}, "That parent category no longer exists; choose another."),
])
def test_validation_errors_are_shown_next_to_the_fields(client, admin, outdoor, changes, message):
    tents = reloaded(outdoor["tents"])
    response = client.post(f"/admin/categories/{tents.id}", data=form_for(tents, **changes))
    assert response.status_code == 422
    page = text(response)
    assert message in page
    assert page.index("has-error") < page.index(message)
    assert reloaded(outdoor["tents"]).name == "Tents"


def test_rename_says_what_changed_and_is_audited(client, admin, outdoor):
    tents = reloaded(outdoor["tents"])
    response = client.post(f"/admin/categories/{tents.id}", data=form_for(tents, name="Shelters", seo_title="Tents"),
                           follow_redirects=True)
    assert "The category Shelters was saved: name and SEO title changed." in text(response)
    assert reloaded(outdoor["tents"]).slug == tents.slug, "the slug stays unless the admin changes it"
    record = audits("category.update")[-1]
    assert record.changes == {"name": ["Tents", "Shelters"], "seo_title": ["", "Tents"]}
    again = client.post(f"/admin/categories/{tents.id}", data=form_for(reloaded(tents.id)), follow_redirects=True)
    assert "Nothing changed in the category Shelters." in text(again)


def test_move_under_another_parent(client, admin, outdoor):
    tunnel = reloaded(outdoor["tunnel"])
    client.post(f"/admin/categories/{tunnel.id}", data=form_for(tunnel, parent_id=str(outdoor["stoves"])))
    assert reloaded(outdoor["tunnel"]).parent_id == outdoor["stoves"]
    assert audits("category.update")[-1].changes["parent_id"] == [outdoor["tents"], outdoor["stoves"]]
    edit = text(client.get(f"/admin/categories/{outdoor['root']}"))
    options = edit[edit.index('name="parent_id"'):edit.index("</select>", edit.index('name="parent_id"'))]
    assert ">Outdoor<" not in options and "— Tents" not in options, "a category cannot be offered itself or below"
    moved = text(client.get(f"/admin/categories/{tunnel.id}"))
    assert f'<option selected value="{outdoor["stoves"]}">— Stoves</option>' in moved


@pytest.mark.parametrize(("target", "message"), [
    ("tents", "Tents cannot move under itself."),
    ("dome", "Tents cannot move under Dome tents: Dome tents is one of its own subcategories."),
])
def test_a_move_that_would_make_a_cycle_is_refused(client, admin, outdoor, target, message):
    tents = reloaded(outdoor["tents"])
    response = client.post(f"/admin/categories/{tents.id}", data=form_for(tents, parent_id=str(outdoor[target])))
    assert response.status_code == 422 and message in text(response)
    assert reloaded(outdoor["tents"]).parent_id == outdoor["root"]


def test_reorder_siblings_with_buttons(client, admin, outdoor):
    response = client.post(f"/admin/categories/{outdoor['stoves']}/move", data={"direction": "up"},
                           follow_redirects=True)
    assert "Stoves moved up." in text(response)
    assert (reloaded(outdoor["stoves"]).position, reloaded(outdoor["tents"]).position) == (0, 1)
    page = text(client.get("/admin/categories"))
    assert page.index(">Stoves<") < page.index(">Tents<")
    again = client.post(f"/admin/categories/{outdoor['stoves']}/move", data={"direction": "up"},
                        follow_redirects=True)
    assert "Stoves is already first among its siblings." in text(again)
    assert audits("category.reorder")[-1].changes == {"position": [1, 0]}


def test_reorder_renumbers_siblings_that_shared_a_position(client, admin):
    first, second, third = (make_category(name) for name in ("Alpha", "Bravo", "Charlie"))
    db.session.commit()
    client.post(f"/admin/categories/{third.id}/move", data={"direction": "up"})
    assert [reloaded(c.id).position for c in (first, second, third)] == [0, 2, 1]


def test_reorder_buttons_post_and_need_a_token(client, admin, outdoor):
    assert client.get(f"/admin/categories/{outdoor['stoves']}/move").status_code == 405
    assert client.post(f"/admin/categories/{outdoor['stoves']}/move", data={"direction": "up"},
                       csrf=False).status_code == 400
    assert reloaded(outdoor["stoves"]).position == 1


def test_delete_is_refused_while_products_or_subcategories_remain(client, admin, outdoor):
    response = client.get(f"/admin/categories/{outdoor['tents']}/delete", follow_redirects=True)
    assert "Tents still has 3 products and 2 subcategories; move or delete them first." in text(response)
    response = client.post(f"/admin/categories/{outdoor['dome']}/delete", data={"confirmed": "yes"},
                           follow_redirects=True)
    assert "Dome tents still has 1 product; move or delete them first." in text(response)
    assert reloaded(outdoor["dome"]) is not None


def test_delete_asks_first_then_deletes(client, admin, outdoor):
    page = text(client.get(f"/admin/categories/{outdoor['tunnel']}/delete"))
    assert "Delete the category Tunnel tents?" in page and 'name="confirmed" value="yes"' in page
    assert client.post(f"/admin/categories/{outdoor['tunnel']}/delete").status_code == 200, "no confirmation yet"
    assert db.session.get(Category, outdoor["tunnel"]) is not None
    response = client.post(f"/admin/categories/{outdoor['tunnel']}/delete", data={"confirmed": "yes"},
                           follow_redirects=True)
    assert "The category Tunnel tents was deleted." in text(response)
    db.session.commit()
    assert db.session.get(Category, outdoor["tunnel"]) is None
    assert audits("category.delete")[-1].changes["name"] == ["Tunnel tents", None]


def test_unknown_categories_are_404(client, admin):
    for path in ("/admin/categories/999999", "/admin/categories/999999/delete"):
        assert client.get(path).status_code == 404
    assert client.post("/admin/categories/999999/move", data={"direction": "up"}).status_code == 404


def test_the_tree_runs_a_constant_number_of_queries(client, admin, count_queries):
    root = make_category("Root")
    make_product("One", category=make_category("Child", parent=root))
    db.session.commit()
    with count_queries() as few:
        assert client.get("/admin/categories").status_code == 200
    for n in range(30):
        parent = make_category(f"Level {n}", parent=root)
        make_product(f"Item {n}", category=make_category(f"Leaf {n}", parent=parent))
    db.session.commit()
    with count_queries() as many:
        assert client.get("/admin/categories?q=e").status_code == 200
    assert len(few) == len(many) <= 6


def test_the_edit_form_runs_a_constant_number_of_queries(client, admin, count_queries, outdoor):
    with count_queries() as few:
        client.get(f"/admin/categories/{outdoor['tents']}")
    for n in range(20):
        make_category(f"More {n}", parent=db.session.get(Category, outdoor["root"]))
    db.session.commit()
    with count_queries() as many:
        client.get(f"/admin/categories/{outdoor['tents']}")
    assert len(few) == len(many)


# --- What shoppers see --------------------------------------------------------------------------


def test_the_category_page_uses_its_seo_fields_and_description(client, admin, outdoor):
    tents = reloaded(outdoor["tents"])
    client.post(f"/admin/categories/{tents.id}", data=form_for(
        tents, seo_title="Tents for every season", meta_description="Dome & tunnel tents, <b>shipped free</b>.",
        description="Sleep **dry**.\n\n<script>alert(1)</script>"))
    page = client.get(f"/categories/{tents.slug}").get_data(as_text=True)
    assert "<title>Tents for every season ·" in page
    assert '<meta name="description" content="Dome &amp; tunnel tents, &lt;b&gt;shipped free&lt;/b&gt;.">' in page
    assert "<p>Sleep <strong>dry</strong>.</p>" in page and "<script>alert" not in page
    plain = client.get(f"/categories/{reloaded(outdoor['stoves']).slug}").get_data(as_text=True)
    # Without its own description the page still has one, which search engines show under the title.
    assert "<title>Stoves ·" in plain and '<meta name="description" content="Stoves at ' in plain


def test_an_inactive_category_and_everything_under_it_is_hidden(client, admin, outdoor):
    make_product("Camp Stove", category=reloaded(outdoor["stoves"]))  # listed subcategories are those with products
    db.session.commit()
    slugs = {name: reloaded(category_id).slug for name, category_id in outdoor.items()}
    tents = reloaded(outdoor["tents"])
    client.post(f"/admin/categories/{tents.id}", data=form_for(tents, is_active=None))
    for name in ("tents", "dome", "tunnel"):
        assert client.get(f"/categories/{slugs[name]}").status_code == 404, name
    outdoor_page = text(client.get(f"/categories/{slugs['root']}"))
    assert f'href="/categories/{slugs["tents"]}"' not in outdoor_page, "no link to a hidden subcategory"
    assert "Tent 0" not in outdoor_page and "Dome One" not in outdoor_page, "nor its products"
    assert f'href="/categories/{slugs["stoves"]}"' in outdoor_page

    root = reloaded(outdoor["root"])
    client.post(f"/admin/categories/{root.id}", data=form_for(root, is_active=None))
    home = text(client.get("/"))
    assert f'href="/categories/{slugs["root"]}"' not in home, "gone from the navigation"
    assert client.get(f"/categories/{slugs['stoves']}").status_code == 404
    tree = text(client.get("/admin/categories"))
    assert "hidden: a category above it is inactive" in tree


def test_the_category_image_is_uploaded_shown_replaced_and_removed(client, admin, outdoor, app):
    tents = reloaded(outdoor["tents"])
    data = form_for(tents, image=picture_file("tents.jpg", "JPEG", 900, 600))
    response = client.post(f"/admin/categories/{tents.id}", data=data, content_type="multipart/form-data",
                           follow_redirects=True)
    assert "image changed" in text(response)
    first_key = reloaded(tents.id).image_key
    assert first_key and "tents" not in first_key
    media = app.config["MEDIA_PATH"]
    assert os.path.exists(os.path.join(media, f"{first_key}-full.webp"))
    page = client.get(f"/categories/{tents.slug}").get_data(as_text=True)
    assert f"{first_key}-full.webp" in page and 'alt="Tents"' in page

    client.post(f"/admin/categories/{tents.id}", data=form_for(tents, image=picture_file("b.png", "PNG")),
                content_type="multipart/form-data")
    second_key = reloaded(tents.id).image_key
    assert second_key != first_key
    assert not os.path.exists(os.path.join(media, f"{first_key}-full.webp")), "the old files are gone"

    client.post(f"/admin/categories/{tents.id}", data=form_for(tents, remove_image="y"))
    assert reloaded(tents.id).image_key is None
    assert not os.path.exists(os.path.join(media, f"{second_key}-full.jpg"))
    assert audits("category.update")[-1].changes == {"image_key": [second_key, None]}


def test_a_refused_image_is_explained_next_to_the_field_and_nothing_is_kept(client, admin, outdoor, app):
    tents = reloaded(outdoor["tents"])
    data = form_for(tents, name="Renamed", image=(io.BytesIO(b"just some text"), "notes.jpg"))
    response = client.post(f"/admin/categories/{tents.id}", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    page = text(response)
    assert "notes.jpg" in page[page.index('name="image"') - 600:]
    assert reloaded(tents.id).name == "Tents" and reloaded(tents.id).image_key is None
    media = app.config["MEDIA_PATH"]
    assert not os.path.exists(media) or not any(files for _, _, files in os.walk(media))


def test_a_failed_save_leaves_no_uploaded_files(client, admin, outdoor, app):
    tents = reloaded(outdoor["tents"])
    data = form_for(tents, parent_id=str(outdoor["dome"]), image=picture_file("ok.jpg", "JPEG"))
    response = client.post(f"/admin/categories/{tents.id}", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    media = app.config["MEDIA_PATH"]
    assert not os.path.exists(media) or not any(files for _, _, files in os.walk(media))


@pytest.mark.parametrize("query", ["page=abc", "page=-3", "page=99999999999999999999", "sort=%F0%9F%92%A5",
                                   "status=zzz", "products=1e309", "q=%00", "q=" + "x" * 300])
def test_junk_list_parameters_fall_back(client, admin, query):
    assert client.get("/admin/categories?" + query).status_code == 200

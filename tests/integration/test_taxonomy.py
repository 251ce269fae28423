"""Category and brand use cases against a real database (SQLite, and Postgres with TEST_DATABASE_URL)."""
import contextlib
import threading
import time

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import AuditRecord, Brand, Category, Product, User
from shop.services import NotFound, ShopError, taxonomy
from shop.services.taxonomy import BrandFields, CategoryFields, FieldRefusal
from tests.concurrency import all_at_once
from tests.factories import make_brand, make_category, make_product


def fresh(model, row_id):
    db.session.commit()
    return db.session.get(model, row_id, populate_existing=True)


def fields_of(category: Category, **changes) -> CategoryFields:
    values = {"name": category.name, "slug": category.slug, "parent_id": category.parent_id,
              "description": category.description, "seo_title": category.seo_title,
              "meta_description": category.meta_description, "is_active": category.is_active}
    values.update(changes)
    return CategoryFields(**values)


def positions(parent_id: int | None) -> list[tuple[str, int]]:
    db.session.commit()
    condition = Category.parent_id.is_(None) if parent_id is None else Category.parent_id == parent_id
    return [(c.name, c.position) for c in db.session.scalars(
        sa.select(Category).where(condition).order_by(Category.position).execution_options(populate_existing=True))]


def audit_actions() -> list[str]:
    db.session.commit()
    return list(db.session.scalars(sa.select(AuditRecord.action).order_by(AuditRecord.id)))


def test_create_generates_unique_slugs_and_appends_to_the_parent(app, boss):
    root = make_category("Outdoor")
    make_category("Tents", parent=root, position=4)
    db.session.commit()
    first = taxonomy.create_category(boss, CategoryFields(name="Sleeping Bags", slug="", parent_id=root.id))
    second = taxonomy.create_category(boss, CategoryFields(name="Sleeping bags!", slug="", parent_id=root.id))
    assert (fresh(Category, first.id).slug, fresh(Category, second.id).slug) == ("sleeping-bags", "sleeping-bags-2")
    assert fresh(Category, first.id).position == 5 and fresh(Category, second.id).position == 6
    only_emoji = taxonomy.create_category(boss, CategoryFields(name="💥", slug="", parent_id=None))
    assert fresh(Category, only_emoji.id).slug == "category"
    assert audit_actions() == ["category.create"] * 3


def test_create_refuses_what_the_form_would_and_stores_nothing(app, boss):
    make_category("Tents")
    db.session.commit()
    taken = db.session.scalar(sa.select(Category.slug))
    cases = [
        (CategoryFields(name="  ", slug="", parent_id=None), "name"),
        (CategoryFields(name="Tarps", slug=taken, parent_id=None), "slug"),
        (CategoryFields(name="Tarps", slug="has space", parent_id=None), "slug"),
        (CategoryFields(name="Tarps", slug="", parent_id=2**31 - 1), "parent_id"),
        (CategoryFields(name="Tarps", slug="", parent_id=None, seo_title="a\x00b"), "seo_title"),
        (CategoryFields(name="Tarps", slug="", parent_id=None, description="x" * 20_001), "description"),
    ]
    for fields, field in cases:
        with pytest.raises(FieldRefusal) as refusal:
            taxonomy.create_category(boss, fields)
        assert refusal.value.field == field
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Category)) == 1
    assert audit_actions() == []


def test_a_move_goes_to_the_end_of_its_new_parent_and_closes_the_gap(app, boss):
    camping, cooking = make_category("Camping"), make_category("Cooking")
    tents, stoves, _ = (make_category(name, parent=camping, position=n)
                        for n, name in enumerate(("Tents", "Stoves", "Lamps")))
    make_category("Pans", parent=cooking, position=0)
    db.session.commit()
    saved = taxonomy.update_category(boss, stoves.id, fields_of(stoves, parent_id=cooking.id))
    assert saved.changed == ["parent"]
    assert positions(camping.id) == [("Tents", 0), ("Lamps", 1)]
    assert positions(cooking.id) == [("Pans", 0), ("Stoves", 1)]
    record = db.session.scalar(sa.select(AuditRecord).where(AuditRecord.action == "category.update"))
    assert record.changes == {"parent_id": [camping.id, cooking.id]}
    assert record.actor_id == boss.id
    taxonomy.update_category(boss, tents.id, fields_of(fresh(Category, tents.id), parent_id=None))
    assert [name for name, _ in positions(None)][-1] == "Tents"


def test_moves_that_would_make_a_cycle_are_refused(app, boss):
    root = make_category("Root")
    child = make_category("Child", parent=root)
    grandchild = make_category("Grandchild", parent=child)
    db.session.commit()
    for target, message in ((root.id, "Root cannot move under itself."),
                            (grandchild.id, "Root cannot move under Grandchild: Grandchild is one of its own")):
        with pytest.raises(FieldRefusal, match=message):
            taxonomy.update_category(boss, root.id, fields_of(fresh(Category, root.id), parent_id=target))
    assert fresh(Category, root.id).parent_id is None
    assert fresh(Category, grandchild.id).parent_id == child.id
    assert audit_actions() == []
    assert [label for _, label in taxonomy.parent_choices(child.id)] == ["Root"]


def test_two_admins_moving_two_categories_under_each_other_cannot_make_a_cycle(app, boss, monkeypatch):
    """The tree is read under a lock: the second move sees the first one and is refused."""
    first, second = make_category("First"), make_category("Second")
    db.session.commit()
    ids, boss_id = (first.id, second.id), boss.id
    locked_tree = taxonomy._lock_tree

    def slow_read():
        found = locked_tree()
        time.sleep(0.3)  # time enough for the other move to commit, were the rows not locked
        return found

    monkeypatch.setattr(taxonomy, "_lock_tree", slow_read)

    def race(index: int, together):
        with app.app_context():
            try:
                actor = db.session.get(User, boss_id)
                category = db.session.get(Category, ids[index])
                fields = fields_of(category, parent_id=ids[1 - index])
                db.session.commit()
                together()
                return taxonomy.update_category(actor, ids[index], fields)
            finally:
                db.session.remove()

    results = all_at_once(2, race)
    refused = [result for result in results if isinstance(result, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], FieldRefusal), results
    parents = {fresh(Category, category_id).parent_id for category_id in ids}
    assert None in parents, "one of the two is still at the top: no cycle"


def test_reorder_swaps_neighbours_and_renumbers(app, boss):
    a, _, c = (make_category(name) for name in ("A", "B", "C"))  # all at position 0
    db.session.commit()
    assert taxonomy.move_category(boss, c.id, "up") == ("C", True)
    assert positions(None) == [("A", 0), ("C", 1), ("B", 2)]
    assert taxonomy.move_category(boss, a.id, "up") == ("A", False)
    assert taxonomy.move_category(boss, a.id, "down") == ("A", True)
    assert positions(None) == [("C", 0), ("A", 1), ("B", 2)]
    with pytest.raises(ShopError):
        taxonomy.move_category(boss, a.id, "sideways")
    with pytest.raises(NotFound):
        taxonomy.move_category(boss, 2**31 - 1, "up")
    assert audit_actions() == ["category.reorder", "category.reorder"]


def test_delete_is_refused_while_products_or_children_remain(app, boss):
    tents = make_category("Tents")
    make_category("Dome", parent=tents)
    make_category("Tunnel", parent=tents)
    for n in range(11):
        make_product(f"Tent {n}", category=tents)
    make_product("Old tent", category=tents, is_active=False)
    db.session.commit()
    with pytest.raises(ShopError, match=r"^Tents still has 12 products and 2 subcategories; move or delete them"):
        taxonomy.delete_category(boss, tents.id)
    assert fresh(Category, tents.id) is not None
    check = taxonomy.category_delete_check(tents.id)
    assert (check.product_count, check.child_count) == (12, 2)


def test_delete_removes_an_empty_category_and_renumbers_its_siblings(app, boss):
    _, middle, _ = (make_category(name, position=n) for n, name in enumerate(("First", "Middle", "Last")))
    db.session.commit()
    assert taxonomy.category_delete_check(middle.id).refusal is None
    assert taxonomy.delete_category(boss, middle.id) == "Middle"
    assert positions(None) == [("First", 0), ("Last", 1)]
    record = db.session.scalar(sa.select(AuditRecord).where(AuditRecord.action == "category.delete"))
    assert record.entity_id == middle.id and record.changes["name"] == ["Middle", None]


def test_the_tree_counts_products_and_marks_hidden_branches(app, boss):
    root = make_category("Root")
    child = make_category("Child", parent=root)
    leaf = make_category("Leaf", parent=child)
    make_product("In root", category=root)
    make_product("In leaf", category=leaf)
    make_product("Also in leaf", category=leaf, is_active=False)
    db.session.commit()
    taxonomy.update_category(boss, child.id, fields_of(child, is_active=False))
    rows = {row.category.name: row for row in taxonomy.category_tree()}
    assert [(row.category.name, row.depth) for row in taxonomy.category_tree()] == [
        ("Root", 0), ("Child", 1), ("Leaf", 2)]
    assert (rows["Root"].product_count, rows["Root"].subtree_product_count) == (1, 3)
    assert rows["Leaf"].hidden_by_parent and not rows["Child"].hidden_by_parent
    assert rows["Leaf"].path == ["Root", "Child"]
    assert [row.category.name for row in taxonomy.category_tree(status="inactive")] == ["Child"]
    assert [row.category.name for row in taxonomy.category_tree(term="LEA")] == ["Leaf"]


def test_a_brand_delete_leaves_its_products_brandless(app, boss):
    brand = make_brand("Acme")
    products = [make_product(f"Anvil {n}", brand=brand).id for n in range(3)]
    other = make_product("Rocket", brand=make_brand("Other")).id
    db.session.commit()
    assert taxonomy.brand_product_count(brand.id) == 3
    assert taxonomy.delete_brand(boss, brand.id) == ("Acme", 3)
    assert all(fresh(Product, product_id).brand_id is None for product_id in products)
    assert fresh(Product, other).brand_id is not None
    assert fresh(Brand, brand.id) is None
    with pytest.raises(NotFound):
        taxonomy.delete_brand(boss, brand.id)


def test_the_database_itself_sets_null_when_a_brand_row_goes(app):
    """The foreign key is ON DELETE SET NULL on both databases, so even a raw delete keeps products working."""
    brand = make_brand("Raw")
    product_id = make_product("Kept", brand=brand).id
    db.session.commit()
    db.session.execute(sa.delete(Brand).where(Brand.id == brand.id))
    db.session.commit()
    assert fresh(Product, product_id).brand_id is None


def test_brands_are_created_edited_and_listed_with_counts(app, boss):
    saved = taxonomy.create_brand(boss, BrandFields(name="Nordic Gear", slug="", description="Warm"))
    with pytest.raises(FieldRefusal, match="already used by Nordic Gear"):
        taxonomy.create_brand(boss, BrandFields(name="Copy", slug="nordic-gear"))
    edited = taxonomy.update_brand(boss, saved.id, BrandFields(name="Nordic", slug="nordic", description="Warm"))
    assert edited.changed == ["name", "slug"]
    assert taxonomy.update_brand(boss, saved.id, BrandFields(name="Nordic", slug="nordic", description="Warm")
                                 ).changed == []
    make_product("Parka", brand=db.session.get(Brand, saved.id))
    make_brand("50% Off_Deals")
    db.session.commit()
    page = taxonomy.brand_list("", "products", 1, 10)
    assert [(row.brand.name, row.product_count) for row in page.items] == [("Nordic", 1), ("50% Off_Deals", 0)]
    assert [row.brand.name for row in taxonomy.brand_list("0% o", "name", 1, 10).items] == ["50% Off_Deals"]
    assert taxonomy.brand_list("_", "name", 1, 10).total == 1, "an underscore is matched literally"
    assert taxonomy.brand_list("", "name", 99, 10).page == 1
    assert audit_actions() == ["brand.create", "brand.update"]


def test_a_concurrent_slug_clash_is_a_refusal_not_a_crash(app, boss, monkeypatch):
    """Two admins creating the same slug at once: the database's unique index turns the loser away politely."""
    boss_id = boss.id
    checked = threading.Barrier(2)
    real_slug = taxonomy._slug

    def slug_then_wait(*args, **kwargs):
        found = real_slug(*args, **kwargs)
        # On SQLite the second writer waits for the lock, so it never arrives here.
        with contextlib.suppress(threading.BrokenBarrierError):
            checked.wait(timeout=2)
        return found

    monkeypatch.setattr(taxonomy, "_slug", slug_then_wait)

    def race(index: int, together):
        with app.app_context():
            try:
                actor = db.session.get(User, boss_id)
                db.session.commit()
                together()
                return taxonomy.create_brand(actor, BrandFields(name=f"Twin {index}", slug="twin"))
            finally:
                db.session.remove()

    results = all_at_once(2, race)
    refused = [result for result in results if isinstance(result, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], ShopError), results
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Brand)) == 1

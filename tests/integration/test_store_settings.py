"""Store settings: SHOP_* defaults, the owner's values checked and audited, and every process seeing a change
(at once when they share a cache in Redis)."""
import pytest
import redis
import sqlalchemy as sa

from shop import create_app
from shop.extensions import db
from shop.models import AuditRecord, StoreSetting, User
from shop.services import store_settings
from shop.services.content_pages import PageFields, create_page
from shop.services.store_settings import InvalidSetting
from tests.conftest import free_port


def audit_rows() -> list[AuditRecord]:
    return list(db.session.scalars(sa.select(AuditRecord).where(AuditRecord.entity_type == "store_settings")))


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    """Return the time the settings' cache reads (seconds), which the test moves on by hand."""
    now = [1000.0]
    monkeypatch.setattr(store_settings, "_clock", lambda: now[0])
    return now


@pytest.fixture
def second_app(app, clock):
    """Return another app on the same database, as another worker process would have."""
    other = create_app({"TESTING": True, "SECRET_KEY": app.config["SECRET_KEY"],
                        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                        "SETTINGS_CACHE_SECONDS": 30})
    yield other
    with other.app_context():
        db.engine.dispose()


def read_in(other_app, name: str):
    with other_app.app_context():
        return store_settings.get(name)


def test_a_setting_takes_its_shop_default_until_the_owner_saves_one(app, boss):
    app.config["SHOP_NAME"] = "Trail & Tide"
    assert store_settings.get("shop_name") == "Trail & Tide"
    assert store_settings.get("low_stock_threshold") == 5 and store_settings.get("tax_shipping") is True

    changed = store_settings.save(boss, {"shop_name": "  Harbour Goods ", "low_stock_threshold": 3,
                                         "tax_shipping": False})

    assert changed == {"shop_name": ["Trail & Tide", "Harbour Goods"], "low_stock_threshold": [5, 3],
                       "tax_shipping": [True, False]}
    assert store_settings.get("shop_name") == "Harbour Goods", "the saving process sees it at once"
    assert store_settings.get("low_stock_threshold") == 3 and store_settings.get("tax_shipping") is False
    app.config["SHOP_NAME"] = "Other"
    assert store_settings.get("shop_name") == "Harbour Goods", "the owner's value beats the default"
    row = db.session.get(StoreSetting, "shop_name")
    assert row.value == "Harbour Goods" and row.updated_by_id == boss.id


def test_saving_is_audited_with_before_and_after_and_unchanged_values_are_left_alone(boss):
    store_settings.save(boss, {"contact_email": "Help@Trail.example", "staff_refund_limit_cents": 5000})
    [record] = audit_rows()
    assert record.actor_email == "boss@example.com" and record.action == "settings.update"
    assert record.changes == {"contact_email": ["", "help@trail.example"],
                              "staff_refund_limit_cents": [10_000, 5000]}
    assert record.summary == "Changed contact email, largest refund staff may give"

    assert store_settings.save(boss, {"contact_email": "help@trail.example", "staff_refund_limit_cents": 5000}) == {}
    assert len(audit_rows()) == 1, "saving the same values records nothing"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("shop_name", "   ", "Please enter the shop name."),
    ("shop_name", "x" * 101, "at most 100 characters"),
    ("shop_name", "Bad\x00name", "characters we cannot store"),
    ("contact_email", "not an address", "is not a valid email address"),
    ("order_notify_emails", "a@example.com, nope", "nope is not a valid email address"),
    ("low_stock_threshold", -1, "between 0 and 100,000"),
    ("low_stock_threshold", "3", "as a whole number"),
    ("low_stock_threshold", True, "as a whole number"),
    ("reservation_minutes", 5, "between 10 and 1,440"),
    ("staff_refund_limit_cents", -100, r"between \$0\.00 and"),
    ("low_stock_digest", "yes", "either on or off"),
    ("address", 12, "as text"),
])
def test_a_value_the_setting_cannot_take_is_refused_and_nothing_is_saved(boss, name, value, message):
    with pytest.raises(InvalidSetting, match=message) as refusal:
        store_settings.save(boss, {"shop_name": "Kept out", name: value})
    assert refusal.value.field == name
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StoreSetting)) == 0
    assert audit_rows() == []


def test_emails_and_address_are_stored_in_the_form_their_readers_split(boss):
    store_settings.save(boss, {
        "order_notify_emails": "Orders@Example.com; packing@example.com\nORDERS@example.com",
        "low_stock_notify_emails": "",
        "address": "Trail & Tide Ltd\n 12 Harbour Street,\n\nPortland OR 97201",
    })
    assert store_settings.get("order_notify_emails") == "orders@example.com, packing@example.com"
    assert store_settings.get("low_stock_notify_emails") == ""
    assert store_settings.get("address") == "Trail & Tide Ltd, 12 Harbour Street, Portland OR 97201"


def test_an_unknown_setting_is_a_programming_error(boss):
    with pytest.raises(ValueError, match="no store setting is called 'colour'"):
        store_settings.save(boss, {"colour": "green"})


def test_another_process_sees_a_change_once_its_copy_is_older_than_the_cache_time(app, boss, second_app, clock):
    now = clock
    assert read_in(second_app, "shop_name") == "Shop"

    store_settings.save(boss, {"shop_name": "Harbour Goods"})

    now[0] += 29
    assert read_in(second_app, "shop_name") == "Shop", "within SETTINGS_CACHE_SECONDS its copy stands"
    now[0] += 2
    assert read_in(second_app, "shop_name") == "Harbour Goods"


def test_pages_read_no_setting_from_the_database_while_the_copy_is_fresh(app, boss, count_queries):
    store_settings.save(boss, {"shop_name": "Harbour Goods"})
    store_settings.get("shop_name")
    with count_queries() as statements:
        for setting in store_settings.SETTINGS:
            store_settings.get(setting.name)
        store_settings.footer_links()
    assert statements == []


def test_without_its_table_the_shop_runs_on_the_defaults(app, monkeypatch):
    monkeypatch.setattr(store_settings, "_clock", lambda: 10**9)  # the copy read at start is stale
    db.session.commit()
    StoreSetting.__table__.drop(db.engine)
    try:
        store_settings.forget()
        assert store_settings.get("shop_name") == "Shop"
        assert [link.slug for link in store_settings.footer_links()] == [
            "about", "shipping-returns", "privacy", "terms", "contact"]
    finally:
        StoreSetting.__table__.create(db.engine)


def test_an_unchanged_default_outside_the_accepted_range_does_not_block_saving_the_others(app, boss):
    app.config["RESERVATION_MINUTES"] = 5  # set in the environment, below what the settings page accepts
    assert store_settings.save(boss, {"reservation_minutes": 5, "shop_name": "Harbour Goods"}) == {
        "shop_name": ["Shop", "Harbour Goods"]}
    with pytest.raises(InvalidSetting, match="between 10 and 1,440"):
        store_settings.save(boss, {"reservation_minutes": 6})


REDIS_URL = "redis://127.0.0.1:6379/11"


@pytest.fixture
def shared_cache(app):
    """Return a function making apps on the test database that share store settings through the local Redis.

    Each is another process of the same shop with SHOP_CACHE_URL set; the shared copy starts empty.
    """
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({error}); start redis-server to run this test")
    apps = []

    def process(cache_url: str = REDIS_URL):
        other = create_app({"TESTING": True, "SECRET_KEY": app.config["SECRET_KEY"],
                            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                            "SETTINGS_CACHE_SECONDS": 300, "CACHE_URL": cache_url})
        apps.append(other)
        return other

    client.delete(SHARED_KEY)
    yield process
    client.delete(SHARED_KEY)
    client.close()
    for other in apps:
        with other.app_context():
            db.engine.dispose()


SHARED_KEY = "shop:" + store_settings.SHARED_KEY


def save_in(process_app, owner_id: int, changes: dict) -> None:
    with process_app.app_context():
        store_settings.save(db.session.get(User, owner_id), changes)


def test_with_a_shared_cache_every_process_sees_a_save_at_once(boss, shared_cache, clock):
    one, other = shared_cache(), shared_cache()
    assert read_in(other, "shop_name") == "Shop"
    assert read_in(one, "shop_name") == "Shop"

    save_in(one, boss.id, {"shop_name": "Harbour Goods"})

    assert read_in(other, "shop_name") == "Harbour Goods", "no waiting out SETTINGS_CACHE_SECONDS (300 here)"
    with one.app_context():
        create_page(db.session.get(User, boss.id), PageFields("Opening hours", "", "Nine to five.", True, True, 90))
    with other.app_context():
        assert "opening-hours" in [link.slug for link in store_settings.footer_links()]


def test_with_a_shared_cache_a_process_reads_the_database_only_when_the_cache_has_no_copy(boss, shared_cache):
    one, other = shared_cache(), shared_cache()
    save_in(one, boss.id, {"shop_name": "Harbour Goods"})
    reads: list[str] = []
    with other.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", lambda *args: reads.append(args[2]))
        engine = store_settings._engine()  # the settings' own engine, which a refresh would use
        sa.event.listen(engine, "before_cursor_execute", lambda *args: reads.append(args[2]))
        for _ in range(3):
            with other.test_request_context("/"):
                assert store_settings.get("shop_name") == "Harbour Goods"
                store_settings.footer_links()
    assert reads == [], "the saving process put the new copy in the cache"


def test_a_copy_read_before_a_save_never_replaces_the_saved_one(boss, shared_cache, monkeypatch):
    one, other = shared_cache(), shared_cache()
    read_database = store_settings._read_database
    raced = []

    def read_then_the_owner_saves():
        values = read_database()
        if not raced:  # the other process read the old values; the owner's save commits before it caches them
            raced.append(True)
            save_in(one, boss.id, {"shop_name": "Harbour Goods"})
        return values

    monkeypatch.setattr(store_settings, "_read_database", read_then_the_owner_saves)

    assert read_in(other, "shop_name") == "Shop", "that request read the database before the save"
    assert read_in(other, "shop_name") == "Harbour Goods", "its late copy did not overwrite the saved one"


def test_when_the_shared_cache_is_down_each_process_keeps_its_own_copy(boss, shared_cache, caplog):
    down = shared_cache(cache_url=f"redis://127.0.0.1:{free_port()}/11")

    assert read_in(down, "shop_name") == "Shop"
    save_in(down, boss.id, {"shop_name": "Harbour Goods"})

    assert read_in(down, "shop_name") == "Harbour Goods"
    assert "The shared cache cannot be reached" in caplog.text

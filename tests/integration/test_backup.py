"""`flask shop backup` and `flask shop restore`: a consistent copy taken while the shop writes, and
archives that are damaged, altered or from elsewhere refused without touching the shop.

SQLite only where the archive holds the database; on Postgres the backup refuses with the pg_dump
commands, and the media-only archive goes through the same checks.
"""
import hashlib
import io
import json
import os
import sqlite3
import tarfile
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from shop.extensions import db
from shop.models import Order, Product
from shop.operations import backup
from shop.services import lifecycle
from shop.services.images import save_picture
from shop.services.orders import place_order
from tests.concurrency import all_at_once
from tests.conftest import POSTGRES_URL, running_app
from tests.factories import make_product
from tests.images import jpeg_bytes, upload
from tests.shopper_http import HttpShopper

sqlite_only = pytest.mark.skipif(bool(POSTGRES_URL), reason="the archive holds an SQLite database; a Postgres "
                                                                "shop backs its database up with pg_dump")
postgres_only = pytest.mark.skipif(not POSTGRES_URL, reason="the pg_dump instructions are for a Postgres shop")
# A Postgres shop archives only its media folder; the archive's checks are the same.
BACKUP_ARGS = ["--media-only"] if POSTGRES_URL else []
STOCK = 50


def written(result) -> Path:
    """Return the archive a successful `flask shop backup` says it wrote."""
    assert result.exit_code == 0, result.output
    path = Path(result.output.split("Backup written: ")[1].split(" (")[0])
    assert path.is_file()
    return path


def run_backup(runner, folder: Path, *args: str) -> Path:
    """Run `flask shop backup` into folder (media only on Postgres); return the archive it wrote."""
    return written(runner.invoke(args=["shop", "backup", str(folder), *BACKUP_ARGS, *args]))


def restore(runner, archive: Path, *args: str, answer: str | None = None):
    return runner.invoke(args=["shop", "restore", str(archive), *args], input=answer)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def folder_files(folder) -> dict[str, str]:
    """Return {relative path: sha256} of every file under a folder."""
    root = Path(folder)
    return {path.relative_to(root).as_posix(): sha256(path.read_bytes()) for path in root.rglob("*") if path.is_file()}


def read_members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as opened:
        return {member.name: opened.extractfile(member).read() for member in opened}


def write_archive(path: Path, members: dict[str, bytes], specials: tuple[tarfile.TarInfo, ...] = ()) -> Path:
    """Write a tar.gz holding the members in their order, then any link members."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for special in specials:
            archive.addfile(special)
    return path


def with_manifest(files: dict[str, bytes], backend: str = "sqlite") -> dict[str, bytes]:
    """Return the files followed by a manifest that describes them truthfully."""
    manifest = {
        "format": "shop-backup", "format_version": 1, "created_at": "2026-01-01T00:00:00Z",
        "database": {"backend": backend, "included": "database/shop.db" in files, "alembic_revision": None,
                     "migrations_head": None},
        "media": {"included": True, "note": None},
        "counts": {},
        "files": {name: {"sha256": sha256(data), "size": len(data)} for name, data in files.items()},
    }
    return {**files, "manifest.json": json.dumps(manifest).encode()}


def shop_state(app) -> tuple:
    """What a restore would change: the products in the database and the media folder's files."""
    db.session.rollback()
    return sorted(db.session.scalars(sa.select(Product.name))), folder_files(app.config["MEDIA_PATH"])


def leftovers(app) -> list[str]:
    """Return the staging folders a restore left beside the database and the media folder."""
    folders = {os.path.dirname(app.config["MEDIA_PATH"])}
    if not POSTGRES_URL:
        folders.add(os.path.dirname(make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database))
    return [name for folder in folders for name in os.listdir(folder) if name.startswith(".shop-")]


def set_revision(revision: str) -> None:
    """Record the test database as migrated to `revision` (the tests build it with create_all)."""
    db.session.execute(sa.text("CREATE TABLE IF NOT EXISTS alembic_version "
                               "(version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
    db.session.execute(sa.text("DELETE FROM alembic_version"))
    db.session.execute(sa.text("INSERT INTO alembic_version VALUES (:revision)"), {"revision": revision})
    db.session.commit()


def head() -> str:
    return backup.migrations().get_current_head()


@pytest.fixture
def pictures(app):
    """Two uploaded pictures: twelve rendition files in the media folder."""
    for colour in ((200, 30, 30), (30, 30, 200)):
        save_picture(upload(jpeg_bytes(colour=colour)))
    return folder_files(app.config["MEDIA_PATH"])


@pytest.fixture
def archive(app, runner, pictures, tmp_path):
    """A backup of a shop with a product and two pictures, at the migrations' head."""
    make_product("Backed-up Lamp")
    db.session.commit()
    if not POSTGRES_URL:
        set_revision(head())
    return run_backup(runner, tmp_path / "backups")


@sqlite_only
def test_a_backup_taken_mid_order_restores_whole_into_a_fresh_shop(
        app, runner, details, pictures, tmp_path, monkeypatch, smtp_server):
    lamp, rug = (make_product(name, stock=STOCK).variants[0].id for name in ("Lamp", "Rug"))
    db.session.commit()
    set_revision(head())
    pause_at, placed, inside, backed_up = 4, [], threading.Event(), threading.Event()
    place_event = lifecycle.placed

    def placed_then_wait(order, *args):
        event = place_event(order, *args)
        if len(placed) + 1 == pause_at:
            # Written but not committed, holding the write lock, while the backup runs.
            db.session.flush()
            inside.set()
            assert backed_up.wait(60)
        return event

    monkeypatch.setattr(lifecycle, "placed", placed_then_wait)

    def place_orders() -> None:
        with app.app_context():
            try:
                for number in range(6):
                    order = place_order({lamp: 1, rug: 1}, details(email=f"buyer{number}@example.com"), None)
                    placed.append(order.number)
            finally:
                db.session.remove()

    writer = threading.Thread(target=place_orders)
    writer.start()
    try:
        assert inside.wait(60), "the writer never reached its open transaction"
        result = runner.invoke(args=["shop", "backup", str(tmp_path / "backups")])
    finally:
        backed_up.set()
        writer.join(60)
    assert result.exit_code == 0, result.output
    assert len(placed) == 6, "the writer stopped early"
    folder = tmp_path / "backups"
    (path,) = folder.iterdir()
    assert oct(folder.stat().st_mode & 0o777) == "0o700" and oct(path.stat().st_mode & 0o777) == "0o600"
    assert f"Backup written: {path}" in result.output and "Database: 3 orders, 2 products" in result.output
    manifest = json.loads(read_members(path)["manifest.json"])
    assert manifest["format_version"] == 1 and manifest["database"]["backend"] == "sqlite"
    assert manifest["database"]["alembic_revision"] == manifest["database"]["migrations_head"] == head()
    assert manifest["counts"] == {"orders": 3, "products": 2, "media_files": 12}

    with running_app(tmp_path / "fresh", "sqlite:///" + str(tmp_path / "fresh" / "shop.db"), smtp_server, {},
                     monkeypatch) as fresh:
        restored = restore(fresh.test_cli_runner(), path, "--yes")
        assert restored.exit_code == 0, restored.output
        assert "run `flask db upgrade`" not in restored.output
        # The fresh shop reads the restored orders through its own engine.
        assert sorted(db.session.scalars(sa.select(Order.number))) == sorted(placed[:3])
        fresh_media = fresh.config["MEDIA_PATH"]
        fresh_database = make_url(fresh.config["SQLALCHEMY_DATABASE_URI"]).database

    copy = sqlite3.connect(fresh_database)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        per_order = copy.execute(
            "SELECT o.number, (SELECT count(*) FROM order_items i WHERE i.order_id = o.id),"
            " (SELECT count(*) FROM stock_movements m WHERE m.order_id = o.id AND m.delta = -1) FROM orders o"
        ).fetchall()
        stock = dict(copy.execute("SELECT v.id, v.stock + (SELECT -sum(m.delta) FROM stock_movements m"
                                  " WHERE m.variant_id = v.id) FROM product_variants v").fetchall())
    finally:
        copy.close()
    assert sorted(per_order) == sorted((number, 2, 2) for number in placed[:3])
    assert stock == {lamp: STOCK, rug: STOCK}  # every unit taken has its movement
    media_entries = {name.removeprefix("media/"): entry["sha256"] for name, entry in manifest["files"].items()
                     if name.startswith("media/")}
    assert folder_files(fresh_media) == media_entries == pictures


@sqlite_only
def test_a_backup_while_gunicorn_sells_is_whole(app, gunicorn_shop, shipping_methods, tmp_path):
    product = make_product("Desk Fan", stock=STOCK)
    variant_id, slug = product.variants[0].id, product.slug
    db.session.commit()
    shop = gunicorn_shop(threads=4, env={"SHOP_CHECKOUT_LIMIT_PER_IP": "1000 per minute"})

    def work(index: int, together):
        if index:
            shopper = HttpShopper(shop.url, f"fan{index}@example.com")
            together()
            return [shopper.buy(slug, variant_id, 1) for _ in range(2)], shopper.server_errors()
        with app.app_context():
            together()
            return backup.create_backup(str(tmp_path / "backups"))

    outcome, *buyers = all_at_once(4, work)
    assert isinstance(outcome, backup.BackupOutcome), outcome
    assert [bought for bought, errors in buyers] == [["paid", "paid"]] * 3
    assert [errors for bought, errors in buyers] == [[]] * 3, shop.log()[-3000:]
    database = tmp_path / "copy.db"
    database.write_bytes(read_members(Path(outcome.path))["database/shop.db"])
    copy = sqlite3.connect(database)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        incomplete = copy.execute(
            "SELECT o.number FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)"
            " OR NOT EXISTS (SELECT 1 FROM stock_movements m WHERE m.order_id = o.id)").fetchall()
        left = copy.execute("SELECT stock FROM product_variants WHERE id = ?", (variant_id,)).fetchone()[0]
        orders = copy.execute("SELECT count(*) FROM orders").fetchone()[0]
    finally:
        copy.close()
    assert incomplete == [] and left == STOCK - orders and outcome.database.orders == orders


@postgres_only
def test_a_postgres_shop_is_told_the_pg_dump_commands(app, runner, tmp_path):
    result = runner.invoke(args=["shop", "backup", str(tmp_path / "backups")])

    assert result.exit_code == 1 and not list((tmp_path / "backups").iterdir())
    name = make_url(POSTGRES_URL).database
    assert f"pg_dump -Fc -f {tmp_path / 'backups'}/shop-$(date -u +%Y%m%dT%H%M%SZ).dump postgresql://" in result.output
    assert "pg_restore --clean --if-exists -d postgresql://" in result.output and f"/{name}" in result.output
    assert "flask shop backup --media-only" in result.output
    told = backup.postgres_instructions(make_url("postgresql+psycopg://shop:s3cret@db.example/shop"), "/srv/backups")
    assert "postgresql://shop@db.example/shop" in told and "s3cret" not in told


def test_a_media_only_archive_restores_the_media_and_leaves_the_database(app, runner, pictures, tmp_path):
    make_product("Kept Kettle")
    db.session.commit()
    result = runner.invoke(args=["shop", "backup", str(tmp_path / "backups"), "--media-only"])
    path = written(result)
    assert "Database:" not in result.output and "Media: 12 files." in result.output
    assert set(read_members(path)) == {"manifest.json"} | {f"media/{name}" for name in pictures}
    later = save_picture(upload(jpeg_bytes(colour=(0, 200, 0))))
    make_product("Later Ladle")
    db.session.commit()

    result = restore(runner, path, "--yes")

    assert result.exit_code == 0, result.output
    assert "the database is left as it is" in result.output
    products, media = shop_state(app)
    assert products == ["Kept Kettle", "Later Ladle"] and media == pictures
    assert not any(name.startswith(later.key) for name in media)
    assert leftovers(app) == []


def test_declining_the_prompt_changes_nothing(app, runner, archive):
    make_product("Unsaved Umbrella")
    db.session.commit()
    before = shop_state(app)

    result = restore(runner, archive, answer="n\n")

    assert result.exit_code == 1 and "Aborted" in result.output
    assert "Stop the shop first" in result.output and f"the media folder {app.config['MEDIA_PATH']}" in result.output
    if not POSTGRES_URL:
        assert "(0 orders, 1 products, migration" in result.output
    assert shop_state(app) == before and leftovers(app) == []


def change_a_media_file(members: dict[str, bytes]) -> None:
    name = next(name for name in members if name.startswith("media/"))
    members[name] = bytes([members[name][0] ^ 0xFF]) + members[name][1:]


def drop_a_media_file(members: dict[str, bytes]) -> None:
    del members[next(name for name in members if name.startswith("media/"))]


def add_a_media_file(members: dict[str, bytes]) -> None:
    members["media/uploads/extra.jpg"] = b"not in the manifest"


def drop_the_manifest(members: dict[str, bytes]) -> None:
    del members["manifest.json"]


def bump_the_format(members: dict[str, bytes]) -> None:
    members["manifest.json"] = members["manifest.json"].replace(b'"format_version": 1', b'"format_version": 2')


def break_the_manifest(members: dict[str, bytes]) -> None:
    members["manifest.json"] = b"{not json"


@pytest.mark.parametrize("damage, message", [
    (change_a_media_file, "do not match its manifest, so it is damaged or was altered (checksum or size differs"),
    (drop_a_media_file, "do not match its manifest, so it is damaged or was altered (missing: media/"),
    (add_a_media_file, "(not in the manifest: media/uploads/extra.jpg)"),
    (drop_the_manifest, "no manifest.json"),
    (bump_the_format, "format is 'shop-backup' version 2; this shop reads 'shop-backup' version 1"),
    (break_the_manifest, "manifest.json is malformed"),
])
def test_an_altered_archive_is_refused_and_changes_nothing(app, runner, archive, tmp_path, damage, message):
    members = read_members(archive)
    damage(members)
    if "manifest.json" in members:
        members["manifest.json"] = members.pop("manifest.json")  # last, where the backup writes it
    altered = write_archive(tmp_path / "altered.tar.gz", members)
    before = shop_state(app)

    result = restore(runner, altered, "--yes")

    assert result.exit_code == 1 and message in result.output, result.output
    assert shop_state(app) == before and leftovers(app) == []


@pytest.mark.parametrize("offset", [0.5, -8], ids=["a byte in the middle", "gzip's own checksum at the end"])
def test_a_damaged_archive_is_refused_and_changes_nothing(app, runner, archive, offset):
    make_product("Unsaved Umbrella")
    db.session.commit()
    before = shop_state(app)
    data = bytearray(archive.read_bytes())
    data[int(len(data) * offset) if offset > 0 else offset] ^= 0xFF
    archive.write_bytes(bytes(data))

    result = restore(runner, archive, "--yes")

    assert result.exit_code == 1 and "damaged" in result.output, result.output
    assert shop_state(app) == before and leftovers(app) == []


def special(name: str, kind: bytes, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.mark.parametrize("name, kind, message", [
    ("media/../../escaped.txt", None, "could lead outside the restore folder, 'media/../../escaped.txt'"),
    ("/tmp/escaped.txt", None, "could lead outside the restore folder, '/tmp/escaped.txt'"),
    ("media/uploads/escaped.txt", tarfile.SYMTYPE, "'media/uploads/escaped.txt', which is a link"),
    ("media/uploads/escaped.txt", tarfile.LNKTYPE, "'media/uploads/escaped.txt', which is a link"),
], ids=["dot-dot", "absolute", "symlink", "hard link"])
def test_a_member_leading_out_of_the_folder_is_refused(app, runner, pictures, tmp_path, name, kind, message):
    files = {"media/uploads/photo.jpg": b"photo"}
    specials: tuple[tarfile.TarInfo, ...] = ()
    if kind:
        specials = (special(name, kind, str(tmp_path / "outside.txt")),)
    else:
        files[name] = b"written where it must not go"
    path = write_archive(tmp_path / "hostile.tar.gz", with_manifest(files), specials)
    before = shop_state(app)

    result = restore(runner, path, "--yes")

    assert result.exit_code == 1 and message in result.output, result.output
    assert shop_state(app) == before and leftovers(app) == []
    assert not (tmp_path / "escaped.txt").exists() and not Path("/tmp/escaped.txt").exists()


def test_a_database_from_the_other_backend_is_refused(app, runner, pictures, tmp_path):
    files = {"database/shop.db": b"SQLite format 3\x00", "media/uploads/photo.jpg": b"photo"}
    path = write_archive(tmp_path / "other.tar.gz",
                         with_manifest(files, backend="sqlite" if POSTGRES_URL else "postgresql"))
    before = shop_state(app)

    result = restore(runner, path, "--yes")

    assert result.exit_code == 1
    if POSTGRES_URL:
        assert "holds an SQLite database, and this shop runs on postgresql" in result.output
    else:
        assert "comes from a 'postgresql' shop; only SQLite databases are restored" in result.output
    assert shop_state(app) == before and leftovers(app) == []


@sqlite_only
def test_a_database_at_an_unknown_migration_is_refused_and_an_older_one_restores(app, runner, pictures, tmp_path):
    make_product("Versioned Vase")
    db.session.commit()
    set_revision("0123456789ab")
    newer = run_backup(runner, tmp_path / "backups")
    oldest = list(backup.migrations().walk_revisions())[-1].revision
    set_revision(oldest)
    older = run_backup(runner, tmp_path / "backups")
    make_product("Unsaved Umbrella")
    db.session.commit()
    before = shop_state(app)
    # A process left running (or killed) keeps the live database's -wal file, holding the umbrella.
    left_open = sqlite3.connect(make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database)
    left_open.execute("SELECT count(*) FROM products").fetchone()

    refused = restore(runner, newer, "--yes")

    assert refused.exit_code == 1 and "at migration 0123456789ab, which this version of the shop does not know" \
        in refused.output, refused.output
    assert shop_state(app) == before and leftovers(app) == []

    restored = restore(runner, older, "--yes")

    assert restored.exit_code == 0, restored.output
    assert f"at migration {oldest} and this version of the shop expects {head()}: run `flask db upgrade`" \
        in restored.output
    left_open.close()
    assert shop_state(app)[0] == ["Versioned Vase"] and leftovers(app) == []


def test_keep_two_deletes_only_the_older_archives(app, runner, archive):
    folder = archive.parent
    (folder / "notes.txt").write_text("mine")
    (folder / "shop-backup-latest.tar.gz").write_text("not of the pattern")
    second, third = run_backup(runner, folder), run_backup(runner, folder)

    result = runner.invoke(args=["shop", "backup", str(folder), *BACKUP_ARGS, "--keep", "2"])

    fourth = written(result)
    assert f"Deleted an older backup: {archive.name}" in result.output
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        [third.name, fourth.name, "notes.txt", "shop-backup-latest.tar.gz"])
    assert not second.exists()


@sqlite_only
@pytest.mark.parametrize("failures", [1, 2], ids=["put back", "cannot be put back"])
def test_a_swap_failing_half_way_puts_the_old_shop_back_or_keeps_it(app, runner, archive, monkeypatch, failures):
    make_product("Unsaved Umbrella")
    db.session.commit()
    before = shop_state(app)
    rename, failed = os.rename, []

    def full_disk_at_the_media_folder(source, destination):
        if destination == app.config["MEDIA_PATH"] and len(failed) < failures:
            failed.append(source)
            raise OSError(28, "No space left on device")
        rename(source, destination)

    monkeypatch.setattr(os, "rename", full_disk_at_the_media_folder)

    result = restore(runner, archive, "--yes")

    assert result.exit_code == 1 and len(failed) == failures, result.output
    if failures == 1:
        assert "The restore stopped and put everything back as it was: [Errno 28] No space left" in result.output
        assert shop_state(app) == before and leftovers(app) == []
    else:
        # Nothing is deleted: the old media folder waits where the message says.
        assert "could not put everything back" in result.output and "move them back by hand" in result.output
        (stage,) = (folder for folder in leftovers(app) if os.path.isdir(os.path.join(
            os.path.dirname(app.config["MEDIA_PATH"]), folder, "previous", "uploads")))
        assert stage in result.output


def test_images_in_s3_are_left_out_and_said_so(app, runner, pictures, tmp_path, monkeypatch):
    make_product("Cloud Cushion")
    db.session.commit()
    monkeypatch.setitem(app.config, "STORAGE_URL", "s3://shop-images/media")
    if POSTGRES_URL:
        result = runner.invoke(args=["shop", "backup", str(tmp_path / "backups"), "--media-only"])
        assert result.exit_code == 1 and "Nothing to back up: images are kept in S3" in result.output
        return
    set_revision(head())
    result = runner.invoke(args=["shop", "backup", str(tmp_path / "backups")])
    path = written(result)
    assert "Media: not included: images are kept in S3-compatible storage (SHOP_STORAGE_URL)" in result.output
    members = read_members(path)
    assert set(members) == {"database/shop.db", "manifest.json"}
    manifest = json.loads(members["manifest.json"])
    assert manifest["media"]["included"] is False and "S3" in manifest["media"]["note"]

    # Restored into a shop that keeps its images in the media folder, the folder stays as it is.
    monkeypatch.setitem(app.config, "STORAGE_URL", None)
    make_product("Unsaved Umbrella")
    db.session.commit()
    restored = restore(runner, path, "--yes")
    assert restored.exit_code == 0, restored.output
    assert "The media folder is left as it is: the archive holds no media files" in restored.output
    assert shop_state(app) == (["Cloud Cushion"], pictures) and leftovers(app) == []

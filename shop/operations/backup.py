"""`flask shop backup` and `flask shop restore`: consistent archives of the database and the media folder.

An archive, shop-backup-<UTC time>.tar.gz, holds database/shop.db (a copy of the SQLite database
made with SQLite's backup API), media/... (the media folder's files) and, last, manifest.json, which
names every file with its sha256 and size. Restoring unpacks and checks all of it in staging folders
beside the live files, and only then renames the old files aside and the new ones in.
"""
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import sqlite3
import stat
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any
from urllib.request import pathname2url

import click
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy.engine import URL

from shop.extensions import db
from shop.services import ShopError

FORMAT = "shop-backup"
FORMAT_VERSION = 1
ARCHIVE_NAME = re.compile(r"shop-backup-(\d{8}T\d{6}Z)(?:-(\d+))?\.tar\.gz")
MANIFEST = "manifest.json"
DATABASE_MEMBER = "database/shop.db"
MEDIA_PREFIX = "media/"
# The backup waits this long for a lock SQLite holds only briefly (a checkpoint, say).
BUSY_TIMEOUT_SECONDS = 30
MANIFEST_LIMIT = 64 * 1024 * 1024
CHUNK = 1024 * 1024
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


class BackupError(ShopError):
    """A backup cannot be made, or an archive cannot be restored; the message says why."""


@dataclass(frozen=True)
class DatabaseFacts:
    """What a database copy holds, for the manifest and for the person restoring it."""

    revision: str | None
    orders: int
    products: int


@dataclass(frozen=True)
class BackupOutcome:
    path: str
    size: int
    database: DatabaseFacts | None
    media_files: int
    media_note: str | None
    removed: list[str]


def create_backup(directory: str | None = None, keep: int | None = None, media_only: bool = False) -> BackupOutcome:
    """Write a timestamped archive of the database and the media folder; then keep only the newest `keep`."""
    target = os.path.abspath(directory or current_app.config["BACKUP_DIR"]
                             or os.path.join(current_app.instance_path, "backups"))
    try:
        os.makedirs(target, mode=0o700, exist_ok=True)
    except OSError as error:
        raise BackupError(f"The backup folder {target} could not be made: {error}") from error
    url = db.engine.url
    if url.get_backend_name() != "sqlite" and not media_only:
        raise BackupError(postgres_instructions(url, target))
    media_note = media_elsewhere()
    if media_only and media_note:
        raise BackupError(f"Nothing to back up: {media_note}")
    created = datetime.now(UTC)
    try:
        # The copy waits in a private folder beside the archive, not in /tmp, which may be small.
        with tempfile.TemporaryDirectory(dir=target, prefix=".shop-backup-") as work:
            path, database, media_files = _write_archive(target, work, created, url, media_only, media_note)
        size = os.path.getsize(path)
        removed = _prune(target, keep) if keep else []
    except OSError as error:
        raise BackupError(f"The backup could not be written to {target}: {error}") from error
    return BackupOutcome(path, size, database, media_files, media_note, removed)


def media_elsewhere() -> str | None:
    """Return why the media folder holds no images (they are in S3), or None when it holds them."""
    if current_app.config["STORAGE_URL"]:
        return ("images are kept in S3-compatible storage (SHOP_STORAGE_URL), not in the media folder; back them "
                "up with the storage's own versioning or replication.")
    return None


def postgres_instructions(url: URL, directory: str) -> str:
    """Return how to back up and restore a Postgres database with pg_dump and pg_restore."""
    # The password stays out of the message: pg_dump reads it from ~/.pgpass or PGPASSWORD. (URL.set
    # takes None to mean "unchanged", so the named tuple's _replace drops it.)
    address = shlex.quote(url._replace(drivername="postgresql", password=None).render_as_string(hide_password=False))
    dump = shlex.quote(os.path.join(directory, "shop-")) + "$(date -u +%Y%m%dT%H%M%SZ).dump"
    media = ("`flask shop backup --media-only` archives the media folder." if not media_elsewhere()
             else "The images are in S3-compatible storage (SHOP_STORAGE_URL): back them up there.")
    return (
        "This shop's database is PostgreSQL, which `flask shop backup` does not copy. Back it up into the backup "
        f"folder with pg_dump:\n    pg_dump -Fc -f {dump} {address}\n"
        f"and restore it, with the shop stopped, with pg_restore:\n"
        f"    pg_restore --clean --if-exists -d {address} {shlex.quote(os.path.join(directory, 'shop-'))}"
        "YYYYMMDDTHHMMSSZ.dump\n"
        f"The password comes from ~/.pgpass or PGPASSWORD. {media}"
    )


def _write_archive(target: str, work: str, created: datetime, url: URL, media_only: bool,
                   media_note: str | None) -> tuple[str, DatabaseFacts | None, int]:
    """Write the archive under a temporary name and rename it: no half archive ever has the final name."""
    descriptor, partial = tempfile.mkstemp(dir=target, prefix=".shop-backup-", suffix=".part")  # mode 0600
    try:
        files: dict[str, dict[str, Any]] = {}
        database = None
        with os.fdopen(descriptor, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as archive:
                # The database first, then the media: a picture uploaded meanwhile has its files
                # written before its row commits, so every row in the copy finds its files.
                if not media_only:
                    copy = os.path.join(work, "shop.db")
                    database = _copy_sqlite(sqlite_path(url), copy)
                    with open(copy, "rb") as handle:
                        files[DATABASE_MEMBER] = _add_file(archive, handle, DATABASE_MEMBER)
                if not media_note:
                    for path, name in _media_files(current_app.config["MEDIA_PATH"]):
                        # A picture deleted since the folder was listed is left out.
                        with suppress(FileNotFoundError), open(path, "rb") as handle:
                            files[name] = _add_file(archive, handle, name)
                manifest = _manifest(created, url, database, files, media_note)
                _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
            raw.flush()
            os.fsync(raw.fileno())
        final = _unused_name(target, created)
        os.replace(partial, final)
    except BaseException:
        with suppress(FileNotFoundError):
            os.remove(partial)
        raise
    _fsync_directory(target)
    return final, database, sum(name.startswith(MEDIA_PREFIX) for name in files)


def sqlite_path(url: URL) -> str:
    """Return the SQLite database file the shop uses."""
    if url.database in (None, "", ":memory:") or url.query.get("mode") == "memory":
        raise BackupError("The shop's SQLite database is in memory: there is no file to back up or restore.")
    return os.path.realpath(url.database)


def _copy_sqlite(source_path: str, copy_path: str) -> DatabaseFacts:
    """Copy the live database with SQLite's backup API and check the copy."""
    if not os.path.isfile(source_path):
        raise BackupError(f"There is no database at {source_path} yet: nothing to back up.")
    # mode=rw: a missing file is an error, never a new empty database.
    source = sqlite3.connect(f"file:{pathname2url(source_path)}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
    copy = sqlite3.connect(copy_path)
    try:
        # All pages in one step: one read transaction, so the copy is a consistent snapshot, and
        # in WAL mode the shop keeps writing meanwhile. Copied in steps, every write by the shop
        # would restart the backup.
        source.backup(copy, pages=-1)
        # A self-contained file: a restored copy must not wait for a -wal file beside it.
        copy.execute("PRAGMA journal_mode=DELETE")
        problems = [row[0] for row in copy.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise BackupError(f"The database {source_path} fails SQLite's quick_check, so no backup was written: "
                              f"{'; '.join(problems[:5])}")
        return database_facts(copy)
    except sqlite3.Error as error:
        raise BackupError(f"The database {source_path} could not be copied: {error}") from error
    finally:
        source.close()
        copy.close()


def database_facts(connection: sqlite3.Connection) -> DatabaseFacts:
    """Read a database copy's migration revision and how many orders and products it holds."""
    try:
        versions = [row[0] for row in connection.execute("SELECT version_num FROM alembic_version")]
    except sqlite3.OperationalError:
        versions = []  # made without migrations (`db.create_all()`)
    orders = connection.execute("SELECT count(*) FROM orders").fetchone()[0]
    products = connection.execute("SELECT count(*) FROM products").fetchone()[0]
    return DatabaseFacts(versions[0] if len(versions) == 1 else None, orders, products)


def _media_files(folder: str) -> Iterator[tuple[str, str]]:
    """Yield (path, member name) for every regular file under the media folder."""
    for root, directories, names in os.walk(folder):
        directories.sort()
        for name in sorted(names):
            if name.startswith(".") and name.endswith(".part"):
                continue  # a rendition being written: it is renamed into place once whole
            path = os.path.join(root, name)
            with suppress(FileNotFoundError):
                if stat.S_ISREG(os.lstat(path).st_mode):
                    yield path, MEDIA_PREFIX + os.path.relpath(path, folder).replace(os.sep, "/")


class _HashingReader:
    """Hand a file's bytes to tarfile while hashing them, so each file is read once."""

    def __init__(self, handle: IO[bytes]):
        self.handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def _add_file(archive: tarfile.TarFile, handle: IO[bytes], name: str) -> dict[str, Any]:
    """Add an open file under `name`; return its checksum and size."""
    status = os.fstat(handle.fileno())
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = status.st_size, int(status.st_mtime), stat.S_IMODE(status.st_mode)
    reader = _HashingReader(handle)
    archive.addfile(info, reader)
    return {"sha256": reader.digest.hexdigest(), "size": info.size}


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(datetime.now(UTC).timestamp()), 0o600
    archive.addfile(info, io.BytesIO(data))


def _manifest(created: datetime, url: URL, database: DatabaseFacts | None, files: dict[str, dict[str, Any]],
              media_note: str | None) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "database": {
            "backend": url.get_backend_name(),
            "included": database is not None,
            "alembic_revision": database.revision if database else None,
            "migrations_head": migrations().get_current_head(),
        },
        "media": {"included": media_note is None, "note": media_note},
        "counts": {"orders": database.orders if database else None,
                   "products": database.products if database else None,
                   "media_files": sum(name.startswith(MEDIA_PREFIX) for name in files)},
        "files": files,
    }


def migrations() -> ScriptDirectory:
    """Return this code's migration scripts."""
    return ScriptDirectory(current_app.extensions["migrate"].directory)


def _unused_name(folder: str, created: datetime) -> str:
    stamp = created.strftime("%Y%m%dT%H%M%SZ")
    path = os.path.join(folder, f"shop-backup-{stamp}.tar.gz")
    number = 1
    while os.path.lexists(path):  # two backups within a second
        number += 1
        path = os.path.join(folder, f"shop-backup-{stamp}-{number}.tar.gz")
    return path


def _prune(folder: str, keep: int) -> list[str]:
    """Delete the archives of this naming pattern beyond the newest `keep`; return their names."""
    archives = []
    for name in os.listdir(folder):
        match = ARCHIVE_NAME.fullmatch(name)
        if match and stat.S_ISREG(os.lstat(os.path.join(folder, name)).st_mode):
            archives.append(((match[1], int(match[2] or 1)), name))
    old = [name for _, name in sorted(archives)[:-keep]]
    for name in old:
        os.remove(os.path.join(folder, name))
    return old


def _fsync_directory(folder: str) -> None:
    """Make a rename in `folder` survive a power cut."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@dataclass(frozen=True)
class Manifest:
    """What an archive's manifest.json says about it, once checked against its files."""

    created_at: str
    backend: str
    revision: str | None
    has_database: bool
    has_media: bool


@dataclass
class StagedRestore:
    """An archive unpacked and checked beside the live files, ready to be swapped in."""

    archive: str
    manifest: Manifest
    database: str | None  # the staged copy; None when there is none to restore
    database_target: str | None
    facts: DatabaseFacts | None
    media: str | None  # the staged media folder; None when there is none to restore
    media_target: str
    media_files: int
    media_note: str | None  # why the media folder is left as it is
    head: str | None
    stages: list[str]
    # Set when a swap failed half-way and could not be undone: the previous files stay in the stages.
    keep_stages: bool = False

    def description(self) -> str:
        """Say what restoring will replace, for the confirmation prompt."""
        lines = [f"{self.archive}, made {self.manifest.created_at}: every file matches the manifest's checksums."]
        if self.facts:
            lines.append(f"Restoring replaces the database {self.database_target} with the archive's copy "
                         f"({self.facts.orders} orders, {self.facts.products} products, migration "
                         f"{self.facts.revision}).")
        else:
            lines.append("The archive holds no database (a --media-only backup): the database is left as it is.")
        if self.media:
            lines.append(f"Restoring replaces the media folder {self.media_target} with the archive's "
                         f"{self.media_files} files.")
        else:
            lines.append(f"The media folder is left as it is: {self.media_note}")
        lines.append("Stop the shop first (every gunicorn process, and cron jobs running `flask shop`): a process "
                     "still running keeps writing to the replaced database, and what it writes is lost.")
        return "\n".join(lines)

    @property
    def needs_upgrade(self) -> bool:
        return self.facts is not None and self.facts.revision != self.head


@contextmanager
def staged_restore(archive_path: str) -> Iterator[StagedRestore]:
    """Unpack an archive into staging folders beside the live files and check every part of it.

    Raises BackupError for a damaged archive (bad gzip or tar, a checksum or size that differs, no
    manifest, a format this code does not read, a path leading out of the folder) or one that does
    not fit this shop (another database backend, a migration this code does not know). The staging
    folders are deleted afterwards, with whatever the swap put aside in them.
    """
    if not os.path.isfile(archive_path):
        raise BackupError(f"{archive_path} is not a file.")
    url = db.engine.url
    database_target = sqlite_path(url) if url.get_backend_name() == "sqlite" else None
    # The real folder, not a symlink to it: the new folder must land where the old one lives.
    media_target = os.path.realpath(current_app.config["MEDIA_PATH"])
    media_note = media_elsewhere()
    stages: list[str] = []
    staged = None
    try:
        database_stage = _stage_beside(database_target, stages) if database_target else None
        media_stage = None if media_note else _stage_beside(media_target, stages)
        if media_stage:
            os.mkdir(os.path.join(media_stage, "media"), 0o755)  # an archive may hold an empty media folder
        raw_manifest, found = _unpack(archive_path, database_stage, media_stage)
        manifest = _checked_manifest(raw_manifest, found)
        facts = _checked_database(manifest, url, database_stage) if manifest.has_database else None
        restores_media = manifest.has_media and media_stage is not None
        if not manifest.has_media:
            media_note = "the archive holds no media files (the shop that made it kept them in S3)."
        if facts is None and not restores_media:
            raise BackupError(f"Nothing in this archive can be restored here: it holds no database, and {media_note}")
        staged = StagedRestore(
            archive=os.path.abspath(archive_path), manifest=manifest,
            database=os.path.join(database_stage, "shop.db") if facts and database_stage else None,
            database_target=database_target, facts=facts,
            media=os.path.join(media_stage, "media") if restores_media and media_stage else None,
            media_target=media_target, media_files=sum(name.startswith(MEDIA_PREFIX) for name in found),
            media_note=media_note, head=migrations().get_current_head(), stages=stages,
        )
        yield staged
    finally:
        if not (staged and staged.keep_stages):
            for stage in stages:
                shutil.rmtree(stage, ignore_errors=True)


def _stage_beside(target: str, stages: list[str]) -> str:
    """Make a private folder next to `target`, on its filesystem, so the swap is a rename."""
    parent = os.path.dirname(target)
    try:
        os.makedirs(parent, exist_ok=True)
        stage = tempfile.mkdtemp(dir=parent, prefix=".shop-restore-")
    except OSError as error:
        raise BackupError(f"The restore needs a folder of its own in {parent}: {error}") from error
    stages.append(stage)
    return stage


def _unpack(archive_path: str, database_stage: str | None,
            media_stage: str | None) -> tuple[bytes | None, dict[str, tuple[str, int]]]:
    """Extract the archive's files into the stages (only hashing those without one); return the manifest and them."""
    found: dict[str, tuple[str, int]] = {}
    manifest = None
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            for member in archive:
                name = _checked_member_name(member)
                if name in found or (name == MANIFEST and manifest is not None):
                    raise BackupError(f"The archive holds {name!r} twice: refused.")
                source = archive.extractfile(member)
                assert source is not None  # a regular file, checked above
                if name == MANIFEST:
                    manifest = source.read(MANIFEST_LIMIT + 1)
                    if len(manifest) > MANIFEST_LIMIT:
                        raise BackupError("The archive's manifest.json is too large to be a shop backup's.")
                    continue
                if name == DATABASE_MEMBER:
                    destination = os.path.join(database_stage, "shop.db") if database_stage else None
                elif name.startswith(MEDIA_PREFIX):
                    destination = (os.path.join(media_stage, "media", *name.split("/")[1:]) if media_stage
                                   else None)
                else:
                    raise BackupError(f"The archive holds {name!r}, which is not part of a shop backup: refused.")
                found[name] = _extract(source, destination, member.mode)
            # Reading to the end makes gzip check its CRC over everything, trailing blocks included.
            assert archive.fileobj is not None
            while archive.fileobj.read(CHUNK):
                pass
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise BackupError(f"{archive_path} is damaged or is not a shop backup ({error}).") from error
    return manifest, found


def _checked_member_name(member: tarfile.TarInfo) -> str:
    """Return a member's name if it is a plain file at a relative path that stays inside the archive's folders."""
    name = member.name
    if not member.isfile():
        raise BackupError(f"The archive holds {name!r}, which is a link, folder or device, not a plain file: refused.")
    if name.startswith("/") or "\\" in name or "\x00" in name or any(
            part in ("", ".", "..") for part in name.split("/")):
        raise BackupError(f"The archive holds a path that could lead outside the restore folder, {name!r}: refused.")
    return name


def _extract(source: IO[bytes], destination: str | None, mode: int) -> tuple[str, int]:
    """Copy one member to `destination` (or nowhere), returning its sha256 and size."""
    digest, size = hashlib.sha256(), 0
    out = None
    if destination:
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        descriptor = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        # Owner read and write always; group and others at most read, as archived.
        os.fchmod(descriptor, (mode & 0o644) | 0o600)
        out = os.fdopen(descriptor, "wb")
    try:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if out:
                _write(out, chunk, destination or "")
    finally:
        if out:
            out.close()
    return digest.hexdigest(), size


def _write(out: IO[bytes], chunk: bytes, destination: str) -> None:
    try:
        out.write(chunk)
    except OSError as error:  # a full disk, not a damaged archive
        raise BackupError(f"Could not write {destination}: {error}") from error


def _checked_manifest(raw: bytes | None, found: dict[str, tuple[str, int]]) -> Manifest:
    """Return the manifest once its format is one this code reads and every file matches it."""
    if raw is None:
        raise BackupError("The archive has no manifest.json: it is not a shop backup, or it was cut short.")
    try:
        document = json.loads(raw)
        version = (document["format"], document["format_version"])
        if version != (FORMAT, FORMAT_VERSION):
            raise BackupError(f"The archive's format is {version[0]!r} version {version[1]!r}; this shop reads "
                              f"{FORMAT!r} version {FORMAT_VERSION}.")
        listed = {name: (entry["sha256"], entry["size"]) for name, entry in document["files"].items()}
        included = document["database"]["included"], document["media"]["included"]
        if not all(isinstance(value, bool) for value in included):
            raise TypeError("'included' is not true or false")
        manifest = Manifest(
            created_at=str(document["created_at"]), backend=str(document["database"]["backend"]),
            revision=document["database"]["alembic_revision"], has_database=included[0], has_media=included[1],
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise BackupError(f"The archive's manifest.json is malformed ({error!r}).") from error
    missing = sorted(listed.keys() - found.keys())
    unlisted = sorted(found.keys() - listed.keys())
    changed = sorted(name for name in listed.keys() & found.keys() if listed[name] != found[name])
    if missing or unlisted or changed:
        problems = [f"{label}: {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}"
                    for label, names in (("missing", missing), ("not in the manifest", unlisted),
                                         ("checksum or size differs", changed)) if names]
        raise BackupError("The archive's files do not match its manifest, so it is damaged or was altered ("
                          + "; ".join(problems) + ").")
    has_media_files = any(name.startswith(MEDIA_PREFIX) for name in found)
    if manifest.has_database != (DATABASE_MEMBER in found) or (has_media_files and not manifest.has_media):
        raise BackupError("The archive's manifest.json does not describe its files: it was altered.")
    return manifest


def _checked_database(manifest: Manifest, url: URL, stage: str | None) -> DatabaseFacts:
    """Check the staged database fits this shop: same backend, whole, at a migration this code knows."""
    if manifest.backend != "sqlite":
        raise BackupError(f"The archive's database comes from a {manifest.backend!r} shop; only SQLite databases "
                          "are restored from these archives.")
    if stage is None:
        raise BackupError(f"The archive holds an SQLite database, and this shop runs on {url.get_backend_name()}: "
                          "set SHOP_DATABASE_URL to an SQLite file to restore it.")
    staged = os.path.join(stage, "shop.db")
    try:
        copy = sqlite3.connect(f"file:{pathname2url(staged)}?mode=ro", uri=True)
        try:
            problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
            facts = database_facts(copy) if problems == ["ok"] else None
        finally:
            copy.close()
    except sqlite3.Error as error:
        raise BackupError(f"The archive's database is not a usable shop database ({error}).") from error
    if facts is None:
        raise BackupError(f"The archive's database fails SQLite's integrity check: {'; '.join(problems[:5])}")
    if facts.revision != manifest.revision:
        raise BackupError("The archive's database is at another migration than its manifest says: it was altered.")
    if facts.revision is None:
        raise BackupError("The archive's database has no migration revision (it was not made by `flask db upgrade`), "
                          "so this shop cannot tell whether its tables fit.")
    scripts = migrations()
    if facts.revision not in {script.revision for script in scripts.walk_revisions()}:
        raise BackupError(f"The archive's database is at migration {facts.revision}, which this version of the shop "
                          f"does not know (its newest is {scripts.get_current_head()}): it was made by a newer "
                          "version. Restore it with that version, or restore a backup made by this one.")
    return facts


def apply_restore(staged: StagedRestore) -> None:
    """Rename the live database and media folder aside and the staged ones in; put the old back if a step fails.

    The old files go into the staging folders, which staged_restore then deletes. Interrupted
    (Ctrl+C) between two renames, it puts the old back too.
    """
    db.session.remove()
    db.engine.dispose()  # no pooled connection may go on using the replaced file
    moves: list[tuple[str, str]] = []

    def move(source: str, destination: str) -> None:
        os.rename(source, destination)
        moves.append((source, destination))

    try:
        if staged.database and staged.database_target:
            aside = os.path.join(os.path.dirname(staged.database), "previous")
            # A -wal or -journal file left beside the new database would be replayed into it.
            for suffix in ("", *SQLITE_SIDE_FILES):
                if os.path.lexists(staged.database_target + suffix):
                    move(staged.database_target + suffix, aside + suffix)
            move(staged.database, staged.database_target)
            _fsync_directory(os.path.dirname(staged.database_target))
        if staged.media:
            if os.path.lexists(staged.media_target):
                move(staged.media_target, os.path.join(os.path.dirname(staged.media), "previous"))
            move(staged.media, staged.media_target)
            _fsync_directory(os.path.dirname(staged.media_target))
    except BaseException as error:
        try:
            for source, destination in reversed(moves):
                os.rename(destination, source)
        except OSError as undo_error:
            staged.keep_stages = True
            raise BackupError(f"The restore stopped half-way ({error}) and could not put everything back "
                              f"({undo_error}): the previous files are in {' and '.join(staged.stages)}, named "
                              "previous*; move them back by hand before starting the shop.") from error
        if isinstance(error, OSError):
            raise BackupError(f"The restore stopped and put everything back as it was: {error}") from error
        raise


def readable_size(size: int) -> str:
    """Return a byte count as people read it: 512 bytes, 3.4 MB."""
    if size < 1000:
        return f"{size} bytes"
    value = size / 1000
    for unit in ("KB", "MB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


@click.command("backup")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--keep", type=click.IntRange(min=1), metavar="N",
              help="Then delete older shop-backup-* archives in DIRECTORY beyond the newest N.")
@click.option("--media-only", is_flag=True, help="Archive only the media folder (a Postgres shop backs up its "
                                                 "database with pg_dump).")
def backup_command(directory: str | None, keep: int | None, media_only: bool) -> None:
    """Write a backup archive of the database and the media folder into DIRECTORY.

    DIRECTORY defaults to SHOP_BACKUP_DIR, or else the instance folder's backups/.
    """
    try:
        outcome = create_backup(directory, keep=keep, media_only=media_only)
    except ShopError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Backup written: {outcome.path} ({readable_size(outcome.size)})")
    if outcome.database:
        click.echo(f"Database: {outcome.database.orders} orders, {outcome.database.products} products, migration "
                   f"{outcome.database.revision or 'none'}.")
        if outcome.database.revision is None:
            click.echo("Warning: the database records no migration (it was not made by `flask db upgrade`), so "
                       "`flask shop restore` will refuse this archive.")
    click.echo(f"Media: {outcome.media_files} files." if not outcome.media_note else f"Media: not included: "
               f"{outcome.media_note}")
    for name in outcome.removed:
        click.echo(f"Deleted an older backup: {name}")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(archive: str, yes: bool) -> None:
    """Replace the database and the media folder with a backup archive's (stop the shop first)."""
    try:
        with staged_restore(archive) as staged:
            click.echo(staged.description())
            if not yes:
                click.confirm("Replace them?", abort=True)
            apply_restore(staged)
    except ShopError as error:
        raise click.ClickException(str(error)) from error
    click.echo("Restored.")
    if staged.needs_upgrade and staged.facts:
        click.echo(f"The restored database is at migration {staged.facts.revision} and this version of the shop "
                   f"expects {staged.head}: run `flask db upgrade` before starting the shop.")

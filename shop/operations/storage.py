"""Where uploaded images are kept: the media folder, or S3-compatible storage.

Both hold the same keys, relative paths the shop chose (uploads/ab/<token>-<size>-<rendition>.<format>,
demo/<kind>-<colour>-<view>.jpg), so a page's /media/ URLs do not depend on where the files live.
SHOP_STORAGE_URL unset keeps them in SHOP_MEDIA_PATH; s3://bucket/prefix puts them in a bucket, with
credentials and region from boto3's usual chain (AWS_* variables, ~/.aws, an instance role) and
SHOP_S3_ENDPOINT_URL for MinIO and other S3-compatible services.
"""
import contextlib
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import IO, Any, Protocol
from urllib.parse import urlsplit

from flask import Flask, current_app

from shop.config import ConfigurationError

EXTENSION = "shop.storage"
# A rendition's name is new for every upload, so its content never changes: browsers may keep it for a year.
IMMUTABLE_MAX_AGE = 365 * 24 * 3600
MUTABLE_MAX_AGE = 7 * 24 * 3600
# AWS's rule for bucket names, which S3-compatible services follow too.
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
STORAGE_URL_HELP = ("set it to s3://bucket/prefix (for example s3://my-shop-media/images), or leave it unset "
                    "to keep images in the media folder (SHOP_MEDIA_PATH)")


class StorageError(RuntimeError):
    """The storage did not answer or refused a request: S3 unreachable, wrong credentials, no such bucket."""


@dataclass
class StoredFile:
    """A stored file opened for reading: its bytes as a stream (the reader closes it), size, last change and tag."""

    stream: IO[bytes]
    size: int
    modified: datetime
    etag: str


class Storage(Protocol):
    """What the shop does with stored files, wherever they are."""

    location: str  # the folder or s3://bucket/prefix, for messages

    def save(self, key: str, data: bytes, content_type: str, immutable: bool = False) -> None:
        """Store data under key in one step: a reader sees the old file, or none, or the whole new one."""

    def open(self, key: str) -> StoredFile | None:
        """Return the file stored under key opened for reading, or None when there is none."""

    def exists(self, key: str) -> bool:
        """Return whether a file is stored under key."""

    def delete(self, keys: Iterable[str]) -> None:
        """Delete the files stored under keys; a missing one is no error."""

    def problem(self) -> str | None:
        """Return what stops the shop storing files here, or None when a probe file was written and deleted."""


def is_safe_key(key: str) -> bool:
    """Return whether a key is a plain relative path: no empty, '.' or '..' part, backslash or control character."""
    if not key or "\\" in key or any(ord(char) < 32 or ord(char) == 127 for char in key):
        return False
    return all(part not in ("", ".", "..") for part in key.split("/"))


def _checked(key: str) -> str:
    if not is_safe_key(key):
        raise ValueError(f"{key!r} is not a storage key")
    return key


def cache_control(immutable: bool) -> str:
    """Return the Cache-Control a stored file is served with."""
    if immutable:
        return f"public, max-age={IMMUTABLE_MAX_AGE}, immutable"
    return f"public, max-age={MUTABLE_MAX_AGE}"


class LocalStorage:
    """Files in a folder on this machine (SHOP_MEDIA_PATH)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.location = folder

    def path(self, key: str) -> str:
        """Return the file's path in the folder; raise ValueError for a key that could leave it."""
        return os.path.join(self.folder, *_checked(key).split("/"))

    def save(self, key: str, data: bytes, content_type: str, immutable: bool = False) -> None:
        path = self.path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # Written beside the file and renamed over it: no half-written file is ever served.
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".", suffix=".part")
        try:
            # Readable by a web server (nginx) that serves /media/ straight from the folder.
            os.fchmod(handle, 0o644)
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temporary)
            raise

    def open(self, key: str) -> StoredFile | None:
        if not is_safe_key(key):
            return None
        try:
            stream = open(self.path(key), "rb")  # noqa: SIM115  (the response closes it once sent)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        status = os.fstat(stream.fileno())
        if not stat.S_ISREG(status.st_mode):
            stream.close()
            return None
        return StoredFile(stream, status.st_size, datetime.fromtimestamp(status.st_mtime, UTC),
                          f"{status.st_mtime_ns:x}-{status.st_size:x}")

    def exists(self, key: str) -> bool:
        return is_safe_key(key) and os.path.isfile(self.path(key))

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path(key))

    def problem(self) -> str | None:
        try:
            os.makedirs(self.folder, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.folder, prefix=".check-"):
                pass
        except OSError as error:
            return (f"the media folder {self.folder} is not writable ({error.strerror or error}): create it and give "
                    "the shop's user write access, or set SHOP_MEDIA_PATH to a folder it can write")
        return None


class S3Storage:
    """Objects in an S3 bucket under a prefix, on AWS or an S3-compatible service."""

    def __init__(self, bucket: str, prefix: str, endpoint_url: str | None) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint_url = endpoint_url
        self.location = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"

    @cached_property
    def client(self) -> Any:
        """Return the S3 client, made on first use (after gunicorn has forked its workers)."""
        return self._client(attempts=3)

    def _client(self, attempts: int) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(
            connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": attempts},
            # Many S3-compatible services (MinIO, Ceph, older releases of others) refuse the newer
            # checksum headers and virtual-host bucket addresses that boto3 sends to AWS.
            request_checksum_calculation="when_required", response_checksum_validation="when_required",
            s3={"addressing_style": "path"} if self.endpoint_url else {},
        )
        return boto3.session.Session().client("s3", endpoint_url=self.endpoint_url, config=config)

    def object_key(self, key: str) -> str:
        """Return the object's name in the bucket; raise ValueError for a key that is not a plain relative path."""
        return f"{self.prefix}/{_checked(key)}" if self.prefix else _checked(key)

    def save(self, key: str, data: bytes, content_type: str, immutable: bool = False) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=self.object_key(key), Body=data, ContentType=content_type,
                                   CacheControl=cache_control(immutable))
        except (BotoCoreError, ClientError) as error:
            raise StorageError(self._explained(error)) from error

    def open(self, key: str) -> StoredFile | None:
        from botocore.exceptions import BotoCoreError, ClientError

        if not is_safe_key(key):
            return None
        try:
            stored = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as error:
            if _is_missing(error):
                return None
            raise StorageError(self._explained(error)) from error
        except BotoCoreError as error:
            raise StorageError(self._explained(error)) from error
        return StoredFile(stored["Body"], stored["ContentLength"], stored["LastModified"], stored["ETag"].strip('"'))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        if not is_safe_key(key):
            return False
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as error:
            if _is_missing(error):
                return False
            raise StorageError(self._explained(error)) from error
        except BotoCoreError as error:
            raise StorageError(self._explained(error)) from error
        return True

    def delete(self, keys: Iterable[str]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        # One request per object: DeleteObjects needs a Content-MD5 that some S3-compatible services
        # and boto3's newer checksums disagree on, and a picture has only six files.
        for key in keys:
            try:
                self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))
            except (BotoCoreError, ClientError) as error:
                raise StorageError(self._explained(error)) from error

    def problem(self) -> str | None:
        from botocore.exceptions import BotoCoreError, ClientError

        # One try each: a check should say at once that the storage is not answering.
        client = self._client(attempts=1)
        probe = self.object_key(f".shop-check-{secrets.token_hex(8)}")
        try:
            client.put_object(Bucket=self.bucket, Key=probe, Body=b"", ContentType="text/plain")
            client.delete_object(Bucket=self.bucket, Key=probe)
        except (BotoCoreError, ClientError) as error:
            return self._explained(error)
        return None

    def _explained(self, error: Exception) -> str:
        """Say what went wrong with the bucket, and how to fix it, in the words of a shop owner's checklist."""
        from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

        where = self.endpoint_url or "AWS"
        if isinstance(error, NoCredentialsError):
            return (f"no S3 credentials for {self.location}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                    "(or give the server an instance role or an AWS profile)")
        if isinstance(error, EndpointConnectionError):
            return f"S3 at {where} cannot be reached for {self.location}: {error}"
        if isinstance(error, ClientError):
            code = error.response.get("Error", {}).get("Code", "")
            if code == "NoSuchBucket":
                return f"the bucket {self.bucket} does not exist at {where}: create it, or correct SHOP_STORAGE_URL"
            if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"):
                return (f"S3 at {where} refused the shop's credentials for {self.location} ({code}): allow "
                        "s3:PutObject, s3:GetObject and s3:DeleteObject on the bucket's prefix")
        return f"S3 storage {self.location} at {where} failed: {error}"


def _is_missing(error: Any) -> bool:
    return error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound")


def storage_for(storage_url: str | None, media_path: str, endpoint_url: str | None) -> Storage:
    """Return the storage SHOP_STORAGE_URL names; raise ConfigurationError, saying how to fix it, if it is unusable."""
    if not storage_url:
        return LocalStorage(media_path)
    parts = urlsplit(str(storage_url))
    prefix = parts.path.strip("/")
    if (parts.scheme != "s3" or not BUCKET_NAME.fullmatch(parts.netloc) or parts.query or parts.fragment
            or (prefix and not is_safe_key(prefix))):
        raise ConfigurationError(f"SHOP_STORAGE_URL is {storage_url!r}; {STORAGE_URL_HELP}.")
    if endpoint_url:
        endpoint = urlsplit(str(endpoint_url))
        if endpoint.scheme not in ("http", "https") or not endpoint.hostname or endpoint.query or endpoint.fragment:
            raise ConfigurationError(f"SHOP_S3_ENDPOINT_URL is {endpoint_url!r}; set it to the S3-compatible "
                                     "service's address, for example http://127.0.0.1:9000 for a local MinIO, or "
                                     "leave it unset for AWS.")
    return S3Storage(parts.netloc, prefix, str(endpoint_url) if endpoint_url else None)


def register(app: Flask) -> None:
    """Bind the storage SHOP_STORAGE_URL names to the app."""
    app.extensions[EXTENSION] = storage_for(app.config["STORAGE_URL"], app.config["MEDIA_PATH"],
                                            app.config["S3_ENDPOINT_URL"])


def current_storage() -> Storage:
    """Return the current app's storage."""
    return current_app.extensions[EXTENSION]


def storage_problem() -> str | None:
    """Return what stops the shop storing images (folder not writable, bucket unreachable), or None."""
    return current_storage().problem()


def local_media_folder() -> str | None:
    """Return the media folder when images are kept on this machine, or None when they are in S3."""
    storage = current_storage()
    return storage.folder if isinstance(storage, LocalStorage) else None

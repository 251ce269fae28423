"""Product images in an S3 bucket: moto's S3 server on localhost stands in for AWS or MinIO.

An owner uploads photos as usual; the objects land in the bucket under the shop's prefix with
their image type and a year's cache; the storefront links and /media/ serves them through the
shop; deleting a photo deletes its objects; `storage_problem` says when the bucket cannot be used.
"""
import io
import secrets

import boto3
import pytest
import sqlalchemy as sa
from moto.server import ThreadedMotoServer

from shop import create_app
from shop.config import ConfigurationError
from shop.extensions import db
from shop.models import ProductImage
from shop.operations.storage import EXTENSION, local_media_folder, storage_for, storage_problem
from shop.services.demo import seed_demo
from shop.services.images import RENDITIONS, rendition_name
from tests.conftest import free_port
from tests.factories import make_product
from tests.images import jpeg_bytes

BUCKET = "test-bucket"
PAGE = b"<!doctype html><script>alert(document.cookie)</script>"


@pytest.fixture(scope="module")
def s3_endpoint():
    """Start moto's S3 server once for the module, with fake credentials and no network."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
                            "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}.items():
            patch.setenv(name, value)
        patch.delenv("AWS_SESSION_TOKEN", raising=False)
        patch.delenv("AWS_PROFILE", raising=False)
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        endpoint = f"http://127.0.0.1:{port}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint
        server.stop()


@pytest.fixture
def bucket(s3_endpoint):
    return boto3.resource("s3", endpoint_url=s3_endpoint).Bucket(BUCKET)


@pytest.fixture
def prefix() -> str:
    """Give each test a prefix of its own in the bucket."""
    return f"shop-{secrets.token_hex(4)}"


@pytest.fixture
def app_overrides(s3_endpoint, prefix):
    return {"STORAGE_URL": f"s3://{BUCKET}/{prefix}", "S3_ENDPOINT_URL": s3_endpoint}


def stored(bucket, prefix: str) -> dict[str, str]:
    """Return {key under the prefix: its content type} for every object the shop stored."""
    return {item.key.removeprefix(f"{prefix}/"): item.Object().content_type
            for item in bucket.objects.filter(Prefix=f"{prefix}/")}


def photo_keys(product_id: int) -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(ProductImage.key).where(ProductImage.product_id == product_id)
                                   .order_by(ProductImage.position)))


def test_an_uploaded_photo_lives_in_the_bucket_is_served_from_it_and_goes_with_its_photo(
        client, admin, app, bucket, prefix, tmp_path):
    tent = make_product("Alpine Tent", images=0)
    db.session.commit()
    tent_id, slug = tent.id, tent.slug
    upload = {"photos": [(io.BytesIO(jpeg_bytes()), "front.jpg")], "alt": "Green tent"}
    assert client.post(f"/admin/products/{tent_id}/images", data=upload,
                       content_type="multipart/form-data").status_code == 302
    [key] = photo_keys(tent_id)

    objects = stored(bucket, prefix)
    assert objects == {rendition_name(key, rendition, fmt): f"image/{'jpeg' if fmt == 'jpg' else 'webp'}"
                       for rendition in RENDITIONS for fmt in ("jpg", "webp")}
    full = bucket.Object(f"{prefix}/{rendition_name(key, 'full', 'jpg')}")
    assert full.cache_control == "public, max-age=31536000, immutable"
    assert not (tmp_path / "media").exists(), "nothing is written to the media folder"

    page = client.get(f"/products/{slug}").get_data(as_text=True)
    assert f"/media/{rendition_name(key, 'card', 'webp')} 480w" in page
    url = f"/media/{rendition_name(key, 'full', 'jpg')}"
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.data == full.get()["Body"].read()
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"/media/{rendition_name(key, 'thumb', 'webp')}").mimetype == "image/webp"
    assert client.get(url, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304

    image_id = db.session.scalar(sa.select(ProductImage.id).where(ProductImage.key == key))
    deleted = client.post(f"/admin/products/{tent_id}/images/{image_id}/delete", data={"confirmed": "yes"})
    assert deleted.status_code == 302
    assert stored(bucket, prefix) == {}
    assert client.get(url).status_code == 404


def test_the_demo_pictures_are_drawn_into_the_bucket(client, app, bucket, prefix):
    seed_demo(2)
    pictures = list(db.session.scalars(sa.select(ProductImage.filename)))
    assert pictures and set(stored(bucket, prefix)) == set(pictures)
    assert set(stored(bucket, prefix).values()) == {"image/jpeg"}

    response = client.get(f"/media/{pictures[0]}")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"] == "public, max-age=604800"


def test_planted_pages_scripts_and_svgs_in_the_bucket_are_never_served_as_such(client, app, bucket, prefix):
    key = "uploads/ab/" + "ab" * 16 + "-10x10"
    for name in ("evil.html", "demo/evil.svg", "evil.js", f"{key}-full.html"):
        bucket.put_object(Key=f"{prefix}/{name}", Body=PAGE, ContentType="text/html")
        assert client.get(f"/media/{name}").status_code == 404, name
    # The bucket's own idea of the type counts for nothing: the shop names it from the file's format.
    bucket.put_object(Key=f"{prefix}/{key}-full.jpg", Body=PAGE, ContentType="text/html")
    response = client.get(f"/media/{key}-full.jpg")
    assert response.mimetype == "image/jpeg" and response.headers["X-Content-Type-Options"] == "nosniff"


def test_storage_problem_is_none_for_a_usable_bucket_and_says_what_is_wrong_otherwise(app, bucket, prefix,
                                                                                      s3_endpoint):
    assert storage_problem() is None
    assert stored(bucket, prefix) == {}, "the probe object is deleted"
    assert local_media_folder() is None, "a backup has no media folder to copy"

    missing = storage_for("s3://no-such-bucket/shop", "", s3_endpoint).problem()
    assert missing and "no-such-bucket does not exist" in missing
    down = storage_for(f"s3://{BUCKET}/shop", "", f"http://127.0.0.1:{free_port()}").problem()
    assert down and "cannot be reached" in down


def test_when_the_bucket_cannot_be_used_an_upload_is_refused_with_a_message(client, admin, app, s3_endpoint):
    app.extensions[EXTENSION] = storage_for("s3://no-such-bucket/shop", "", s3_endpoint)
    tent = make_product("Alpine Tent", images=0)
    db.session.commit()
    upload = {"photos": [(io.BytesIO(jpeg_bytes()), "front.jpg")], "alt": "Green tent"}

    page = client.post(f"/admin/products/{tent.id}/images", data=upload, content_type="multipart/form-data",
                       follow_redirects=True).get_data(as_text=True)

    assert "front.jpg” was not saved: the picture storage is not available" in page
    assert photo_keys(tent.id) == []
    assert client.get("/media/uploads/ab/" + "ab" * 16 + "-10x10-full.jpg").status_code == 503


@pytest.mark.parametrize("app_overrides", [{}])
def test_on_the_media_folder_storage_problem_says_when_it_cannot_be_written(app, tmp_path):
    assert local_media_folder() == app.config["MEDIA_PATH"]
    assert storage_problem() is None
    assert [path.name for path in (tmp_path / "media").iterdir()] == [], "the probe file is deleted"

    (tmp_path / "taken").write_text("a file where the folder should be")
    app.extensions[EXTENSION] = storage_for(None, str(tmp_path / "taken" / "media"), None)
    problem = storage_problem()
    assert problem and f"the media folder {tmp_path / 'taken' / 'media'} is not writable" in problem


@pytest.mark.parametrize("url", ["s3://", "s3:/bucket", "s3://Bad_Bucket/shop", "gs://bucket/shop", "/srv/media",
                                 "s3://bucket/../shop", "s3://key:secret@bucket/shop", "s3://bucket/shop?x=1"])
def test_a_storage_url_the_shop_cannot_use_is_refused_at_start(url, tmp_path, monkeypatch):
    monkeypatch.setenv("SHOP_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigurationError, match="set it to s3://bucket/prefix"):
        create_app({"TESTING": True, "SECRET_KEY": "x", "STORAGE_URL": url})


def test_an_endpoint_that_is_not_an_address_is_refused_at_start(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOP_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigurationError, match="SHOP_S3_ENDPOINT_URL"):
        create_app({"TESTING": True, "SECRET_KEY": "x", "STORAGE_URL": "s3://bucket/shop",
                    "S3_ENDPOINT_URL": "minio:9000"})

"""The `flask shop` commands."""
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Category, Coupon, Product, ProductImage, ProductOption, ProductVariant, ShippingMethod, User
from shop.services.passwords import verify_password


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_seed_demo_builds_a_believable_catalogue_once(app, runner):
    result = runner.invoke(args=["shop", "seed-demo", "--products", "60"])
    assert result.exit_code == 0, result.output
    assert "60 products added" in result.output
    assert _count(Product) == 60
    top = db.session.scalar(sa.select(sa.func.count()).select_from(Category).where(Category.parent_id.is_(None)))
    assert top >= 4 and _count(Category) >= 10
    variants = list(db.session.scalars(sa.select(ProductVariant)))
    assert {v.stock for v in variants} & {0}, "some variants are out of stock"
    assert any(0 < v.stock <= 4 for v in variants), "some are low"
    assert any(v.compare_at_cents for v in variants), "some are on sale"
    option_names = set(db.session.scalars(sa.select(ProductOption.name)))
    assert option_names == {"Size", "Colour"}
    assert any(v.option1 and v.option2 for v in variants), "clothes come in sizes and colours"
    image = db.session.scalar(sa.select(ProductImage))
    with open(f"{app.config['MEDIA_PATH']}/{image.filename}", "rb") as handle:
        assert handle.read(3) == b"\xff\xd8\xff"  # a JPEG
    assert _count(ShippingMethod) >= 1 and _count(Coupon) >= 1

    again = runner.invoke(args=["shop", "seed-demo", "--products", "60"])
    assert again.exit_code == 0 and "0 products added" in again.output
    assert _count(Product) == 60
    assert _count(ProductVariant) == len(variants)

    more = runner.invoke(args=["shop", "seed-demo", "--products", "70"])
    assert "10 products added" in more.output and _count(Product) == 70


def test_is_empty_tells_make_run_whether_to_seed(app, runner):
    assert runner.invoke(args=["shop", "is-empty"]).exit_code == 0
    runner.invoke(args=["shop", "seed-demo", "--products", "1"])
    assert runner.invoke(args=["shop", "is-empty"]).exit_code == 1


def test_create_admin_with_password_option_and_prompt(app, runner):
    result = runner.invoke(args=["shop", "create-admin", "Boss@Example.com", "--password", "a-long-secret-1"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.email == "boss@example.com"))
    assert user.is_admin and verify_password(user.password_hash, "a-long-secret-1")

    result = runner.invoke(args=["shop", "create-admin", "second@example.com"],
                           input="another-long-secret\nanother-long-secret\n")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(User.role).where(User.email == "second@example.com")) == "owner"


def test_create_admin_refuses_bad_input(app, runner):
    result = runner.invoke(args=["shop", "create-admin", "not-an-email", "--password", "a-long-secret-1"])
    assert result.exit_code != 0 and "not valid" in result.output
    result = runner.invoke(args=["shop", "create-admin", "ok@example.com", "--password", "short"])
    assert result.exit_code != 0 and "10 to 128" in result.output
    assert _count(User) == 0

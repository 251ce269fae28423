"""The demo catalogue's pictures show what each product is, in its colour, and give every product a second photo."""
import os
from collections import Counter

import pytest
import sqlalchemy as sa
from PIL import Image

from shop.extensions import db
from shop.models import Product, ProductImage, ProductVariant
from shop.services import demo_pictures
from shop.services.demo import COLOURS, NOUNS, seed_demo

NAVY = COLOURS["Navy"]
RUST = COLOURS["Rust"]


def share_of(picture: Image.Image, rgb, tolerance: int = 6) -> float:
    """Return the share of the picture's pixels within tolerance of the colour."""
    small = picture.resize((120, 120), Image.Resampling.NEAREST)
    close = sum(count for count, pixel in small.getcolors(120 * 120)
                if all(abs(channel - wanted) <= tolerance for channel, wanted in zip(pixel, rgb, strict=True)))
    return close / (120 * 120)


def test_every_demo_noun_has_a_drawing_of_its_own_kind():
    nouns = [noun for leaf in NOUNS.values() for noun in leaf]
    kinds = {demo_pictures.kind_of(noun) for noun in nouns}
    assert kinds <= set(demo_pictures.DRAWINGS), kinds - set(demo_pictures.DRAWINGS)
    assert demo_pictures.kind_of("Crew Tee") == demo_pictures.kind_of("Tee") == "tee"
    assert demo_pictures.kind_of("V-neck") == "v-neck" and demo_pictures.kind_of("Chef Knife") == "chef-knife"


@pytest.mark.parametrize("kind", sorted(demo_pictures.DRAWINGS))
def test_each_kind_is_drawn_in_the_products_colour_on_a_soft_background(kind):
    navy = demo_pictures.draw(kind, NAVY)
    rust = demo_pictures.draw(kind, RUST)
    assert navy.size == (600, 600) and navy.mode == "RGB"
    assert navy.getpixel((3, 3)) == demo_pictures.FRONT_BACKGROUND
    assert share_of(navy, NAVY) > 0.02, "the product shows in its colour"
    assert share_of(rust, RUST) > 0.02 and share_of(rust, NAVY) < 0.005
    assert share_of(navy, demo_pictures.FRONT_BACKGROUND, 2) > 0.3, "on a plain background"


def test_the_kinds_look_different_from_each_other():
    outlines = {}
    for kind in demo_pictures.DRAWINGS:
        picture = demo_pictures.draw(kind, NAVY).resize((60, 60), Image.Resampling.NEAREST)
        outlines[kind] = picture.tobytes()
    same = [kind for kind, count in Counter(outlines.values()).items() if count > 1]
    assert not same
    tee, tent = demo_pictures.draw("tee", NAVY), demo_pictures.draw("tent", NAVY)
    # A tee is broad at the shoulders; a tent is a peak that widens to the ground.
    assert share_of(tee.crop((100, 150, 500, 200)), NAVY) > share_of(tent.crop((100, 150, 500, 200)), NAVY)
    assert share_of(tent.crop((90, 400, 510, 430)), NAVY) > 0.3


def test_the_close_up_is_another_picture_on_a_background_of_the_products_colour():
    front = demo_pictures.draw("backpack", RUST, "front")
    detail = demo_pictures.draw("backpack", RUST, "detail")
    assert front.tobytes() != detail.tobytes()
    corner = detail.getpixel((3, 3))
    assert corner != demo_pictures.FRONT_BACKGROUND and corner[0] > corner[2], "a pale tint of rust"
    assert share_of(detail, RUST) > share_of(front, RUST), "closer, so the product fills more of it"


def test_an_unknown_kind_still_gets_a_picture():
    assert share_of(demo_pictures.draw("hammock", NAVY), NAVY) > 0.05


def test_the_seeded_products_show_their_kind_with_a_second_photo_and_each_colour_leads_its_variants(app):
    seed_demo(24)
    media = app.config["MEDIA_PATH"]
    products = list(db.session.scalars(sa.select(Product)))
    for product in products:
        images = list(db.session.scalars(sa.select(ProductImage).where(ProductImage.product_id == product.id)
                                         .order_by(ProductImage.position)))
        kind = demo_pictures.kind_of(product.name.split(" ", 1)[1])
        assert len(images) >= 2, product.name
        assert images[0].filename.startswith(f"demo/{kind}-") and images[0].filename.endswith("-front.jpg")
        assert images[1].filename.endswith("-detail.jpg") and images[1].alt.endswith(", close-up")
        for image in images:
            assert os.path.getsize(os.path.join(media, image.filename)) < 60_000
        variants = list(db.session.scalars(sa.select(ProductVariant).where(ProductVariant.product_id == product.id)))
        by_id = {image.id: image for image in images}
        for variant in variants:
            colour = variant.option2 or variant.option1
            assert by_id[variant.image_id].filename == f"demo/{kind}-{colour.lower()}-front.jpg"
    tent = next(product for product in products if product.name.endswith("Tent"))
    picture = db.session.scalar(sa.select(ProductImage.filename).where(ProductImage.product_id == tent.id))
    assert picture.startswith("demo/tent-")

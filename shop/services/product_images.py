"""A product's photos in the back office: upload several at once, alt text, order, main photo, delete.

The photo at position 0 is the product's main image (cards, the cart and search show it).
Files are written before the transaction that records them, and deleted if it fails; a deleted
photo's files go only after the transaction that dropped its row commits, so no file is ever
orphaned and no row ever points at a missing file.
"""
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage

from shop.database import end_read_transaction, write_transaction
from shop.extensions import db
from shop.models import Product, ProductImage, User, lengths
from shop.services import NotFound, ShopError, audit
from shop.services.images import delete_files, rendition_name, save_picture
from shop.text import storable

# One form post: enough for a product shoot, few enough that one request stays quick.
MAX_FILES_PER_UPLOAD = 20


@dataclass
class UploadOutcome:
    """What an upload stored (the new photos' alt texts) and what it refused (one message per file)."""

    added: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def product_with_images(product_id: int) -> Product | None:
    """Return the product with its photos in order, or None."""
    return db.session.scalar(sa.select(Product).where(Product.id == product_id)
                             .options(selectinload(Product.images)))


def product_image(product_id: int, image_id: int) -> ProductImage | None:
    """Return one of the product's photos, or None (also when the photo is another product's)."""
    return db.session.scalar(sa.select(ProductImage).where(ProductImage.id == image_id,
                                                           ProductImage.product_id == product_id))


def clean_alt(text: str | None) -> str:
    """Return alt text tidied to one line; raise ShopError when it is blank, too long or unstorable."""
    alt = " ".join((text or "").split())
    if not alt:
        raise ShopError("Please describe the photo in its alt text: people who cannot see it rely on it.")
    if len(alt) > lengths.IMAGE_ALT:
        raise ShopError(f"The alt text can be at most {lengths.IMAGE_ALT} characters long.")
    if not storable(alt):
        raise ShopError("The alt text contains characters we cannot store.")
    return alt


def numbered_alt(alt: str, number: int, count: int) -> str:
    """Return the alt text for photo number of count uploaded together: "Red tent (photo 2)"."""
    if count == 1:
        return alt
    suffix = f" (photo {number})"
    return alt[:lengths.IMAGE_ALT - len(suffix)].rstrip() + suffix


def add_images(actor: User, product_id: int, uploads: list[FileStorage], alt: str) -> UploadOutcome:
    """Store each acceptable upload as a photo at the end of the product's; name each refused file and why.

    One alt text serves the whole upload; several photos get it numbered, to be refined one by one.
    """
    alt = clean_alt(alt)
    if not uploads:
        raise ShopError("Please choose at least one photo to upload.")
    if len(uploads) > MAX_FILES_PER_UPLOAD:
        raise ShopError(f"Please upload at most {MAX_FILES_PER_UPLOAD} photos at a time; you chose {len(uploads)}.")
    if db.session.get(Product, product_id) is None:
        raise NotFound("No such product.")
    end_read_transaction()  # no transaction stays open while the pictures are checked and resized
    outcome = UploadOutcome()
    stored = []
    try:
        for upload in uploads:
            try:
                stored.append(save_picture(upload))
            except ShopError as refusal:
                outcome.refused.append(str(refusal))
        if not stored:
            return outcome
        with write_transaction():
            product = _locked_product(product_id)
            position = len(product.images)
            for number, picture in enumerate(stored, start=1):
                image = ProductImage(
                    product_id=product.id, filename=rendition_name(picture.key, "full", "jpg"),
                    alt=numbered_alt(alt, number, len(stored)), position=position, key=picture.key,
                    width=picture.width, height=picture.height,
                )
                product.images.append(image)
                position += 1
                db.session.flush()
                audit.record(actor, "product_image.add", "product_image", image.id,
                             f"Added a photo of {product.name}: {image.alt}",
                             {"product_id": [None, product.id], "alt": [None, image.alt],
                              "position": [None, image.position], "key": [None, image.key]})
                outcome.added.append(image.alt)
    except BaseException:
        delete_files(picture.key for picture in stored)
        raise
    return outcome


def set_alt(actor: User, product_id: int, image_id: int, text: str) -> bool:
    """Change a photo's alt text; return whether it changed."""
    alt = clean_alt(text)
    with write_transaction():
        product, image = _locked_image(product_id, image_id)
        if image.alt == alt:
            return False
        audit.record(actor, "product_image.update", "product_image", image.id,
                     f"Alt text of a photo of {product.name}: {image.alt} → {alt}",
                     audit.changed_fields({"alt": image.alt}, {"alt": alt}))
        image.alt = alt
    return True


def move_image(actor: User, product_id: int, image_id: int, direction: str) -> bool:
    """Move a photo one place "up" (earlier) or "down"; return False when it is already at that end."""
    if direction not in ("up", "down"):
        raise ShopError("Choose whether to move the photo up or down.")
    with write_transaction():
        product, image = _locked_image(product_id, image_id)
        images = list(product.images)
        index = images.index(image)
        target = index - 1 if direction == "up" else index + 1
        if not 0 <= target < len(images):
            _renumber(images)
            return False
        images[index], images[target] = images[target], images[index]
        return _reorder(actor, product, images, image, f"Moved a photo of {product.name} {direction}: {image.alt}")


def make_main(actor: User, product_id: int, image_id: int) -> bool:
    """Make a photo the product's main one (first); return False when it already was."""
    with write_transaction():
        product, image = _locked_image(product_id, image_id)
        images = list(product.images)
        images.remove(image)
        return _reorder(actor, product, [image, *images], image,
                        f"Made the main photo of {product.name}: {image.alt}")


def delete_image(actor: User, product_id: int, image_id: int) -> str:
    """Delete a photo and then its files; return its alt text. Variants that showed it fall back to the main photo."""
    with write_transaction():
        product, image = _locked_image(product_id, image_id)
        alt, key = image.alt, image.key
        audit.record(actor, "product_image.delete", "product_image", image.id,
                     f"Deleted a photo of {product.name}: {alt}",
                     {"product_id": [product.id, None], "alt": [alt, None], "position": [image.position, None],
                      "filename": [image.filename, None], "key": [key, None]})
        product.images.remove(image)
        db.session.flush()
        _renumber(product.images)
    delete_files([key])
    return alt


def _locked_product(product_id: int) -> Product:
    # Locking the product row makes one admin's change to the photos' order wait for another's.
    product = db.session.scalar(sa.select(Product).where(Product.id == product_id).with_for_update()
                                .execution_options(populate_existing=True))
    if product is None:
        raise NotFound("No such product.")
    return product


def _locked_image(product_id: int, image_id: int) -> tuple[Product, ProductImage]:
    product = _locked_product(product_id)
    image = next((image for image in product.images if image.id == image_id), None)
    if image is None:
        raise NotFound("No such photo.")
    return product, image


def _reorder(actor: User, product: Product, ordered: list[ProductImage], moved: ProductImage, summary: str) -> bool:
    before = moved.position
    if [image.id for image in ordered] == [image.id for image in product.images]:
        _renumber(ordered)
        return False
    _renumber(ordered)
    audit.record(actor, "product_image.move", "product_image", moved.id, summary,
                 {"position": [before, moved.position]})
    return True


def _renumber(images: list[ProductImage]) -> None:
    """Number the photos 0, 1, 2... in the given order (closing any gaps a deletion left)."""
    for position, image in enumerate(images):
        image.position = position

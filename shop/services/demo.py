"""A believable demo catalogue, generated deterministically and loaded idempotently."""
import random
from datetime import timedelta

import sqlalchemy as sa

from shop.database import write_transaction
from shop.extensions import db
from shop.models import (
    Brand,
    Category,
    Coupon,
    CouponKind,
    Product,
    ProductImage,
    ProductOption,
    ProductOptionValue,
    ProductVariant,
    ShippingMethod,
)
from shop.models.base import now_utc
from shop.operations.storage import current_storage
from shop.services import demo_pictures, search_index

CATEGORY_TREE = {
    "Clothing": ["T-shirts", "Sweaters", "Jackets"],
    "Shoes": ["Sneakers", "Boots"],
    "Home": ["Kitchen", "Bedding"],
    "Outdoors": ["Camping", "Cycling"],
    "Accessories": ["Bags", "Hats"],
}
SIZED = {"T-shirts", "Sweaters", "Jackets", "Sneakers", "Boots", "Hats"}
NOUNS = {
    "T-shirts": ["Tee", "Crew Tee", "Pocket Tee", "V-neck"],
    "Sweaters": ["Sweater", "Cardigan", "Hoodie"],
    "Jackets": ["Rain Jacket", "Down Jacket", "Field Jacket"],
    "Sneakers": ["Runner", "Court Sneaker", "Trail Shoe"],
    "Boots": ["Chelsea Boot", "Hiking Boot", "Work Boot"],
    "Kitchen": ["Mug", "Chef Knife", "Cutting Board", "Teapot"],
    "Bedding": ["Duvet Cover", "Pillowcase Set", "Throw Blanket"],
    "Camping": ["Tent", "Sleeping Bag", "Camp Stove", "Lantern"],
    "Cycling": ["Bike Light", "Saddle Bag", "Cycling Cap"],
    "Bags": ["Backpack", "Tote", "Duffel", "Messenger Bag"],
    "Hats": ["Beanie", "Cap", "Bucket Hat"],
}
ADJECTIVES = [
    "Classic", "Everyday", "Alpine", "Coastal", "Urban", "Heritage", "Featherlight", "Rugged",
    "Organic", "Merino", "Canvas", "Linen", "Studio", "Nordic", "Harbor", "Summit",
]
BRANDS = ["Northwind", "Fieldcraft", "Lumen & Co", "Tidewater", "Oakline"]
SIZES_CLOTHING = ["S", "M", "L", "XL"]
SIZES_SHOES = ["40", "41", "42", "43", "44"]
COLOURS = {
    "Black": (40, 40, 44), "Navy": (34, 52, 94), "Forest": (34, 92, 62), "Sand": (214, 196, 160),
    "Rust": (170, 78, 44), "Sky": (110, 160, 210),
}


def seed_demo(product_count: int = 200) -> str:
    """Load categories, brands, products with variants and images, shipping and coupons.

    Products are numbered, so running it again adds only the missing ones.
    """
    with write_transaction():
        return _load_demo_catalogue(product_count)


def _load_demo_catalogue(product_count: int) -> str:
    rng = random.Random(20261121)
    categories = _ensure_categories()
    brands = _ensure_brands()
    _ensure_shipping_and_coupons()
    leaf_names = [child for children in CATEGORY_TREE.values() for child in children]
    pictures = _Pictures()

    existing = set(db.session.scalars(sa.select(Product.slug).where(Product.slug.like("demo-%"))))
    now = now_utc()
    product_rows, variant_plan = [], {}
    for number in range(1, product_count + 1):
        leaf = leaf_names[(number - 1) % len(leaf_names)]
        adjective, noun = rng.choice(ADJECTIVES), rng.choice(NOUNS[leaf])
        name = f"{adjective} {noun}"
        slug = f"demo-{number:05d}-{name.lower().replace(' ', '-')}"
        # Draw every random value before skipping, so a re-run generates the same catalogue.
        variant_specs = _variant_specs(rng, leaf, number)
        description = _description(rng, name, leaf)
        brand_id = brands[rng.randrange(len(brands))]
        if slug in existing:
            continue
        product_rows.append({
            "slug": slug,
            "name": name,
            "description": description,
            "brand_id": brand_id,
            "category_id": categories[leaf],
            "is_active": True,
            "is_featured": number % 17 == 1,
            "created_at": now - timedelta(minutes=number),
            "updated_at": now,
        })
        variant_plan[slug] = (demo_pictures.kind_of(noun), name, variant_specs)

    created = 0
    for start in range(0, len(product_rows), 1000):
        batch = product_rows[start:start + 1000]
        ids = db.session.execute(
            sa.insert(Product).returning(Product.id, Product.slug, sort_by_parameter_order=True), batch
        ).all()
        image_rows, shots_taken, option_rows = [], [], []
        for product_id, slug in ids:
            kind, name, specs = variant_plan[slug]
            colours = list(dict.fromkeys(spec["Colour"] for spec in specs)) or ["Black"]
            # The first colour whole and close up (the close-up is what a card shows on hover), then the others.
            shots = [(colours[0], "front"), (colours[0], "detail"), *((colour, "front") for colour in colours[1:3])]
            for position, (colour, view) in enumerate(shots):
                image_rows.append({
                    "product_id": product_id,
                    "filename": pictures.filename(kind, colour, view),
                    "alt": f"{name} in {colour}" + (", close-up" if view == "detail" else ""),
                    "position": position,
                })
                shots_taken.append((product_id, colour, view))
        image_ids = db.session.execute(
            sa.insert(ProductImage).returning(ProductImage.id, sort_by_parameter_order=True), image_rows
        ).scalars().all()
        # Choosing a colour shows its own picture first.
        colour_pictures = {(product_id, colour): image_id
                           for (product_id, colour, view), image_id in zip(shots_taken, image_ids, strict=True)
                           if view == "front"}
        variant_rows = []
        for product_id, slug in ids:
            _, _, specs = variant_plan[slug]
            option_names = [name for name in ("Size", "Colour") if any(spec[name] for spec in specs)]
            for position, option_name in enumerate(option_names):
                values = list(dict.fromkeys(spec[option_name] for spec in specs))
                option_rows.append(((product_id, position, option_name), values))
            for position, spec in enumerate(specs):
                chosen = [spec[option_name] for option_name in option_names] + ["", ""]
                variant_rows.append({
                    "product_id": product_id, "position": position, "sku": spec["sku"],
                    "price_cents": spec["price_cents"], "compare_at_cents": spec["compare_at_cents"],
                    "stock": spec["stock"], "option1": chosen[0], "option2": chosen[1], "option3": chosen[2],
                    "image_id": colour_pictures.get((product_id, spec["Colour"])),
                })
        db.session.execute(sa.insert(ProductVariant), variant_rows)
        _insert_options(option_rows)
        search_index.mark_products(product_id for product_id, _ in ids)
        created += len(batch)
    return f"Demo catalogue ready: {created} products added, {len(existing)} already there."


def _insert_options(option_rows: list[tuple[tuple[int, int, str], list[str]]]) -> None:
    if not option_rows:
        return
    option_ids = db.session.execute(
        sa.insert(ProductOption).returning(ProductOption.id, sort_by_parameter_order=True),
        [{"product_id": product_id, "position": position, "name": name}
         for (product_id, position, name), _ in option_rows],
    ).scalars().all()
    db.session.execute(sa.insert(ProductOptionValue), [
        {"option_id": option_id, "value": value, "position": position}
        for option_id, (_, values) in zip(option_ids, option_rows, strict=True)
        for position, value in enumerate(values)
    ])


def _variant_specs(rng: random.Random, leaf: str, number: int) -> list[dict]:
    base_price = rng.choice([900, 1500, 1900, 2500, 3500, 4900, 6500, 8900, 12900, 19900])
    on_sale = rng.random() < 0.25
    colours = rng.sample(list(COLOURS), k=rng.randint(1, 3))
    if leaf in SIZED:
        sizes = SIZES_SHOES if leaf in {"Sneakers", "Boots"} else SIZES_CLOTHING
        if leaf == "Hats":
            sizes = ["One size"]
    else:
        sizes = [""]
    specs = []
    for colour in colours:
        for size in sizes:
            roll = rng.random()
            stock = 0 if roll < 0.08 else rng.randint(1, 4) if roll < 0.25 else rng.randint(8, 120)
            price = base_price + (500 if size in {"XL", "44"} else 0)
            specs.append({
                "sku": f"D{number:05d}-{colour[:3].upper()}-{(size or 'OS').replace(' ', '')}",
                "Size": size,
                "Colour": colour,
                "price_cents": price,
                "compare_at_cents": price + price // 4 if on_sale else None,
                "stock": stock,
            })
    return specs


def _description(rng: random.Random, name: str, leaf: str) -> str:
    traits = rng.sample(
        ["Made to last for years", "Easy care: machine washable", "Responsibly sourced materials",
         "Designed in small batches", "Backed by a two-year warranty", "Ships in plastic-free packaging",
         "Tested in real conditions", "Comfortable from the first day"],
        k=3,
    )
    return f"The {name} is our take on {leaf.lower()} done right.\n\n" + "\n".join(f"- {t}" for t in traits)


def _ensure_categories() -> dict[str, int]:
    existing = {c.slug: c for c in db.session.scalars(sa.select(Category))}
    ids: dict[str, int] = {}
    for position, (top, children) in enumerate(CATEGORY_TREE.items()):
        parent = existing.get(_slugify(top))
        if parent is None:
            parent = Category(name=top, slug=_slugify(top), position=position,
                              description=f"Our range of {top.lower()}.")
            db.session.add(parent)
            db.session.flush()
        ids[top] = parent.id
        for child_position, child in enumerate(children):
            category = existing.get(_slugify(child))
            if category is None:
                category = Category(name=child, slug=_slugify(child), position=child_position, parent_id=parent.id)
                db.session.add(category)
                db.session.flush()
            ids[child] = category.id
    return ids


def _ensure_brands() -> list[int]:
    existing = {b.slug: b.id for b in db.session.scalars(sa.select(Brand))}
    ids = []
    for name in BRANDS:
        slug = _slugify(name)
        if slug not in existing:
            brand = Brand(name=name, slug=slug)
            db.session.add(brand)
            db.session.flush()
            existing[slug] = brand.id
        ids.append(existing[slug])
    return ids


def _ensure_shipping_and_coupons() -> None:
    if db.session.scalar(sa.select(ShippingMethod.id).limit(1)) is None:
        db.session.add_all([
            ShippingMethod(name="Standard (3–5 days)", price_cents=599, free_over_cents=7500, position=0),
            ShippingMethod(name="Express (1–2 days)", price_cents=1499, position=1),
        ])
    if db.session.scalar(sa.select(Coupon.id).limit(1)) is None:
        db.session.add_all([
            Coupon(code="WELCOME10", kind=CouponKind.PERCENT, value=10),
            Coupon(code="FIVEOFF", kind=CouponKind.FIXED, value=500, min_subtotal_cents=3000),
        ])


class _Pictures:
    """Draws each (kind, colour, view) picture the catalogue uses once, and only when it is not stored yet."""

    def __init__(self) -> None:
        self.storage = current_storage()
        self.ready: set[str] = set()

    def filename(self, kind: str, colour: str, view: str) -> str:
        """Return the media path of the picture, drawing and storing it first if needed."""
        filename = f"demo/{kind}-{colour.lower()}-{view}.jpg"
        if filename not in self.ready:
            if not self.storage.exists(filename):
                self.storage.save(filename, demo_pictures.jpeg(kind, COLOURS[colour], view), "image/jpeg")
            self.ready.add(filename)
        return filename


def _slugify(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-").replace("--", "-")

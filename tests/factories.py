"""Plain functions that build rows for tests; each flushes so ids are set, none commits."""
import itertools

import sqlalchemy as sa

from shop.extensions import db
from shop.models import (
    Address,
    Brand,
    Category,
    Order,
    OrderItem,
    Product,
    ProductImage,
    ProductOption,
    ProductOptionValue,
    ProductVariant,
    Role,
    User,
)
from shop.services.passwords import hash_password

_sequence = itertools.count(1)
DEFAULT_PASSWORD = "correct horse battery"

# Hashing with production argon2 settings costs ~50 ms; hash the default password once.
_default_hash = None


def _next() -> int:
    return next(_sequence)


def make_user(email: str | None = None, password: str = DEFAULT_PASSWORD, name: str = "Test Shopper",
              is_admin: bool = False, role: str | None = None) -> User:
    """Make an account: a shopper, an owner with is_admin=True, or any role given."""
    global _default_hash
    if password == DEFAULT_PASSWORD:
        _default_hash = _default_hash or hash_password(DEFAULT_PASSWORD)
        password_hash = _default_hash
    else:
        password_hash = hash_password(password)
    user = User(
        email=(email or f"user{_next()}@example.com").lower(),
        name=name,
        password_hash=password_hash,
        role=role or (Role.OWNER if is_admin else Role.CUSTOMER),
    )
    db.session.add(user)
    db.session.flush()
    return user


def make_address(user: User, **fields) -> Address:
    values = {
        "full_name": user.name, "line1": "1 Main Street", "line2": "", "city": "Springfield",
        "postal_code": "12345", "country": "US", "phone": "", "is_default": False,
    }
    values.update(fields)
    address = Address(user_id=user.id, **values)
    db.session.add(address)
    db.session.flush()
    return address


def make_category(name: str | None = None, parent: Category | None = None, position: int = 0) -> Category:
    n = _next()
    name = name or f"Category {n}"
    category = Category(
        name=name, slug=f"{name.lower().replace(' ', '-')}-{n}", parent_id=parent.id if parent else None,
        position=position,
    )
    db.session.add(category)
    db.session.flush()
    return category


def make_brand(name: str | None = None) -> Brand:
    n = _next()
    brand = Brand(name=name or f"Brand {n}", slug=f"brand-{n}")
    db.session.add(brand)
    db.session.flush()
    return brand


def make_product(name: str | None = None, category: Category | None = None, price_cents: int = 1999,
                 stock: int = 10, variants: list[dict] | None = None, images: int = 1,
                 is_active: bool = True, is_featured: bool = False, brand: Brand | None = None,
                 compare_at_cents: int | None = None) -> Product:
    """Make a product with one variant (or the given ones) and placeholder image rows.

    A variant spec may name its "size" and "colour": they become the product's options Size and Colour.
    """
    n = _next()
    name = name or f"Product {n}"
    category = category or make_category()
    product = Product(
        name=name, slug=f"{name.lower().replace(' ', '-')}-{n}", description=f"About {name}.",
        category_id=category.id, brand_id=brand.id if brand else None,
        is_active=is_active, is_featured=is_featured,
    )
    db.session.add(product)
    db.session.flush()
    specs = variants or [{}]
    option_names = [name for name in ("size", "colour") if any(spec.get(name) for spec in specs)]
    for position, option_name in enumerate(option_names):
        option = ProductOption(product_id=product.id, position=position, name=option_name.title())
        db.session.add(option)
        db.session.flush()
        seen = dict.fromkeys(spec.get(option_name, "") for spec in specs if spec.get(option_name))
        db.session.add_all(ProductOptionValue(option_id=option.id, value=value, position=index)
                           for index, value in enumerate(seen))
    for position, spec in enumerate(specs):
        values = {
            "sku": f"SKU-{n}-{position}", "price_cents": price_cents,
            "compare_at_cents": compare_at_cents, "stock": stock, "position": position,
        }
        chosen = {f"option{index + 1}": spec.get(name, "") for index, name in enumerate(option_names)}
        values.update({key: value for key, value in spec.items() if key not in ("size", "colour")}, **chosen)
        db.session.add(ProductVariant(product_id=product.id, **values))
    for position in range(images):
        db.session.add(ProductImage(product_id=product.id, filename=f"test/{n}-{position}.png",
                                    alt=f"{name} photo {position + 1}", position=position))
    db.session.flush()
    return product


def make_order(user: User | None = None, variant: ProductVariant | None = None, quantity: int = 1,
               status: str = "pending", payment_status: str = "unpaid", currency: str = "usd",
               email: str | None = None) -> Order:
    """Make an order with one item snapshot; totals follow the item."""
    n = _next()
    variant = variant or make_product().variants[0]
    subtotal = variant.price_cents * quantity
    order = Order(
        number=f"T{n:08d}", user_id=user.id if user else None,
        email=email or (user.email if user else f"guest{n}@example.com"),
        status=status, payment_status=payment_status, currency=currency,
        subtotal_cents=subtotal, total_cents=subtotal,
        ship_name="Test Shopper", ship_line1="1 Main Street", ship_city="Springfield",
        ship_postal_code="12345", ship_country="US",
    )
    db.session.add(order)
    db.session.flush()
    db.session.add(OrderItem(
        order_id=order.id, variant_id=variant.id, product_name=variant.product.name,
        variant_name=variant.label, sku=variant.sku, unit_price_cents=variant.price_cents, quantity=quantity,
    ))
    db.session.flush()
    return order


def stock(variant) -> int:
    """Return a variant's stock as the database has it now; takes a variant or its id.

    Commits first: on SQLite the test's open read transaction would still show the stock from
    before the requests or threads it is checking on.
    """
    variant_id = getattr(variant, "id", variant)
    db.session.commit()
    return db.session.scalar(sa.select(ProductVariant.stock).where(ProductVariant.id == variant_id)
                             .execution_options(populate_existing=True))


def make_stock_movement(variant, delta: int, reason: str = "received", order: Order | None = None,
                        actor: User | None = None, note: str = ""):
    """Add a ledger row for a variant (the stock itself is left as it is)."""
    from shop.models import StockMovement

    movement = StockMovement(variant_id=variant.id, delta=delta, reason=reason, note=note,
                             order_id=order.id if order else None, actor_id=actor.id if actor else None)
    db.session.add(movement)
    db.session.flush()
    return movement


# A catalogue CSV row for tests/*/test_*transfer*, test_catalog_csv: the product "tee" with one size.
CSV_ROW_DEFAULTS = {
    "sku": "TEE-S", "product_name": "Tee", "product_slug": "tee", "description": "",
    "category_path": "Clothing > Tops", "brand": "Northwind", "is_active": "yes", "is_featured": "no",
    "seo_title": "", "meta_description": "", "option1_name": "Size", "option1_value": "S", "option2_name": "",
    "option2_value": "", "option3_name": "", "option3_value": "", "price": "19.90", "compare_at_price": "",
    "stock": "5", "variant_active": "yes",
}


def csv_row(**cells: str) -> dict[str, str]:
    """Return an import row: the defaults above with the given cells changed."""
    return {**CSV_ROW_DEFAULTS, **cells}


def csv_file(rows: list[dict[str, str]], delimiter: str = ",", bom: bool = False, header: bool = True) -> bytes:
    """Return a catalogue CSV file with a header row (the rows' keys) and the rows, as UTF-8 bytes."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=delimiter)
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8")

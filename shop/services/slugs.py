"""URL slugs: made from names, unique per table."""
import re
import unicodedata

import sqlalchemy as sa

from shop.extensions import db

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def slugify(text: str, max_length: int = 80) -> str:
    """Return a lower-case ASCII slug for the text ("Crème Brûlée 2" -> "creme-brulee-2"), or "" if none is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")[:max_length].rstrip("-")


def is_valid_slug(slug: str) -> bool:
    """Return whether the slug is lower-case letters and digits in groups joined by single hyphens."""
    return bool(SLUG_PATTERN.match(slug))


def unique_slug(column, wanted: str, exclude_id: int | None = None, taken: set[str] | None = None) -> str:
    """Return the wanted slug, or it with -2, -3... when a row (other than exclude_id) already uses it.

    One query reads every slug that could collide; `taken` adds slugs claimed earlier in the same
    transaction (an import that creates several rows).
    """
    model = column.class_
    query = sa.select(column).where(sa.or_(column == wanted, column.like(wanted + "-%")))
    if exclude_id is not None:
        query = query.where(model.id != exclude_id)
    used = set(db.session.scalars(query)) | (taken or set())
    if wanted not in used:
        return wanted
    number = 2
    while f"{wanted}-{number}" in used:
        number += 1
    return f"{wanted}-{number}"

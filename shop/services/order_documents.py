"""The shop's own details as its printed papers (invoice, packing slip) show them."""
from dataclasses import dataclass

from flask import current_app


@dataclass(frozen=True)
class Letterhead:
    name: str
    address_lines: tuple[str, ...]
    tax_id: str


def letterhead() -> Letterhead:
    """Return the shop's name, its postal address split into lines at the commas, and its tax id."""
    config = current_app.config
    lines = tuple(part.strip() for part in (config["ADDRESS"] or "").split(",") if part.strip())
    return Letterhead(config["SHOP_NAME"], lines, (config["TAX_ID"] or "").strip())

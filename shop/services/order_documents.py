"""The shop's own details as its printed papers (invoice, packing slip) show them."""
from dataclasses import dataclass

from flask import current_app

from shop.services import store_settings


@dataclass(frozen=True)
class Letterhead:
    name: str
    address_lines: tuple[str, ...]
    tax_id: str


def letterhead() -> Letterhead:
    """Return the shop's name, its postal address split into lines at the commas, and its tax id."""
    lines = tuple(part.strip() for part in (store_settings.get("address") or "").split(",") if part.strip())
    return Letterhead(store_settings.get("shop_name"), lines, (current_app.config["TAX_ID"] or "").strip())

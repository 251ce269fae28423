"""What every admin list reads from its query string: a search term, filters, a sort and a page."""
from collections.abc import Mapping

from flask import request

from shop.core.params import page_number

MAX_TERM = 100


def search_term() -> str:
    """Return ?q= trimmed to 100 characters, without the NUL that no stored text holds."""
    return request.args.get("q", "", type=str).replace("\x00", "").strip()[:MAX_TERM]


def choice(name: str, allowed: Mapping[str, str] | tuple[str, ...], default: str = "") -> str:
    """Return ?<name>= if it is one of the allowed keys, else the default (junk is ignored, not an error)."""
    value = request.args.get(name, default, type=str)
    return value if value in allowed else default


def id_filter(name: str) -> int | None:
    """Return ?<name>= as a database id, or None when it is absent or not one."""
    value = request.args.get(name, "", type=str)
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    number = int(value)
    return number if 0 < number < 2**63 else None


def page() -> int:
    return page_number()


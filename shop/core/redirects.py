"""Where a redirect may go: only back into this shop."""
from urllib.parse import urlsplit

MAX_PATH_LENGTH = 2000


def safe_local_path(target: str | None) -> str | None:
    """Return target if it is a path on this site, else None (blocks open redirects)."""
    if not target or len(target) > MAX_PATH_LENGTH or not target.startswith("/") or target.startswith("//"):
        return None
    # Browsers treat "\" as "/" and drop tabs and newlines, so "/\evil" or "/\t/evil" leave the site.
    if "\\" in target or any(ord(char) <= 0x20 or ord(char) == 0x7F for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target

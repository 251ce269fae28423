"""Storefront pages rendered once for every visitor, each visitor's own parts filled in per request.

A cached view is rendered "for nobody": every place a template shows something of the visitor's
(the header's account links and cart, flash messages, CSRF tokens, the product page's wishlist and
review forms, recently viewed products) calls `personal(name, **args)`, which while recording
leaves a marker and notes the hole. The page is kept split at its markers; serving it renders
only the holes, for whoever asked. Outside a cached view, `personal` renders the part in place.

Pages are kept under the catalogue version read at the start of the request (see
shop.services.catalogue_version): a write commits its bump with its rows, so the first request
after it, in any process, reads a new version and renders afresh. A page rendered from rows newer
than the version it was filed under is harmless, since that version is already retired.

Kept in this process (an LRU bounded in bytes) and, with CACHE_URL, in Redis for every process.
Logged-in staff are never served from it: they see inactive products and admin links.
"""
import hashlib
import logging
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, request, session
from flask_login import current_user
from markupsafe import Markup
from redis.exceptions import RedisError

from shop.database import end_read_transaction
from shop.extensions import cache
from shop.services import catalogue_version, store_settings

log = logging.getLogger(__name__)

EXTENSION = "page_cache"
RECORDING = "page_cache_holes"  # on g while a cached view renders: the holes noted so far
SEEN_VERSION = "page_cache_seen_version"
RELEASE = "page_cache_release"
HEADER = "X-Page-Cache"
CSRF_ON_G = "csrf_token"  # where Flask-WTF keeps the token it made for this request
# Headers of the view's own that belong to the page; anything about the visitor is set per request.
KEPT_HEADERS = ("Content-Type", "Link", "X-Robots-Tag", "Content-Language")

# What fills each hole: registered by the blueprint that owns the part.
_fillers: dict[str, Callable[..., str]] = {}
# Holes whose part, for a visitor who is not logged in, depends on their arguments alone.
_same_for_logged_out: set[str] = set()
LOGGED_OUT_PARTS = "page_cache_logged_out_parts"
LOGGED_OUT_PARTS_KEPT = 10_000


def hole(name: str, same_for_logged_out: bool = False) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """Register the function that renders the named personal part for the current visitor.

    same_for_logged_out: what it renders for a visitor who is not logged in depends only on its
    arguments, so each process renders that once.
    """
    def register(fill: Callable[..., str]) -> Callable[..., str]:
        _fillers[name] = fill
        if same_for_logged_out:
            _same_for_logged_out.add(name)
        return fill
    return register


def _fill_hole(name: str, args: dict[str, Any]) -> str:
    if name not in _same_for_logged_out or current_user.is_authenticated:
        return _fillers[name](**args)
    kept: dict = current_app.extensions[LOGGED_OUT_PARTS]
    key = (name, request.script_root, tuple(sorted(args.items())))
    text = kept.get(key)
    if text is None:
        if len(kept) >= LOGGED_OUT_PARTS_KEPT:
            kept.clear()
        text = kept[key] = _fillers[name](**args)
    return text


def render_part(template_name: str, **context: Any) -> str:
    """Render a personal part's template without the context processors' queries for the whole page."""
    template = current_app.jinja_env.get_template(template_name)
    return template.render(request=request, session=session, g=g, current_user=current_user,
                           config=current_app.config, **context)


def personal(name: str, **args: Any) -> Markup:
    """Render a visitor's own part in place, or, while a cached view records, leave a marker for it."""
    holes: list | None = g.get(RECORDING)
    if holes is None:
        return Markup(_fill_hole(name, args))
    holes.append((name, args))
    return Markup(_marker(len(holes) - 1))


@dataclass(frozen=True)
class CachedPage:
    """A rendered page split at its holes: texts[0], hole 0, texts[1], ... texts[-1]."""

    texts: tuple[str, ...]
    holes: tuple[tuple[str, dict[str, Any]], ...]
    headers: tuple[tuple[str, str], ...]

    @property
    def size(self) -> int:
        return sum(len(text) for text in self.texts) + 200 * len(self.holes) + 500

    def render(self) -> str:
        parts = [self.texts[0]]
        for (name, args), text in zip(self.holes, self.texts[1:], strict=True):
            parts.append(_fill_hole(name, args))
            parts.append(text)
        return "".join(parts)


class PageStore:
    """Pages by key, most recently used kept, bounded by their size in bytes; safe across threads."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self.used = 0
        self._pages: OrderedDict[str, CachedPage] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> CachedPage | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: str, page: CachedPage) -> None:
        if page.size > self.budget // 4:
            return  # one giant page must not empty the store
        with self._lock:
            previous = self._pages.pop(key, None)
            if previous is not None:
                self.used -= previous.size
            self._pages[key] = page
            self.used += page.size
            while self.used > self.budget:
                _, dropped = self._pages.popitem(last=False)
                self.used -= dropped.size

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self.used = 0


def cached_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve the view's page from the cache when it applies, recording it on a miss."""
    @wraps(view)
    def serve(**view_args: Any) -> Any:
        if not _applies():
            return view(**view_args)
        store: PageStore = current_app.extensions[EXTENSION]
        key = _key(_version())
        page = store.get(key)
        state = "hit"
        if page is None:
            page = _shared_get(key)
            if page is None:
                response, page = _record(view, view_args)
                if page is None:  # not a page to keep (a 404, a redirect): the visitor still gets it whole
                    return response
                _shared_put(key, page)
                state = "miss"
            store.put(key, page)
        response = current_app.response_class(page.render(), headers=list(page.headers))
        response.headers[HEADER] = state
        response.vary.add("Cookie")  # the holes are filled from the session
        return response
    return serve


def _applies() -> bool:
    if request.method not in ("GET", "HEAD") or not current_app.config["PAGE_CACHE"]:
        return False
    # current_user is loaded only for a session that holds a login.
    return not (current_user.is_authenticated and current_user.is_admin)


def _version() -> int:
    version = catalogue_version.current()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.extensions.get(SEEN_VERSION) != version:
        # The change may have been to the store settings this process keeps a copy of (or, on the
        # first request, made after the copy was read at start).
        store_settings.drop_process_copy()
        app.extensions[SEEN_VERSION] = version
    return version


def _key(version: int) -> str:
    address = f"{request.scheme}://{request.host}{request.full_path}"
    release = current_app.extensions.get(RELEASE, "local")
    return f"page:{release}:{version}:{hashlib.blake2b(address.encode(), digest_size=16).hexdigest()}"


def _release(app: Flask) -> str:
    """Return a digest of what renders pages besides the database: code, templates, static files, settings.

    Pages kept in Redis outlive the process that rendered them; after an upgrade or a changed
    setting, the shop must not serve pages its old self rendered. Machines running the same code
    with the same settings share their pages.
    """
    digest = hashlib.blake2b(digest_size=8)
    root = Path(app.root_path).parent
    for folder in (Path(app.root_path), root / "templates", root / "static", Path(app.instance_path) / "templates"):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(folder)).encode())
                digest.update(path.read_bytes())
    digest.update(repr(sorted((name, repr(value)) for name, value in app.config.items())).encode())
    return digest.hexdigest()


def _record(view: Callable[..., Any], view_args: dict) -> tuple[Response, CachedPage | None]:
    """Render the view for nobody; return the response with its holes filled and the page to keep."""
    # What everyone will see is read after the version it is filed under: a read transaction the
    # request opened before (loading a logged-in shopper, say) would, on SQLite, keep showing the
    # database as it was then; and the store settings are read as committed, not from a copy
    # that may predate the change that moved the version on.
    end_read_transaction()
    store_settings.read_committed_for_request()
    holes: list[tuple[str, dict[str, Any]]] = []
    setattr(g, RECORDING, holes)
    # Flask-WTF keeps the request's token on g: set aside, a form that renders its token itself
    # (form.hidden_tag() outside a hole) shows here instead of reaching every visitor's page.
    own_token = g.pop(CSRF_ON_G, None)
    try:
        response = current_app.make_response(view(**view_args))
    finally:
        g.pop(RECORDING, None)
        token_leaked = CSRF_ON_G in g
        if own_token is not None and not token_leaked:
            setattr(g, CSRF_ON_G, own_token)
    if token_leaked:
        log.error("%s renders a CSRF token outside personal(): the page is not cached", request.endpoint)
    if token_leaked or response.status_code != 200 or response.mimetype != "text/html" or response.is_streamed:
        if holes:
            response.set_data(_fill(response.get_data(as_text=True), holes))
        return response, None
    texts = _MARKERS.split(response.get_data(as_text=True))[::2]
    headers = tuple((name, value) for name, value in response.headers.items() if name in KEPT_HEADERS)
    page = CachedPage(tuple(texts), tuple(holes), headers)
    return response, page


def _fill(text: str, holes: list[tuple[str, dict[str, Any]]]) -> str:
    return _MARKERS.sub(lambda match: _fill_hole(*holes[int(match[1])]), text)


# A fresh marker per process: page content is escaped, so it can never spell one, and a page kept
# in Redis is stored already split, so no process needs another's marker.
_NONCE = secrets.token_hex(8)
_MARKERS = re.compile(f"<!--hole:{_NONCE}:(\\d+)-->")


def _marker(index: int) -> str:
    return f"<!--hole:{_NONCE}:{index}-->"


def _shared_get(key: str) -> CachedPage | None:
    if not current_app.config.get("CACHE_URL"):
        return None
    try:
        stored = cache.get(key)
    except RedisError as error:
        log.warning("The shared page cache cannot be reached; rendering the page here: %s", error)
        return None
    if not isinstance(stored, tuple) or len(stored) != 3:
        return None
    texts, holes, headers = stored
    if any(name not in _fillers for name, _ in holes):
        return None  # kept by another version of the shop
    return CachedPage(tuple(texts), tuple((name, dict(args)) for name, args in holes), tuple(headers))


def _shared_put(key: str, page: CachedPage) -> None:
    if not current_app.config.get("CACHE_URL"):
        return
    try:
        cache.set(key, (page.texts, page.holes, page.headers), timeout=int(current_app.config["PAGE_CACHE_SECONDS"]))
    except RedisError as error:
        log.warning("The shared page cache cannot be reached; the page is kept in this process only: %s", error)


def register(app: Flask) -> None:
    """Give the app its page store and make `personal` and the CSRF token hole available to templates."""
    from flask_wtf.csrf import generate_csrf

    app.extensions[EXTENSION] = PageStore(int(app.config["PAGE_CACHE_MB"]) * 1024 * 1024)
    app.extensions[LOGGED_OUT_PARTS] = {}
    if app.config.get("CACHE_URL"):
        app.extensions[RELEASE] = _release(app)
    app.jinja_env.globals["personal"] = personal
    hole("csrf_token")(generate_csrf)

    def csrf_token() -> str:
        # Templates call csrf_token() in forms; on a recorded page each visitor gets their own.
        return personal("csrf_token") if RECORDING in g else generate_csrf()

    # Flask-WTF offers its own as a global and through a context processor; this one, later, wins both.
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(lambda: {"csrf_token": csrf_token})

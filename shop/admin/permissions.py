"""Who may open which admin page: the one place the back office's roles are enforced.

Owners may open every admin page. Staff run the catalogue, inventory, orders and fulfilment, and
see the dashboard: they may open exactly the endpoints STAFF_ENDPOINTS names, and nothing else
(default deny). Every admin endpoint is classified here, for staff or for the owner alone; a test
walks the URL map and fails on one that is neither, so a new page is decided on the day it is added.
"""
from flask import abort, current_app, request
from flask_login import current_user

from shop.admin import bp
from shop.core.errors import render_error
from shop.extensions import login_manager
from shop.models import Role, User
from shop.services import store_settings

STAFF_ENDPOINTS = frozenset({
    # The dashboard.
    "admin.index",
    # Catalogue: products, their photos and variants, categories, brands, reviews, import and export.
    "admin.products", "admin.product_new", "admin.product_edit", "admin.product_variants", "admin.product_delete",
    "admin.products_bulk", "admin.product_images", "admin.product_images_upload", "admin.product_image_alt",
    "admin.product_image_main", "admin.product_image_move", "admin.product_image_delete",
    "admin.categories", "admin.category_new", "admin.category_edit", "admin.category_move", "admin.category_delete",
    "admin.brands", "admin.brand_new", "admin.brand_edit", "admin.brand_delete",
    "admin.reviews", "admin.review_hide", "admin.review_unhide",
    "admin.catalogue_transfer", "admin.catalogue_export", "admin.catalogue_import",
    "admin.catalogue_import_preview", "admin.catalogue_import_apply",
    # Inventory.
    "admin.inventory", "admin.inventory_adjust", "admin.inventory_history",
    # Orders and fulfilment (refunds above the staff limit are refused by refund_limit_cents).
    "admin.orders", "admin.order", "admin.ship", "admin.delivered", "admin.refund", "admin.cancel",
    "admin.add_note", "admin.resend_confirmation", "admin.order_invoice", "admin.order_packing_slip",
})

# Pages in staff sections that are for the owner alone: exports of customer data.
OWNER_ONLY_ENDPOINTS = frozenset({"admin.orders_export"})

# Route modules (of shop.admin) whose every page is for the owner alone: reports, customers and staff
# management, promotions, shipping and tax, content pages, settings and the audit log.
OWNER_ONLY_MODULES = frozenset({
    "reports", "customers", "coupons", "shipping", "taxes", "content_pages", "settings", "audit_log",
})

STAFF_AND_OWNER = frozenset({Role.STAFF, Role.OWNER})
OWNER_ONLY = frozenset({Role.OWNER})

OWNER_ONLY_MESSAGE = "Only the shop's owner can open this page. Ask the owner if you need something from it."


def _module(endpoint: str) -> str:
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "__module__", "").rpartition(".")[2]


def roles_for(endpoint: str) -> frozenset[Role] | None:
    """Return the roles that may open an admin endpoint, or None when it is not classified (owner only then)."""
    if endpoint in STAFF_ENDPOINTS:
        return STAFF_AND_OWNER
    if endpoint in OWNER_ONLY_ENDPOINTS or _module(endpoint) in OWNER_ONLY_MODULES:
        return OWNER_ONLY
    return None


def may_open(user: User, endpoint: str) -> bool:
    """Return whether the account may open the admin endpoint: owners everything, staff what is theirs."""
    if not user.is_authenticated or not user.is_admin:
        return False
    return user.is_owner or Role.STAFF in (roles_for(endpoint) or OWNER_ONLY)


def unclassified_endpoints() -> list[str]:
    """Return the admin endpoints this module does not classify (a test requires there are none)."""
    return sorted(endpoint for endpoint in current_app.view_functions
                  if endpoint.startswith(f"{bp.name}.") and roles_for(endpoint) is None)


def refund_limit_cents(user: User) -> int | None:
    """Return the largest refund the account may give at once, or None when any amount is theirs to give."""
    if user.is_owner:
        return None
    return int(store_settings.get("staff_refund_limit_cents"))


@bp.before_request
def require_admin():
    """Send anonymous visitors to log in, refuse shoppers, and refuse staff the owner's pages."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403)
    if not may_open(current_user, request.endpoint or ""):
        return render_error(403, OWNER_ONLY_MESSAGE)
    return None

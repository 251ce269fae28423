"""Every page a shopper or the owner can reach, and how to open it on the seeded `storefront`.

The layout and accessibility checks walk these; a new page belongs here so both check it.
"""
from dataclasses import dataclass

from tests.browser.actions import follow

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
WIDTHS = {"390": PHONE, "1280": DESKTOP}


@dataclass(frozen=True)
class Visit:
    """A page: who opens it (a context of the `visitors` fixture), its path, and a button to press there."""

    name: str
    who: str
    path: str
    press: str | None = None
    status: int = 200


STOREFRONT = [
    Visit("home", "newcomer", "/"),
    Visit("category", "newcomer", "/categories/{category}"),
    Visit("subcategory", "newcomer", "/categories/{subcategory}"),
    Visit("search", "newcomer", "/search?q={search}"),
    Visit("search-filtered", "newcomer", "/search?q={search}&in_stock=1&sort=price_asc"),
    Visit("search-empty", "newcomer", "/search?q=nothing+is+called+this"),
    Visit("search-suggestion", "newcomer", "/search?q=sweatr"),  # "Did you mean sweater?"
    Visit("product", "newcomer", "/products/{product}"),
    Visit("cart-empty", "newcomer", "/cart"),
    Visit("cart", "guest", "/cart"),
    Visit("checkout", "guest", "/checkout"),
    # The form left empty: every required field is in error.
    Visit("checkout-errors", "guest", "/checkout", press="Place order and pay"),
    Visit("login", "newcomer", "/auth/login"),
    Visit("register", "newcomer", "/auth/register"),
    Visit("reset-request", "newcomer", "/auth/reset"),
]
ACCOUNT = [
    # A logged-in shopper's cart offers Save for later, and lists what was saved.
    Visit("cart-shopper", "shopper", "/cart"),
    # The shopper bought and reviewed the product: the form holds their review.
    Visit("product-own-review", "shopper", "/products/{product}"),
    Visit("account", "shopper", "/account"),
    Visit("addresses", "shopper", "/account/addresses"),
    Visit("address-form", "shopper", "/account/addresses/new"),
    Visit("wishlist", "shopper", "/account/wishlist"),
    Visit("account-delete", "shopper", "/account/delete"),
    Visit("orders", "shopper", "/account/orders"),
    Visit("order", "shopper", "/account/orders/{order_number}"),
]
FOOTER = [
    Visit("about", "newcomer", "/pages/about"),
    Visit("shipping-returns", "newcomer", "/pages/shipping-returns"),
    Visit("privacy", "newcomer", "/pages/privacy"),
    Visit("terms", "newcomer", "/pages/terms"),
    Visit("contact", "newcomer", "/pages/contact"),
    Visit("not-found", "newcomer", "/no-such-page", status=404),
]
ADMIN = [
    Visit("admin-dashboard", "owner", "/admin/"),
    Visit("admin-products", "owner", "/admin/products"),
    Visit("admin-product-form", "owner", "/admin/products/{product_id}"),
    Visit("admin-variants", "owner", "/admin/products/{product_id}/variants"),
    Visit("admin-images", "owner", "/admin/products/{product_id}/images"),
    Visit("admin-inventory", "owner", "/admin/inventory"),
    Visit("admin-categories", "owner", "/admin/categories"),
    Visit("admin-brands", "owner", "/admin/brands"),
    Visit("admin-orders", "owner", "/admin/orders"),
    Visit("admin-order", "owner", "/admin/orders/{order_id}"),
    Visit("admin-import", "owner", "/admin/import-export"),
    Visit("admin-reviews", "owner", "/admin/reviews"),
    Visit("admin-reports", "owner", "/admin/reports?from=2020-01-01&to=2020-03-31"),
    Visit("admin-customers", "owner", "/admin/customers"),
    Visit("admin-customer", "owner", "/admin/customers/{shopper_id}"),
    Visit("admin-coupons", "owner", "/admin/coupons"),
    Visit("admin-coupon-form", "owner", "/admin/coupons/new"),
    Visit("admin-shipping", "owner", "/admin/shipping"),
    Visit("admin-shipping-form", "owner", "/admin/shipping/new"),
    Visit("admin-tax", "owner", "/admin/tax"),
    Visit("admin-tax-form", "owner", "/admin/tax/new"),
    Visit("admin-pages", "owner", "/admin/pages"),
    Visit("admin-page-form", "owner", "/admin/pages/new?start=about"),
    Visit("admin-settings", "owner", "/admin/settings"),
    Visit("admin-audit", "owner", "/admin/audit"),
]


def open_visit(visitors: dict, storefront, visit: Visit, viewport: dict):
    """Open `visit` in a new tab of its visitor's context at `viewport`; return the tab, on the page."""
    tab = visitors[visit.who].new_page()
    tab.set_viewport_size(viewport)
    response = tab.goto(storefront.url + visit.path.format(**vars(storefront)))
    if visit.press:
        follow(tab.get_by_role("button", name=visit.press))
    else:
        assert response.status == visit.status, f"{visit.name}: {tab.url} answered {response.status}"
    return tab

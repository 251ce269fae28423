"""The owner's information pages (/pages/<slug>): About, Shipping & returns, Privacy, Terms, Contact, and more.

The footer links to the published ones (shop.services.content_pages); the older addresses of four
of them lead to their pages.
"""
from flask import Blueprint, Flask
from flask.blueprints import BlueprintSetupState

from shop.services import store_settings

bp = Blueprint("pages", __name__)


def _read_store_settings(state: BlueprintSetupState) -> None:
    # Every page shows the settings and the footer's links: read them once as the app starts, so no
    # shopper's request pays for the first read (and the statements a page runs stay the same).
    assert isinstance(state.app, Flask)
    store_settings.init_app(state.app)


bp.record_once(_read_store_settings)
bp.add_app_template_global(store_settings.footer_links, "footer_links")
bp.add_app_template_global(store_settings.get, "store_setting")

# The route modules register their views on bp.
from shop.pages import views  # noqa: E402,F401

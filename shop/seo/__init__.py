"""What search engines read: /sitemap.xml, /robots.txt, and the noindex rule of private and search pages.

The noindex rule is app-wide: robots_directive() feeds base.html's meta robots tag and the
X-Robots-Tag header of every response, page or not (CSV exports, invoices).
"""
from flask import Blueprint

bp = Blueprint("seo", __name__)

# The route modules register their views and app-wide hooks on bp.
from shop.seo import indexing, views  # noqa: E402,F401

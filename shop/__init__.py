"""The shop application factory."""
import os
from datetime import timedelta

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader
from werkzeug.middleware.proxy_fix import ProxyFix

from shop import config as shop_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app: config, security, extensions, blueprints, error pages, commands, template helpers."""
    app = Flask(
        __name__,
        instance_path=shop_config.instance_path(),
        instance_relative_config=True,
        template_folder=os.path.join(ROOT, "templates"),
        static_folder=os.path.join(ROOT, "static"),
    )
    configure(app, overrides or {})
    # The owner overrides any template (the footer's information pages, say) by putting a file of
    # the same relative path under instance/templates/.
    app.jinja_loader = ChoiceLoader([
        FileSystemLoader(os.path.join(app.instance_path, "templates")),
        FileSystemLoader(os.path.join(ROOT, "templates")),
    ])
    if app.config["PROXY_FIX"]:
        # Only what the README's proxy sends: the client address and the scheme. The host comes
        # from the Host header, checked against TRUSTED_HOSTS; a client's X-Forwarded-Host is ignored.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    register_security(app)
    register_operations(app)
    register_extensions(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_errorhandlers(app)
    register_commands(app)
    register_template_helpers(app)
    register_static_delivery(app)
    return app


def configure(app: Flask, overrides: dict) -> None:
    """Layer the configuration: defaults, instance/config.py, SHOP_* environment, overrides."""
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(shop_config.given_settings(app.instance_path))
    app.config.update(overrides)

    development = shop_config.is_development(app.config["ENV"])
    app.config["ENV"] = "development" if development else "production"
    app.config["BASE_URL"] = shop_config.checked_base_url(app.config["BASE_URL"], development)
    if app.config["TRUSTED_HOSTS"] is None:
        app.config["TRUSTED_HOSTS"] = shop_config.trusted_hosts(app.config["BASE_URL"], development, app.testing)
    # `flask shop check` tells a generated key from a given one.
    app.config["SECRET_KEY_GENERATED"] = not app.config.get("SECRET_KEY")
    if app.config["SECRET_KEY_GENERATED"]:
        app.config["SECRET_KEY"] = shop_config.load_or_create_secret_key(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = shop_config.database_uri(
            app.config["DATABASE_URL"], app.instance_path
        )
    if not app.config.get("MEDIA_PATH"):
        app.config["MEDIA_PATH"] = os.path.join(app.instance_path, "media")
    app.config["CURRENCY"] = shop_config.checked_currency(app.config["CURRENCY"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_pre_ping": True,
            **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
        }
    if app.config["SESSION_COOKIE_SECURE"]:
        # The __Host- prefix makes browsers refuse the cookie unless Secure, host-only, path /.
        app.config["SESSION_COOKIE_NAME"] = "__Host-session"
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=int(app.config["SESSION_LIFETIME_DAYS"]))
    # Only the test suite's own overrides switch the refusals off: SHOP_TESTING in a deployment's
    # environment must not.
    if app.config["ENV"] == "production" and not overrides.get("TESTING"):
        shop_config.refuse_unsafe_production(app.config)


def register_operations(app: Flask) -> None:
    """Request ids and logs, metrics, and the storage for uploaded images."""
    from shop.operations import logs, metrics, storage

    logs.register(app)
    metrics.register(app)
    storage.register(app)


def register_extensions(app: Flask) -> None:
    """Bind every extension object to the app."""
    from shop import database
    from shop.extensions import cache, csrf, db, limiter, login_manager, mail, migrate

    db.init_app(app)
    database.install_engine_hooks(app)
    import shop.services.catalogue_version  # noqa: F401  (its session hooks retire cached pages on every change)
    import shop.services.search_index  # noqa: F401  (its session hooks keep search in step with the catalogue)
    import shop.services.stock_alerts  # noqa: F401  (its session hooks email when stock runs low)
    migrate.init_app(app, db, directory=os.path.join(ROOT, "migrations"), render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    cache.init_app(app, config=shop_config.cache_settings(app.config["CACHE_URL"], app.config["CACHE_KEY_PREFIX"]))

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"

    from shop.auth.sessions import load_session_user

    @login_manager.user_loader
    def load_user(user_id: str):
        # One query loads the user with this browser's login row; without the row it is anonymous.
        return load_session_user(user_id)


def register_blueprints(app: Flask) -> None:
    """Attach the shop's blueprints."""
    from shop.account import bp as account_bp
    from shop.admin import bp as admin_bp
    from shop.auth import bp as auth_bp
    from shop.cart import bp as cart_bp
    from shop.catalog import bp as catalog_bp
    from shop.checkout import bp as checkout_bp
    from shop.core import bp as core_bp
    from shop.core.converters import IdConverter
    from shop.pages import bp as pages_bp
    from shop.seo import bp as seo_bp

    app.url_map.converters["id"] = IdConverter
    for blueprint in (core_bp, catalog_bp, auth_bp, account_bp, cart_bp, checkout_bp, admin_bp, pages_bp,
                      seo_bp):
        app.register_blueprint(blueprint)


def register_request_hooks(app: Flask) -> None:
    """End logins that are idle too long, too old, or ended elsewhere, before any view runs."""
    from shop.auth.sessions import enforce_session_limits

    app.before_request(enforce_session_limits)


def register_errorhandlers(app: Flask) -> None:
    """Render error pages in the shop's layout."""
    from shop.core.errors import register

    register(app)


def register_security(app: Flask) -> None:
    """Refuse foreign hosts before any other code runs; add the protective headers to every response."""
    from shop.core.security import register

    register(app)


def register_commands(app: Flask) -> None:
    """Add the `flask shop ...` command group."""
    from shop.cli import shop_group

    app.cli.add_command(shop_group)


def register_template_helpers(app: Flask) -> None:
    """Add the money filter, the values every page's header needs, and the admin navigation."""
    from shop.admin import sections
    from shop.core import templating

    templating.register(app)
    sections.register(app)


def register_static_delivery(app: Flask) -> None:
    """Version static URLs for long caching, compress text responses, and serve the favicon."""
    from shop.core import static_files

    static_files.register(app)

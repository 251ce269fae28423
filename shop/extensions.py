"""Extension objects, created once here and bound to the app in the factory."""
import smtplib
from typing import TYPE_CHECKING

import flask_mail
from flask import current_app
from flask_caching import Cache
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints keep migrations portable between SQLite and Postgres.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimeoutConnection(flask_mail.Connection):
    """An SMTP connection that gives up after MAIL_TIMEOUT seconds on connect and on every command.

    Flask-Mail 0.10 opens smtplib without a timeout, so a server that accepts and never answers
    would hold the sender forever.
    """

    def configure_host(self) -> smtplib.SMTP:
        smtp_class = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = smtp_class(self.mail.server, self.mail.port, timeout=float(current_app.config["MAIL_TIMEOUT"]))
        host.set_debuglevel(int(self.mail.debug))
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host

    def __exit__(self, exc_type, exc_value, tb) -> None:
        # QUIT on a broken connection would raise over the error that broke it.
        if self.host is None:
            return
        try:
            self.host.quit()
        except OSError:
            self.host.close()


class Mail(flask_mail.Mail):
    """Flask-Mail with a timeout on every SMTP connection (MAIL_TIMEOUT seconds)."""

    def connect(self) -> TimeoutConnection:
        """Return a connection to the mail host, opened on entering its `with` block."""
        return TimeoutConnection(current_app.extensions["mail"])


db = SQLAlchemy(model_class=Base)

# Models subclass Model: at run time Flask-SQLAlchemy's db.Model (bound to db, table names and all),
# and for the type checker the declarative base it is built on, so every model is a real type.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
mail = Mail()
limiter = Limiter(key_func=get_remote_address)
cache = Cache()  # per process, or in Redis when SHOP_CACHE_URL names it (bound in the factory)
compress = Compress()  # bound by shop.core.static_files, which decides what to compress

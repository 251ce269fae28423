"""Email through an outbox: queued in the caller's transaction, delivered by a background sender.

An SMTP outage therefore never undoes an order or a password change, and no request waits on
the SMTP server; undelivered emails stay in the outbox and `flask shop send-emails` (or the next
delivery) retries them.
"""
import smtplib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, after_this_request, current_app, g, has_request_context, render_template, url_for
from flask_mail import Message

from shop.config import DEVELOPMENT_BASE_URL
from shop.database import end_read_transaction, rows_changed, write_transaction
from shop.extensions import db, mail
from shop.models import OutboxEmail
from shop.models.base import now_utc
from shop.services import store_settings

MAX_ATTEMPTS = 10
CLAIM = timedelta(minutes=5)  # how long a sender holds an email it is sending


def queue_email(recipient: str, subject: str, template: str, **context) -> OutboxEmail:
    """Render templates/email/<template>.{txt,html} and add the email to the session's outbox.

    The caller commits; nothing is sent until then. Queued during a request, the email goes out
    from the background sender once the response has been sent.
    """
    context.setdefault("shop_name", store_settings.get("shop_name"))
    # The branded header links home; the footer's contact details come from the templates' shop context.
    context.setdefault("shop_url", external_url("catalog.home"))
    email = OutboxEmail(
        recipient=recipient,
        subject=subject,
        body_text=render_template(f"email/{template}.txt", **context),
        body_html=render_template(f"email/{template}.html", **context),
    )
    db.session.add(email)
    if has_request_context():
        _wake_sender_after_response()
    return email


def sender() -> str:
    """Return the From of every email: MAIL_DEFAULT_SENDER, named after the shop when it is a bare address."""
    configured = current_app.config["MAIL_DEFAULT_SENDER"]
    if isinstance(configured, list | tuple):  # Flask-Mail's (name, address) form
        name, address = configured
    else:
        name, address = parseaddr(str(configured))
    return formataddr((name or store_settings.get("shop_name"), address))


def external_url(endpoint: str, **values) -> str:
    """Return an absolute link for an email, built on SHOP_BASE_URL and never on request headers.

    Only development runs without BASE_URL; its requests can only name a loopback host
    (TRUSTED_HOSTS; under test, the host the test chose), so there the link may follow the
    address the developer used.
    """
    base_url = current_app.config.get("BASE_URL")
    if not base_url:
        if has_request_context():
            return url_for(endpoint, _external=True, **values)
        base_url = DEVELOPMENT_BASE_URL
    parts = urlsplit(base_url)
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    return adapter.build(endpoint, values, force_external=True)


def deliver_pending(limit: int = 50) -> tuple[int, int]:
    """Send due emails from the outbox over one SMTP connection; return (sent, failed).

    Any number of senders may run at once (each worker's background sender, `send-emails` from
    cron on every machine): each takes the oldest due email no other sender holds and claims it in
    a short transaction of its own, so they share the work and each email goes once. An email the
    server refuses is retried later with backoff, at most MAX_ATTEMPTS times. A server that is
    unreachable, silent or hangs up is no fault of the emails: the run stops at once (one
    MAIL_TIMEOUT, however many are queued), the error is noted on the emails still waiting and no
    attempt is counted, so they all go as soon as it answers.
    """
    now = now_utc()
    end_read_transaction()
    anything_due = db.session.scalar(sa.select(OutboxEmail.id).where(*_due(now)).limit(1)) is not None
    end_read_transaction()
    sent = failed = 0
    if not anything_due:
        return sent, failed
    in_flight: int | None = None
    try:
        with mail.connect() as connection:
            while sent + failed < limit and (claimed := _claim_next(now)) is not None:
                in_flight = claimed.email_id
                if _send(connection, claimed):
                    sent += 1
                else:
                    failed += 1
                in_flight = None
    except OSError as error:  # connecting, TLS, login, or the connection broke: the server's fault
        failed += _note_outage(now, in_flight, error)
    return sent, failed


def _due(now: datetime) -> list[sa.ColumnElement[bool]]:
    return [OutboxEmail.sent_at.is_(None), OutboxEmail.next_attempt_at <= now, OutboxEmail.attempts < MAX_ATTEMPTS]


@dataclass(frozen=True)
class _Claimed:
    email_id: int
    recipient: str
    attempts: int
    message: Message


def _claim_next(now: datetime) -> _Claimed | None:
    """Claim the oldest due email that no other sender holds; None when none is left.

    The claim pushes the next attempt five minutes on, so no other sender takes the email while
    it goes. Postgres passes over a row another sender is claiming at this instant (SKIP LOCKED)
    instead of waiting for it and then finding it taken; on SQLite the transaction begins as the
    only writer, so nothing comes between the read and the claim. The transaction ends before the
    SMTP server is asked.
    """
    with write_transaction():
        email = db.session.scalar(
            sa.select(OutboxEmail).where(*_due(now)).order_by(OutboxEmail.id).limit(1)
            .with_for_update(skip_locked=True)
        )
        if email is None:
            return None
        email.next_attempt_at = now_utc() + CLAIM
        email.attempts += 1
        message = Message(subject=email.subject, recipients=[email.recipient], body=email.body_text,
                          html=email.body_html, sender=sender())
        return _Claimed(email.id, email.recipient, email.attempts, message)


def _send(connection, claimed: _Claimed) -> bool:
    """Send a claimed email and record the outcome; return whether it went.

    A refusal is recorded with backoff; a broken connection is raised to end the run.
    """
    try:
        connection.send(claimed.message)
    except Exception as error:
        if _connection_lost(error):
            raise  # the claim holds it for five minutes: it may have gone before the line dropped
        outcome = {
            "last_error": _describe(error),
            "next_attempt_at": now_utc() + timedelta(minutes=min(2 ** claimed.attempts, 240)),
        }
        current_app.logger.warning("Email %s to %s not sent: %s", claimed.email_id, claimed.recipient, error)
        delivered = False
    else:
        outcome = {"sent_at": now_utc(), "last_error": ""}
        delivered = True
    with write_transaction():
        db.session.execute(sa.update(OutboxEmail).where(OutboxEmail.id == claimed.email_id).values(**outcome))
    return delivered


def _connection_lost(error: Exception) -> bool:
    """Tell a broken or silent connection from the server refusing this one email."""
    refusals = (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused)
    return isinstance(error, OSError) and not isinstance(error, refusals)


def _note_outage(now: datetime, in_flight: int | None, error: OSError) -> int:
    """Record why the due emails (and the one that was going) wait, without counting an attempt or
    deferring them; return how many wait."""
    with write_transaction():
        waiting = rows_changed(
            sa.update(OutboxEmail)
            .where(OutboxEmail.sent_at.is_(None), sa.or_(OutboxEmail.id == in_flight, sa.and_(*_due(now))))
            .values(last_error=_describe(error))
        )
    current_app.logger.warning("SMTP server unavailable, %d email(s) stay queued: %s", waiting, error)
    return waiting


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


class OutboxSender:
    """One background thread per process that delivers the outbox whenever it is woken.

    Requests only wake it, so no thread or worker that serves requests waits on the SMTP server.
    The thread starts on first use, again in a forked child (threads do not survive a fork, so
    the old one is no longer alive there), and ends after IDLE_SECONDS with nothing to do.
    """

    IDLE_SECONDS = 60

    def __init__(self, app: Flask):
        self.app = app
        self.changed = threading.Condition()
        self.pending = False
        self.busy = False
        self.thread: threading.Thread | None = None

    def wake(self) -> None:
        """Have the thread deliver what is due, starting it if needed."""
        with self.changed:
            self.pending = True
            if self.thread is None or not self.thread.is_alive():
                self.busy = False
                self.thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)
                self.thread.start()
            self.changed.notify_all()

    def wait_until_idle(self, timeout: float) -> bool:
        """Wait until nothing is pending or being sent; return False if that takes over `timeout` s."""
        with self.changed:
            return self.changed.wait_for(lambda: not (self.pending or self.busy), timeout)

    def _run(self) -> None:
        while True:
            with self.changed:
                if not self.changed.wait_for(lambda: self.pending, self.IDLE_SECONDS):
                    self.thread = None
                    return
                self.pending, self.busy = False, True
            try:
                with self.app.app_context():
                    deliver_pending()
            except Exception:  # the outbox keeps the emails; the next wake-up or cron retries them
                self.app.logger.exception("Outbox delivery failed; emails stay queued")
            finally:
                with self.changed:
                    self.busy = False
                    self.changed.notify_all()


def outbox_sender(app: Flask) -> OutboxSender:
    """Return the app's background sender (its thread starts on the first wake-up)."""
    sender = app.extensions.get("outbox_sender")
    if sender is None:
        sender = app.extensions.setdefault("outbox_sender", OutboxSender(app))
    return sender


def _wake_sender_after_response() -> None:
    """Wake the background sender once this request's response has gone out (once per request).

    By then the email's transaction has committed, and a password-reset request has answered in
    the same time whether or not the account exists.
    """
    if g.get("outbox_wake_scheduled"):
        return
    g.outbox_wake_scheduled = True
    sender = outbox_sender(current_app._get_current_object())  # type: ignore[attr-defined]  # the proxy's app

    @after_this_request
    def wake_on_close(response):
        response.call_on_close(sender.wake)
        return response

"""Email through an outbox: queued in the caller's transaction, delivered after the response.

An SMTP outage therefore never undoes an order or a password change; undelivered emails stay
in the outbox and `flask shop send-emails` (or the next successful delivery) retries them.
"""
from datetime import timedelta

import sqlalchemy as sa
from flask import after_this_request, current_app, g, has_request_context, render_template, url_for
from flask_mail import Message

from shop.extensions import db, mail
from shop.models import OutboxEmail
from shop.models.base import now_utc

MAX_ATTEMPTS = 10


def queue_email(recipient: str, subject: str, template: str, **context) -> OutboxEmail:
    """Render templates/email/<template>.{txt,html} and add the email to the session's outbox.

    The caller commits; nothing is sent until then. Queued during a request, the email goes out
    once the response has been sent.
    """
    context.setdefault("shop_name", current_app.config["SHOP_NAME"])
    email = OutboxEmail(
        recipient=recipient,
        subject=subject,
        body_text=render_template(f"email/{template}.txt", **context),
        body_html=render_template(f"email/{template}.html", **context),
    )
    db.session.add(email)
    if has_request_context():
        _deliver_after_response()
    return email


def external_url(endpoint: str, **values) -> str:
    """Return an absolute link for an email, from the request or, in the CLI, from SHOP_BASE_URL."""
    if has_request_context() or current_app.config.get("SERVER_NAME"):
        return url_for(endpoint, _external=True, **values)
    base_url = current_app.config.get("BASE_URL") or "http://localhost:5000"
    with current_app.test_request_context(base_url=base_url):
        return url_for(endpoint, _external=True, **values)


def deliver_pending(limit: int = 50) -> tuple[int, int]:
    """Try to send due emails from the outbox; return (sent, failed).

    Each email is claimed and updated in its own short transaction so one bad address or an
    SMTP outage does not hold locks or stop the others.
    """
    now = now_utc()
    due_ids = list(
        db.session.scalars(
            sa.select(OutboxEmail.id)
            .where(OutboxEmail.sent_at.is_(None), OutboxEmail.next_attempt_at <= now,
                   OutboxEmail.attempts < MAX_ATTEMPTS)
            .order_by(OutboxEmail.id)
            .limit(limit)
        )
    )
    db.session.commit()
    sent = failed = 0
    for email_id in due_ids:
        # Claim by pushing the next attempt forward; a concurrent sender skips the row.
        claimed = db.session.execute(
            sa.update(OutboxEmail)
            .where(OutboxEmail.id == email_id, OutboxEmail.sent_at.is_(None),
                   OutboxEmail.next_attempt_at <= now)
            .values(next_attempt_at=now + timedelta(minutes=5), attempts=OutboxEmail.attempts + 1)
        ).rowcount
        db.session.commit()
        if not claimed:
            continue
        email = db.session.get(OutboxEmail, email_id)
        message = Message(subject=email.subject, recipients=[email.recipient],
                          body=email.body_text, html=email.body_html)
        recipient, attempts = email.recipient, email.attempts
        db.session.commit()  # no transaction stays open while the SMTP server answers
        try:
            mail.send(message)
        except Exception as error:  # any SMTP or socket failure leaves the email queued
            outcome = {
                "last_error": f"{type(error).__name__}: {error}"[:2000],
                "next_attempt_at": now_utc() + timedelta(minutes=min(2 ** attempts, 240)),
            }
            failed += 1
            current_app.logger.warning("Email %s to %s not sent: %s", email_id, recipient, error)
        else:
            outcome = {"sent_at": now_utc(), "last_error": ""}
            sent += 1
        db.session.execute(sa.update(OutboxEmail).where(OutboxEmail.id == email_id).values(**outcome))
        db.session.commit()
    return sent, failed


def _deliver_after_response() -> None:
    """Send what this request queued once its response has gone out (once per request).

    The shopper never waits on the SMTP server, and a password-reset request answers in the
    same time whether or not the account exists. A mail failure leaves the email queued.
    """
    if g.get("outbox_delivery_scheduled"):
        return
    g.outbox_delivery_scheduled = True
    app = current_app._get_current_object()

    def deliver() -> None:
        with app.app_context():
            try:
                deliver_pending(limit=10)
            except Exception:  # the outbox keeps the email; the shopper's action already succeeded
                db.session.rollback()
                app.logger.exception("Outbox delivery failed; emails stay queued")

    @after_this_request
    def deliver_on_close(response):
        response.call_on_close(deliver)
        return response

"""The outbox: every email is a row written in the caller's transaction, then delivered by a job.

A crash after the change commits cannot lose its message (the row committed with it), and a
crash before loses both. Delivery claims a row (pending → sending in one UPDATE), sends it, and
marks it sent; a failed attempt goes back to pending with a later ``next_attempt_at``
(exponential backoff) until ``OUTBOX_MAX_ATTEMPTS``, then it is failed. The intake's
Notification follows the row, so the record shows pending, sent or failed and why.

Interface for other packages (docs/jobs.md): ``enqueue(...)`` in the caller's transaction; the
commit dispatches delivery. ``deliver_due()`` runs on the scheduler and retries what is due.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
from collections.abc import Mapping

from flask import current_app
from flask_mailman import EmailMultiAlternatives
from sqlalchemy import event, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import jobs
from ..audit import record
from ..clock import utcnow
from ..extensions import db
from ..models import Intake, Notification, NotificationStatus, OutboxMessage, OutboxState
from .backends import EmailNotConfigured

DELIVER = "outbox.deliver"
DELIVER_DUE = "outbox.deliver_due"
#: What the audit summary says of an email about an intake (a staff digest is about none).
_TO_PATIENT = " to the patient"
#: Session.info key: ids of rows enqueued in the open transaction, dispatched once it commits.
_ENQUEUED = "outbox_enqueued"


def idempotency_key(*parts: object) -> str:
    """A key from what makes a message the one it is (e.g. its kind, intake and link), hashed to a fixed length."""
    return hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()


def enqueue(message_kind: str, to: str, subject: str, text: str, html: str | None = None, *,
            intake_id: int | None = None, idempotency_key: str, actor: str = "system",
            language: str = "", headers: Mapping[str, str] | None = None, notify: bool = True) -> OutboxMessage:
    """Add an email to the outbox in the caller's transaction; the caller commits. Returns the row.

    The same ``idempotency_key`` twice returns the row already there and adds nothing. With an
    ``intake_id`` a pending Notification is added too (unless ``notify`` is off: a reminder's
    row shows its message instead): the record shows the message and how it went. ``headers``
    go out with it (List-Unsubscribe, say). Delivery starts when the transaction commits (on
    the queue, or at once without a broker).
    """
    existing = db.session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == idempotency_key))
    if existing is not None:
        return existing
    notification = None
    if intake_id is not None and notify:
        notification = Notification(intake_id=intake_id, kind=message_kind, status=NotificationStatus.PENDING,
                                    actor=actor)
        db.session.add(notification)
    message = OutboxMessage(idempotency_key=idempotency_key, kind=message_kind, intake_id=intake_id,
                            recipient=to, subject=subject, text=text, html=html, actor=actor, language=language,
                            headers=dict(headers) if headers else None, state=OutboxState.PENDING, attempts=0,
                            next_attempt_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(message)
            db.session.flush()
    except IntegrityError:
        # Another transaction enqueued the same key first: that one is the message.
        if notification is not None:
            db.session.expunge(notification)
        return db.session.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key == idempotency_key)).one()
    if notification is not None:
        db.session.flush()
        message.notification_id = notification.id
    db.session.info.setdefault(_ENQUEUED, []).append(message.id)
    return message


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        # A savepoint's release (enqueue's own, say) fires this too, inside the transaction: its rows are not
        # committed yet, and delivering them now would wait on this very transaction's lock (SQLite) or find
        # nothing (PostgreSQL).
        return
    ids = session.info.pop(_ENQUEUED, [])
    for message_id in ids:
        try:
            jobs.dispatch(DELIVER, message_id)
        except Exception:  # noqa: BLE001 - the message is committed: deliver_due sends it (broker down, say)
            current_app.logger.exception("outbox message %s: delivery not dispatched; deliver_due will send it",
                                         message_id)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_ENQUEUED, None)


def _claim(message_id: int) -> bool:
    """Move a due row from pending to sending (or take back one whose sender died); True if this caller got it."""
    now = utcnow()
    lease = dt.timedelta(seconds=float(current_app.config["OUTBOX_SENDING_LEASE_SECONDS"]))
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.next_attempt_at <= now,
               or_(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.state == OutboxState.SENDING))
        .values(state=OutboxState.SENDING, attempts=OutboxMessage.attempts + 1, next_attempt_at=now + lease)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return bool(claimed.rowcount)  # type: ignore[attr-defined]  # CursorResult's


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failed attempt: OUTBOX_RETRY_SECONDS, doubling each time."""
    base = float(current_app.config["OUTBOX_RETRY_SECONDS"])
    return dt.timedelta(seconds=base * 2 ** max(attempts - 1, 0))


def _send(message: OutboxMessage) -> None:
    config = current_app.config
    email = EmailMultiAlternatives(subject=message.subject, body=message.text, from_email=config["MAIL_DEFAULT_SENDER"],
                                   to=[message.recipient],
                                   # The same Message-ID on every attempt: a receiver can drop a second copy.
                                   headers={**(message.headers or {}),
                                            "Message-ID": f"<{message.idempotency_key[:40]}@{_host()}>",
                                            **({"Content-Language": message.language} if message.language else {})})
    if message.html:
        email.attach_alternative(message.html, "text/html")
    connection = current_app.extensions["mailman"].get_connection()
    connection.open()
    # The SMTP backend drops its socket unclosed when QUIT fails after a refusal: close it here.
    smtp = getattr(connection, "connection", None)
    try:
        connection.send_messages([email])
    finally:
        try:
            connection.close()
        finally:
            if smtp is not None:
                smtp.close()


def _host() -> str:
    sender = str(current_app.config.get("MAIL_DEFAULT_SENDER") or "")
    return sender.rpartition("@")[2] or socket.getfqdn()


@jobs.job(DELIVER)
def deliver(message_id: int) -> str:
    """Send one outbox row if it is due and nobody else holds it; the row's state afterwards."""
    if not _claim(message_id):
        row = db.session.get(OutboxMessage, message_id)
        return row.state if row else "gone"
    message = db.session.get_one(OutboxMessage, message_id)
    intake = db.session.get(Intake, message.intake_id) if message.intake_id else None
    notification = db.session.get(Notification, message.notification_id) if message.notification_id else None
    try:
        _send(message)
    except Exception as error:  # noqa: BLE001 - any transport failure: record it, retry later or give up
        db.session.rollback()
        message = db.session.get_one(OutboxMessage, message_id)
        notification = db.session.get(Notification, message.notification_id) if message.notification_id else None
        # Trying again cannot help when no mail server is set up: that fails at once.
        permanent = isinstance(error, EmailNotConfigured)
        last = permanent or message.attempts >= int(current_app.config["OUTBOX_MAX_ATTEMPTS"])
        message.last_error = f"{type(error).__name__}: {error}"[:300]
        message.state = OutboxState.FAILED if last else OutboxState.PENDING
        message.next_attempt_at = utcnow() + backoff(message.attempts)
        current_app.logger.warning("Outbox message %s (attempt %s) failed: %s", message_id, message.attempts, error)
        if notification is not None:
            notification.status = NotificationStatus.FAILED if last else NotificationStatus.PENDING
            notification.error = message.last_error
        record(message.actor, "link.email_failed" if intake is not None else "mail.failed", intake,
               f"Email{_TO_PATIENT if intake is not None else ''} failed ({message.kind}, attempt {message.attempts}"
               f"{'' if last else ', will retry'})", reason=message.kind, attempts=message.attempts,
               will_retry=not last)
        db.session.commit()
        return message.state
    message.state, message.sent_at, message.last_error = OutboxState.SENT, utcnow(), ""
    if notification is not None:
        notification.status, notification.error = NotificationStatus.SENT, ""
    record(message.actor, "link.emailed" if intake is not None else "mail.sent", intake,
           f"Email sent{_TO_PATIENT if intake is not None else ''} ({message.kind})", reason=message.kind,
           attempts=message.attempts)
    db.session.commit()
    return OutboxState.SENT


@jobs.periodic(DELIVER_DUE, every=30, setting="OUTBOX_EVERY_SECONDS")
def deliver_due(limit: int = 500) -> int:
    """Send every row that is due (new, a retry whose time has come, or one whose sender died); how many sent."""
    due = list(db.session.scalars(
        select(OutboxMessage.id)
        .where(or_(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.state == OutboxState.SENDING),
               OutboxMessage.next_attempt_at <= utcnow())
        .order_by(OutboxMessage.next_attempt_at).limit(limit)))
    db.session.commit()
    return sum(deliver(message_id) == OutboxState.SENT for message_id in due)

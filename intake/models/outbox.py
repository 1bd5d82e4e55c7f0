"""Email waiting to go out: the outbox, written in the same transaction as the change that caused it."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import Model
from ..protection.encryption import EncryptedJSON, EncryptedText


class OutboxState(enum.StrEnum):
    """pending → sending → sent, or back to pending (a retry later), or failed after the last attempt."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(Model):
    """One email: who to, what it says (encrypted: it may hold a patient's private link) and how its sending went.

    ``idempotency_key`` is unique: enqueuing the same message twice (a retried request or job)
    adds nothing. Delivery claims a row by moving it from pending to sending in one UPDATE, so two
    workers never send the same row (intake.outbox).
    """

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    #: What the message is for ("invitation", "decision", "reminder", ...): the Notification's kind.
    kind: Mapped[str] = mapped_column(String(40))
    intake_id: Mapped[int | None] = mapped_column(
        ForeignKey("intake.id", ondelete="CASCADE", name="fk_outbox_message_intake_id"), index=True)
    #: The Notification the record shows for this message (when it is about an intake).
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification.id", ondelete="SET NULL", name="fk_outbox_message_notification_id"))
    recipient: Mapped[str] = mapped_column(EncryptedText)
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(EncryptedText)
    html: Mapped[str | None] = mapped_column(EncryptedText)
    #: The language the message is written in (a BCP 47 tag: its Content-Language header); "" not said.
    language: Mapped[str] = mapped_column(String(16), default="", server_default="")
    #: Headers the email carries besides its own (a reminder's List-Unsubscribe, List-Unsubscribe-Post);
    #: encrypted like the text: the unsubscribe link is a signed link to the patient's intake.
    headers: Mapped[dict[str, str] | None] = mapped_column(EncryptedJSON)
    #: One of OutboxState.
    state: Mapped[str] = mapped_column(String(20), default=OutboxState.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    #: When a pending row may be tried (again); when a sending row's claim runs out.
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    actor: Mapped[str] = mapped_column(String(80), default="system")

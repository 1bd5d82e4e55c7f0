"""Reminders: each one due, under its unique key, and what became of it (no health data here); and the
reminder settings an admin saved."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..extensions import Model
from .outbox import OutboxMessage, OutboxState


class ReminderStatus(enum.StrEnum):
    #: Handed to the outbox (its message says sent, waiting or failed: ``Reminder.outcome``).
    QUEUED = "queued"
    #: Claimed and being sent by a pass before the outbox carried reminders (an interrupted one stays so).
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"


class Reminder(Model):
    """One reminder (intake.reminders.due), stored under its key before it is sent.

    The unique key is what makes "at most once" hold with several schedulers: a pass inserts
    the row in its own transaction and sends only if its insert went in.
    """

    __tablename__ = "reminder"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "<intake>:<kind>:<day>:<appointment or session>" (":reopened<decision>" after a reopening), or
    #: "digest:<day>:<staff>" (intake.reminders.due).
    key: Mapped[str] = mapped_column(String(120), unique=True)
    #: One of intake.reminders.due.KINDS.
    kind: Mapped[str] = mapped_column(String(20))
    intake_id: Mapped[int | None] = mapped_column(
        ForeignKey("intake.id", ondelete="CASCADE", name="fk_reminder_intake_id"), index=True)
    #: The member of staff a digest went to.
    staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE", name="fk_reminder_staff_user_id"))
    #: The clinic's day the reminder was for.
    due_on: Mapped[dt.date]
    #: One of ReminderStatus.
    status: Mapped[str] = mapped_column(String(20))
    #: Why it was skipped or failed, in words for staff.
    reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    #: The outbox message that carries it (a queued reminder): its state is the reminder's outcome.
    outbox_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_message.id", ondelete="SET NULL", name="fk_reminder_outbox_message_id"))

    outbox_message: Mapped[OutboxMessage | None] = relationship()

    @property
    def outcome(self) -> str:
        """What became of it: sent, failed or queued (waiting in the outbox, or retrying) as its message says;
        skipped (or, for one sent before the outbox, its own status) as the row says."""
        message = self.outbox_message
        if message is None:
            return self.status
        if message.state in (OutboxState.SENT, OutboxState.FAILED):
            return str(message.state)
        return ReminderStatus.QUEUED

    @property
    def outcome_at(self) -> dt.datetime | None:
        """When it was sent."""
        return self.outbox_message.sent_at if self.outbox_message is not None else self.sent_at

    @property
    def outcome_reason(self) -> str:
        """Why it was skipped, or why its last attempt failed (a waiting one is being tried again)."""
        return self.outbox_message.last_error if self.outbox_message is not None else self.reason


class SavedReminderSettings(Model):
    """One row: the reminders as an admin set them on the reminders settings page.

    Until an admin first saves, there is no row and the REMINDERS_* settings are in force;
    from then on the row holds every value (intake.reminders.settings).
    """

    __tablename__ = "reminder_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Whether invited patients whose form is not sent are reminded.
    unsubmitted: Mapped[bool]
    #: Days before the appointment they are reminded, comma-separated, most first ("3,1"); kept while off.
    unsubmitted_days: Mapped[str] = mapped_column(String(100))
    unsubmitted_hour: Mapped[int]
    instructions: Mapped[bool]
    instruction_hour: Mapped[int]
    day_before: Mapped[bool]
    day_before_hour: Mapped[int]
    digest: Mapped[bool]
    digest_hour: Mapped[int]
    #: What the day-before reminder asks the patient to bring ("": not said).
    what_to_bring: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL", name="fk_reminder_settings_updated_by"))

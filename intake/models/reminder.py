"""Reminders: each one due, under its unique key, and what became of it (no health data here)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import Model


class ReminderStatus(enum.StrEnum):
    #: Claimed by a pass and being sent (stays so if the pass died mid-way: never sent twice).
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
    #: "<intake>:<kind>:<day>:<appointment or session>" or "digest:<day>:<staff>" (intake.reminders.due).
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

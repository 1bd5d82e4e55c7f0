"""Reminder helpers: a pass at a clinic time, the reminders stored, an invited patient, a submitted one."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from intake.extensions import db
from intake.models import Intake, Reminder
from intake.reminders.send import send_due_reminders
from intake.review.service import invite_patient
from tests.support.patient import complete, start, submit

LONDON = ZoneInfo("Europe/London")
APPOINTMENT = dt.date(2026, 12, 9)  # tests.support.patient.APPOINTMENT


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


def run(app, now: dt.datetime):
    with app.app_context():
        return send_due_reminders(now)


def rows(app) -> list[tuple[str, str, str]]:
    """Each reminder's kind and outcome (as its outbox message says, for one written there) and why."""
    with app.app_context():
        return [(r.kind, r.outcome, r.outcome_reason)
                for r in db.session.scalars(select(Reminder).order_by(Reminder.id))]


def invite(app, name="Ruth Ellis", email="ruth@example.org", appointment=APPOINTMENT) -> tuple[int, str]:
    """An invited patient and their private link's token."""
    with app.app_context():
        intake, token = invite_patient(name, email, appointment, "staff:1")
        # Invited a week before today's pin, so that no reminder falls on the day of the invitation.
        db.session.execute(update(Intake).where(Intake.id == intake.id).values(
            invited_at=dt.datetime(2026, 11, 18, 9, tzinfo=dt.UTC)))
        db.session.commit()
        return intake.id, token


def invited(app, name="Ruth Ellis", email="ruth@example.org", appointment=APPOINTMENT) -> int:
    return invite(app, name, email, appointment)[0]


def submitted_patient(app, forms) -> tuple[str, int]:
    """A submitted intake (appointment 9 December, instructions from 25 November, 2, 7 and 9 December)."""
    token = start(forms)
    complete(forms, token)
    assert submit(forms, token).status_code == 302
    with app.app_context():
        return token, db.session.scalar(select(Intake.id).order_by(Intake.id.desc()).limit(1))

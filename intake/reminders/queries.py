"""What reminders read: the facts the core decides on, the digest's intakes, and the record's list."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from ..clock import as_utc
from ..extensions import db
from ..models import Decision, Intake, IntakeStatus, Outcome, Reminder, ReviewStatus, StaffUser
from ..patient.queries import patient_status
from .due import IntakeFacts, ReminderSettings, Stage, TimedInstruction, digest_days

#: The patient status page's kinds, as the core's stages.
STAGES = {"awaiting_review": Stage.AWAITING_REVIEW, "approved": Stage.APPROVED, "deferred": Stage.DEFERRED}
#: Review statuses whose patient may still get instruction or day-before reminders.
OPEN_STATUSES = (ReviewStatus.AWAITING_REVIEW, ReviewStatus.APPROVED, ReviewStatus.APPROVED_WITH_PRECAUTIONS,
                 ReviewStatus.DEFERRED)
#: How far back an appointment may lie for its agreed plan's later sessions to still be reminded.
PLAN_HORIZON = dt.timedelta(days=365)


def draft_facts(today: dt.date, settings: ReminderSettings) -> list[IntakeFacts]:
    """Forms not sent whose appointment falls within the form reminders' reach: invited drafts, and intakes
    reopened for more answers with the decision that reopened them (columns only, no documents)."""
    if not settings.unsubmitted_days:
        return []
    rows = db.session.execute(
        select(Intake.id, Intake.status, Intake.appointment_date, Intake.invited_at, Intake.started_at,
               Intake.email, Intake.reminders_stopped_at, Intake.link_revoked_at)
        .where(or_(and_(Intake.status == IntakeStatus.DRAFT, Intake.invited_at.is_not(None)),
                   Intake.status == IntakeStatus.REOPENED),
               Intake.appointment_date.between(today, today + dt.timedelta(days=max(settings.unsubmitted_days))))
        .order_by(Intake.id)).all()
    reopenings = _reopenings([row.id for row in rows if row.status == IntakeStatus.REOPENED])
    found = []
    for row in rows:
        reopened_by, reopened_at = reopenings.get(row.id, (None, None))
        found.append(IntakeFacts(
            row.id, Stage.REOPENED if row.status == IntakeStatus.REOPENED else Stage.DRAFT, row.appointment_date,
            invited_at=as_utc(row.invited_at), reopened_by=reopened_by, reopened_at=reopened_at,
            started=row.started_at is not None, has_email=bool(row.email),
            stopped=row.reminders_stopped_at is not None, link_revoked=row.link_revoked_at is not None))
    return found


def _reopenings(intake_ids: list[int]) -> dict[int, tuple[int, dt.datetime | None]]:
    """Each reopened intake's latest "more information needed" decision: its id and when it was signed."""
    if not intake_ids:
        return {}
    rows = db.session.execute(
        select(Decision.intake_id, Decision.id, Decision.signed_at)
        .where(Decision.intake_id.in_(intake_ids), Decision.outcome == Outcome.MORE_INFORMATION_NEEDED)
        .order_by(Decision.id))
    return {row.intake_id: (row.id, as_utc(row.signed_at)) for row in rows}  # the latest wins


def submitted_facts(today: dt.date, settings: ReminderSettings) -> list[IntakeFacts]:
    """Submitted intakes whose patient holds dated instructions or an appointment ahead."""
    if not (settings.instructions or settings.day_before):
        return []
    intakes = db.session.scalars(
        select(Intake).where(Intake.status == IntakeStatus.SUBMITTED, Intake.review_status.in_(OPEN_STATUSES),
                             or_(Intake.appointment_date.is_(None), Intake.appointment_date >= today - PLAN_HORIZON))
        .order_by(Intake.id))
    found = []
    for intake in intakes:
        status = patient_status(intake, today)
        stage = STAGES.get(status.kind, Stage.CLOSED)
        assessment = intake.latest_assessment
        document = assessment.document if assessment is not None else {}
        found.append(IntakeFacts(
            intake.id, stage, intake.appointment_date, has_email=bool(intake.email),
            stopped=intake.reminders_stopped_at is not None, link_revoked=intake.link_revoked_at is not None,
            plan=status.plan if stage != Stage.DEFERRED else None, not_before=status.defer_until,
            instructions=tuple(TimedInstruction.from_document(item) for item in document.get("instructions") or [])))
    return found


@dataclass(frozen=True)
class DigestLine:
    intake_id: int
    full_name: str
    appointment: dt.date


def digest_lines(today: dt.date) -> list[DigestLine]:
    """Intakes awaiting review for today's and tomorrow's appointments, earliest first."""
    first, last = digest_days(today)
    rows = db.session.execute(
        select(Intake.id, Intake.full_name, Intake.appointment_date)
        .where(Intake.review_status == ReviewStatus.AWAITING_REVIEW, Intake.appointment_date.between(first, last))
        .order_by(Intake.appointment_date, Intake.id))
    return [DigestLine(row.id, row.full_name or "", row.appointment_date) for row in rows]


def active_staff_ids() -> list[int]:
    return list(db.session.scalars(select(StaffUser.id).where(StaffUser.active.is_(True)).order_by(StaffUser.id)))


def reminders_of(intake: Intake) -> list[Reminder]:
    """The intake's reminders, newest first (the record's block)."""
    return list(db.session.scalars(
        select(Reminder).options(joinedload(Reminder.outbox_message))
        .where(Reminder.intake_id == intake.id).order_by(Reminder.id.desc())))


"""State changes of an intake. Each one writes its audit entry; views call these, nothing else writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm.exc import StaleDataError

from .answers import SECTIONS, dump_answers, load_answers
from .assessment import Ruleset, assess
from .extensions import db
from .models import Assessment, AuditEntry, Intake, IntakeStatus, hash_token, new_token, utcnow


class AlreadySubmitted(Exception):
    """The intake was submitted before; its answers can no longer change."""


def clinic_today() -> dt.date:
    """Today in the clinic's time zone (tests pin it with the TODAY setting)."""
    pinned = current_app.config.get("TODAY")
    if pinned is not None:
        return pinned
    return dt.datetime.now(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def record(actor: str, action: str, intake: Intake | None, summary: str = "", **data: Any) -> AuditEntry:
    """Add an audit entry to the current transaction."""
    entry = AuditEntry(
        actor=actor, action=action, intake_id=intake.id if intake else None, summary=summary, data=data
    )
    db.session.add(entry)
    return entry


def find_intake_by_token(token: str) -> Intake | None:
    """The intake a patient link opens, or None (the caller answers the same for any miss)."""
    if not token or len(token) > 100:
        return None
    return db.session.scalar(select(Intake).where(Intake.token_hash == hash_token(token)))


def start_intake(prefill: Mapping[str, Any] | None = None) -> tuple[Intake, str]:
    """Create a draft intake; returns it with the private link token (shown once, stored hashed)."""
    token = new_token()
    intake = Intake(token_hash=hash_token(token), status=IntakeStatus.DRAFT, answers={})
    if prefill:
        intake.answers = {"about": dict(prefill)}
        _copy_contact_details(intake)
    db.session.add(intake)
    db.session.flush()
    record("patient", "intake.started", intake, "Intake started")
    db.session.commit()
    return intake, token


def _copy_contact_details(intake: Intake) -> None:
    # Kept in columns so the queue can filter and sort without reading every document.
    about = intake.answers.get("about") or {}
    intake.full_name = about.get("full_name") or None
    intake.email = about.get("email") or None
    appointment = about.get("appointment_date")
    intake.appointment_date = dt.date.fromisoformat(appointment) if appointment else None


def save_section(intake: Intake, section: str, loaded: Mapping[str, Any]) -> None:
    """Store one validated section of a draft (``loaded``: the section schema's output)."""
    # Two tabs of the same patient saving at once: both writes are theirs, so the later
    # one wins on its own section instead of failing (the other sections are kept).
    for attempt in range(2):
        try:
            _save_section_once(intake, section, loaded)
            return
        except StaleDataError:
            db.session.rollback()
            db.session.refresh(intake)
            if attempt:
                raise


def _save_section_once(intake: Intake, section: str, loaded: Mapping[str, Any]) -> None:
    if intake.is_submitted:
        raise AlreadySubmitted
    schema = SECTIONS[section]()
    document = dict(intake.answers or {})
    document[section] = schema.dump(loaded)
    if section == "consent":
        document[section]["signed_at"] = utcnow().isoformat()
    intake.answers = document
    if section not in (intake.completed_sections or []):
        intake.completed_sections = [s for s in SECTIONS if s in {*intake.completed_sections, section}]
    _copy_contact_details(intake)
    record("patient", "intake.section_saved", intake, f"Section saved: {section}", section=section)
    db.session.commit()


def submit_intake(intake: Intake, ruleset: Ruleset, today: dt.date, actor: str = "patient") -> Assessment:
    """Validate the whole document, assess it and mark the intake submitted, exactly once.

    Raises marshmallow.ValidationError when the document is incomplete or invalid, and
    AlreadySubmitted when this or a concurrent request already submitted it.
    """
    if intake.is_submitted:
        raise AlreadySubmitted
    answers = load_answers(intake.answers, today=today)
    result = assess(answers, ruleset, on=today)
    # A conditional update, not a read-then-write: two simultaneous submissions of the
    # same intake cannot both pass it, whatever the database.
    claimed = db.session.execute(
        update(Intake)
        .where(Intake.id == intake.id, Intake.status == IntakeStatus.DRAFT)
        .values(
            status=IntakeStatus.SUBMITTED,
            submitted_at=utcnow(),
            answers=dump_answers(answers),
            full_name=answers["about"]["full_name"],
            email=answers["about"]["email"],
            appointment_date=answers["about"]["appointment_date"],
            version=Intake.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        raise AlreadySubmitted
    stored = store_assessment(intake, result, getattr(ruleset, "db_version_id", None))
    record(
        actor, "intake.submitted", intake, f"Submitted; outcome {result.outcome}",
        outcome=result.outcome, ruleset_version=result.ruleset_version,
    )
    db.session.commit()
    db.session.refresh(intake)
    return stored


def store_assessment(intake: Intake, result: Any, ruleset_version_id: int | None = None) -> Assessment:
    """Add the core's assessment of an intake to the current transaction (``ruleset_version_id``: its DB version)."""
    stored = Assessment(
        ruleset_version_id=ruleset_version_id,
        intake_id=intake.id,
        assessed_on=result.on,
        ruleset_version=result.ruleset_version,
        outcome=result.outcome,
        defer_until=result.defer_until,
        document=result.to_dict(),
    )
    db.session.add(stored)
    return stored

"""State changes of an intake. Each one writes its audit entry; views call these, nothing else writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.exc import StaleDataError

from .answers import SECTIONS, dump_answers, load_answers
from .assessment import Ruleset, assess
from .extensions import db
from .models import (
    Assessment,
    AuditEntry,
    Intake,
    IntakeStatus,
    RuleTally,
    hash_token,
    new_token,
    queue_sort_key,
    utcnow,
)
from .protection import reindex


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
    """The intake a patient link opens, or None for a wrong, revoked or expired link.

    The caller answers the same for any miss, so a link's state cannot be probed.
    """
    if not token or len(token) > 100:
        return None
    intake = db.session.scalar(select(Intake).where(Intake.token_hash == hash_token(token)))
    if intake is None or intake.link_revoked_at is not None:
        return None
    expires = link_expires_at(intake)
    if expires is not None and expires <= utcnow():
        return None
    return intake


def _as_utc(value: dt.datetime) -> dt.datetime:
    # SQLite gives back naive datetimes; they were stored as UTC.
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def link_expires_at(intake: Intake) -> dt.datetime | None:
    """When the intake's current private link stops working."""
    issued = intake.link_issued_at or intake.created_at
    if issued is None:
        return None
    return _as_utc(issued) + dt.timedelta(days=current_app.config["PATIENT_LINK_DAYS"])


def link_is_live(intake: Intake) -> bool:
    expires = link_expires_at(intake)
    return intake.link_revoked_at is None and (expires is None or expires > utcnow())


def replace_link_token(intake: Intake) -> str:
    """Give the intake a fresh private link in the current transaction; the old one stops working."""
    token = new_token()
    intake.token_hash = hash_token(token)
    intake.link_issued_at = utcnow()
    intake.link_revoked_at = None
    return token


def issue_new_link(intake: Intake, actor: str, reason: str = "") -> str:
    """Replace the patient's private link (the old one stops working); returns the new token."""
    token = replace_link_token(intake)
    db.session.flush()
    record(actor, "link.issued", intake, "New private link issued" + (f": {reason}" if reason else ""),
           version=intake.version)
    db.session.commit()
    return token


def revoke_link(intake: Intake, actor: str) -> None:
    """Stop the patient's current private link from working (staff can issue a new one)."""
    intake.link_revoked_at = utcnow()
    db.session.flush()
    record(actor, "link.revoked", intake, "Private link revoked", version=intake.version)
    db.session.commit()


def invite_patient(full_name: str, email: str, appointment_date: dt.date, actor: str) -> tuple[Intake, str]:
    """A draft intake prefilled for a booked patient, with its private link token (shown once)."""
    token = new_token()
    about = {"full_name": full_name, "email": email,
             "appointment_date": appointment_date.isoformat()}
    intake = Intake(token_hash=hash_token(token), status=IntakeStatus.DRAFT, answers={"about": about},
                    invited_at=utcnow(), link_issued_at=utcnow(), review_status="invited")
    _copy_contact_details(intake, index=False)
    db.session.add(intake)
    db.session.flush()
    reindex(db.session, intake.id, intake.full_name, intake.email)
    record(actor, "intake.invited", intake, f"Patient invited for {appointment_date.isoformat()}",
           appointment_date=appointment_date.isoformat())
    db.session.commit()
    return intake, token


def start_intake(prefill: Mapping[str, Any] | None = None) -> tuple[Intake, str]:
    """Create a draft intake; returns it with the private link token (shown once, stored hashed)."""
    token = new_token()
    intake = Intake(token_hash=hash_token(token), status=IntakeStatus.DRAFT, answers={}, link_issued_at=utcnow())
    if prefill:
        intake.answers = {"about": dict(prefill)}
        _copy_contact_details(intake, index=False)
    db.session.add(intake)
    db.session.flush()
    if intake.full_name or intake.email:
        reindex(db.session, intake.id, intake.full_name, intake.email)
    record("patient", "intake.started", intake, "Intake started")
    db.session.commit()
    return intake, token


def _copy_contact_details(intake: Intake, index: bool = True) -> None:
    # Kept in columns so the queue shows them without reading every document; the name and
    # email are encrypted, and searched through their keyed digests (intake.protection).
    about = intake.answers.get("about") or {}
    full_name, email = about.get("full_name") or None, about.get("email") or None
    if index and (full_name, email) != (intake.full_name, intake.email):
        reindex(db.session, intake.id, full_name, email)
    intake.full_name, intake.email = full_name, email
    appointment = about.get("appointment_date")
    intake.appointment_date = dt.date.fromisoformat(appointment) if appointment else None
    intake.refresh_queue_columns()


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
    if not intake.may_edit(section):
        raise AlreadySubmitted
    if intake.started_at is None:
        intake.started_at = utcnow()
    if intake.review_status == "invited":
        intake.review_status = "draft"
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

    A reopened intake ("more information needed") is resubmitted the same way: it gets a new
    assessment (the earlier ones are kept) and goes back to the queue awaiting review.

    Raises marshmallow.ValidationError when the document is incomplete or invalid, and
    AlreadySubmitted when this or a concurrent request already submitted it.
    """
    if intake.status not in (IntakeStatus.DRAFT, IntakeStatus.REOPENED):
        raise AlreadySubmitted
    resubmission = intake.status == IntakeStatus.REOPENED
    answers = load_answers(intake.answers, today=today)
    result = assess(answers, ruleset, on=today)
    # A conditional update, not a read-then-write: two simultaneous submissions of the
    # same intake cannot both pass it, whatever the database.
    claimed = db.session.execute(
        update(Intake)
        .where(Intake.id == intake.id, Intake.status == intake.status, Intake.version == intake.version)
        .values(
            status=IntakeStatus.SUBMITTED,
            reopened_sections=[],
            review_status="awaiting_review",
            latest_outcome=result.outcome,
            queue_sort=queue_sort_key(result.outcome, answers["about"]["appointment_date"]),
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
    if (answers["about"]["full_name"], answers["about"]["email"]) != (intake.full_name, intake.email):
        reindex(db.session, intake.id, answers["about"]["full_name"], answers["about"]["email"])
    stored = store_assessment(intake, result, getattr(ruleset, "db_version_id", None))
    if resubmission:
        record(actor, "intake.resubmitted", intake, f"Resubmitted with more information; outcome {result.outcome}",
               outcome=result.outcome, ruleset_version=result.ruleset_version, version=intake.version + 1)
    else:
        record(actor, "intake.submitted", intake, f"Submitted; outcome {result.outcome}",
               outcome=result.outcome, ruleset_version=result.ruleset_version)
    db.session.commit()
    db.session.refresh(intake)
    return stored


def store_assessment(intake: Intake, result: Any, ruleset_version_id: int | None = None) -> Assessment:
    """Add the core's assessment of an intake to the current transaction (``ruleset_version_id``: its DB version)."""
    document = result.to_dict()
    stored = Assessment(
        ruleset_version_id=ruleset_version_id,
        intake_id=intake.id,
        assessed_on=result.on,
        ruleset_version=result.ruleset_version,
        outcome=result.outcome,
        defer_until=result.defer_until,
        document=document,
        flag_count=len(document.get("flags") or []),
    )
    db.session.add(stored)
    tally_flags({flag["rule_id"] for flag in document.get("flags") or []})
    return stored


def tally_flags(rule_ids: Iterable[str]) -> None:
    """Count one more assessment flagging each of ``rule_ids`` (in the current transaction)."""
    # Sorted: concurrent submissions lock the tally rows in the same order, so they never deadlock.
    rows = [{"rule_id": rule_id, "flagged": 1} for rule_id in sorted(rule_ids)]
    if not rows:
        return
    upsert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = upsert(RuleTally).values(rows)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=[RuleTally.rule_id], set_={"flagged": RuleTally.flagged + statement.excluded.flagged}))

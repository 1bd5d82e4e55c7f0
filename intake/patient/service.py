"""What a patient does to their intake: start it, save a section, submit it, open it.

Each change writes its audit entry; the views call these, nothing else writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from ..answers import SECTIONS, checkin, dump_answers, load_answers
from ..assessment import assess
from ..audit import lock_chain, record
from ..clock import utcnow
from ..extensions import db
from ..models import (
    Assessment,
    CheckIn,
    Decision,
    Intake,
    IntakeStatus,
    ReviewStatus,
    hash_token,
    new_check_in_code,
    new_token,
    normalise_code,
    queue_sort_key,
)
from ..protection import active_keyring
from ..protection.search import reindex
from ..rulesets.active import ActiveRuleset
from ..rulesets.assessments import carry_over, flags_to_review, store_assessment

#: How often save_section tries again when a concurrent save of the same intake got in first.
SAVE_ATTEMPTS = 5


class AlreadySubmitted(Exception):
    """The intake was submitted before; its answers can no longer change."""


def start_intake(prefill: Mapping[str, Any] | None = None, language: str = "") -> tuple[Intake, str]:
    """Create a draft intake; returns it with the private link token (shown once, stored hashed).

    ``language``: the patient's language (a tag of LANGUAGES), "" for the clinic's default.
    """
    token = new_token()
    intake = Intake(token_hash=hash_token(token), status=IntakeStatus.DRAFT, answers={}, link_issued_at=utcnow(),
                    language=language)
    if prefill:
        intake.answers = {"about": dict(prefill)}
        copy_contact_details(intake, index=False)
    db.session.add(intake)
    db.session.flush()
    if intake.full_name or intake.email:
        reindex(db.session, intake.id, intake.full_name, intake.email)
    record("patient", "intake.started", intake, "Intake started")
    db.session.commit()
    return intake, token


def set_language(intake: Intake, language: str) -> None:
    """The patient picked another language: stored on the intake for its pages, emails and .ics.

    Side data, not an answer: a Core update, so the intake's version (its optimistic lock)
    does not move and a form open in another tab still saves.
    """
    if language == intake.language:
        return
    db.session.execute(update(Intake).where(Intake.id == intake.id).values(language=language)
                       .execution_options(synchronize_session=False))
    set_committed_value(intake, "language", language)
    record("patient", "intake.language_changed", intake, f"Patient's language set to {language}", language=language)
    db.session.commit()


def copy_contact_details(intake: Intake, index: bool = True) -> None:
    """Keep the intake's name, email and appointment columns in step with its answers."""
    # Kept in columns so the queue shows them without reading every document; the name and
    # email are encrypted, and searched through their keyed digests (intake.protection.search).
    about = intake.answers.get("about") or {}
    full_name, email = about.get("full_name") or None, about.get("email") or None
    if index and (full_name, email) != (intake.full_name, intake.email):
        reindex(db.session, intake.id, full_name, email)
    intake.full_name, intake.email = full_name, email
    appointment = about.get("appointment_date")
    intake.appointment_date = dt.date.fromisoformat(appointment) if appointment else None
    intake.refresh_queue_columns()


def lock_intake(intake: Intake) -> None:
    """Make the intake's writers wait for each other: the chain's lock, then the row's, then a fresh read.

    The same order as every audit writer, so two of them never wait for each other's lock.
    """
    lock_chain(db.session.connection())
    db.session.refresh(intake, with_for_update=True)


def save_section(intake: Intake, section: str, loaded: Mapping[str, Any]) -> None:
    """Store one validated section of a draft (``loaded``: the section schema's output)."""
    # Two tabs of the same patient saving at once: both writes are theirs, so the later
    # one wins on its own section instead of failing (the other sections are kept). Under
    # a burst a save can lose the race a few times; after the last, StaleDataError answers
    # a 503 that keeps what was typed (intake.web.outage).
    for attempt in range(SAVE_ATTEMPTS):
        try:
            _save_section_once(intake, section, loaded)
            return
        except StaleDataError:
            db.session.rollback()
            if attempt == SAVE_ATTEMPTS - 1:
                raise
            db.session.refresh(intake)


def save_draft(intake: Intake, section: str, typed: list[tuple[str, str]]) -> None:
    """Keep what the patient typed on a section that does not pass its checks yet ("save and finish later").

    Kept apart from the answers (which stay a valid document for the rules); the section is
    not marked completed, and it is shown again as typed, with what still needs doing.
    """
    lock_intake(intake)
    if not intake.may_edit(section):
        raise AlreadySubmitted
    if intake.started_at is None:
        intake.started_at = utcnow()
    intake.drafts = {**(intake.drafts or {}), section: [list(pair) for pair in typed]}
    record("patient", "intake.section_drafted", intake, f"Section saved for later, not finished: {section}",
           section=section)
    db.session.commit()


def _save_section_once(intake: Intake, section: str, loaded: Mapping[str, Any]) -> None:
    # Saves of one intake wait for each other instead of racing.
    lock_intake(intake)
    if not intake.may_edit(section):
        raise AlreadySubmitted
    if section in (intake.drafts or {}):
        intake.drafts = {name: typed for name, typed in intake.drafts.items() if name != section}
    if intake.started_at is None:
        intake.started_at = utcnow()
    if intake.review_status == ReviewStatus.INVITED:
        intake.review_status = ReviewStatus.DRAFT
    schema = SECTIONS[section]()
    document = dict(intake.answers or {})
    document[section] = schema.dump(loaded)
    if section == "consent":
        document[section]["signed_at"] = utcnow().isoformat()
    intake.answers = document
    if section not in (intake.completed_sections or []):
        intake.completed_sections = [s for s in SECTIONS if s in {*intake.completed_sections, section}]
    copy_contact_details(intake)
    record("patient", "intake.section_saved", intake, f"Section saved: {section}", section=section)
    db.session.commit()


def submit_intake(intake: Intake, rules: ActiveRuleset, today: dt.date, actor: str = "patient",
                  reply: str = "") -> Assessment:
    """Validate the whole document, assess it and mark the intake submitted, exactly once.

    A reopened intake ("more information needed") is resubmitted the same way: it gets a new
    assessment (the earlier ones are kept), the practitioner's review carries over where the
    answers behind a flag did not change, ``reply`` (the patient's answer to the question, in
    their words) is kept on the decision that asked it, and the intake goes back to the queue.

    Raises marshmallow.ValidationError when the document is incomplete or invalid, and
    AlreadySubmitted when this or a concurrent request already submitted it.
    """
    if intake.status not in (IntakeStatus.DRAFT, IntakeStatus.REOPENED):
        raise AlreadySubmitted
    resubmission = intake.status == IntakeStatus.REOPENED
    previous = intake.latest_assessment
    answers = load_answers(intake.answers, today=today)
    result = assess(answers, rules.ruleset, on=today)
    # A conditional update, not a read-then-write: two simultaneous submissions of the
    # same intake cannot both pass it, whatever the database.
    claimed = db.session.execute(
        update(Intake)
        .where(Intake.id == intake.id, Intake.status == intake.status, Intake.version == intake.version)
        .values(
            status=IntakeStatus.SUBMITTED,
            reopened_sections=[],
            review_status=ReviewStatus.AWAITING_REVIEW,
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
    if cast(CursorResult[Any], claimed).rowcount != 1:  # an UPDATE's result counts its rows
        db.session.rollback()
        raise AlreadySubmitted
    if (answers["about"]["full_name"], answers["about"]["email"]) != (intake.full_name, intake.email):
        reindex(db.session, intake.id, answers["about"]["full_name"], answers["about"]["email"])
    stored = store_assessment(intake, result, rules.version_id, answers=dump_answers(answers))
    if resubmission:
        db.session.flush()
        record(actor, "intake.resubmitted", intake, f"Resubmitted with more information; outcome {result.outcome}",
               outcome=result.outcome, ruleset_version=result.ruleset_version, version=intake.version + 1)
        _keep_reply(intake, reply.strip(), actor)
        carry_over(intake, previous, stored, rules.ruleset.protocols, "system")
    else:
        record(actor, "intake.submitted", intake, f"Submitted; outcome {result.outcome}",
               outcome=result.outcome, ruleset_version=result.ruleset_version)
    db.session.commit()
    db.session.refresh(intake)
    return stored


def _keep_reply(intake: Intake, reply: str, actor: str) -> None:
    """The patient's reply on the "more information needed" decision it answers (in the current transaction)."""
    if not reply:
        return
    asking = db.session.scalar(
        select(Decision).where(Decision.intake_id == intake.id).order_by(Decision.id.desc()).limit(1))
    if asking is None or asking.outcome != ReviewStatus.MORE_INFORMATION_NEEDED:
        return
    asking.reply, asking.replied_at = reply, utcnow()
    record(actor, "intake.replied", intake, "The patient replied to the practitioner's question",
           decision_id=asking.id)


def record_confirmation_viewed(intake: Intake) -> None:
    """Note that the patient opened their confirmation."""
    record("patient", "intake.viewed", intake, "Patient opened the confirmation")
    db.session.commit()


def record_status_viewed(intake: Intake) -> None:
    """Note that the patient opened their status page from a notification's link."""
    record("patient", "intake.status_viewed", intake, "Patient opened their status page")
    db.session.commit()


def record_plan_downloaded(intake: Intake) -> None:
    """Note that the patient downloaded their proposed session dates."""
    record("patient", "intake.plan_downloaded", intake, "Patient downloaded the proposed session dates")
    db.session.commit()


class CheckInClosed(Exception):
    """The check-in is not open for this intake today (not submitted, no appointment, too early or too late)."""


class CheckInConflict(Exception):
    """The intake changed while the check-in was being saved (another check-in, a practitioner's change)."""


def check_in_opens(intake: Intake) -> tuple[dt.date, dt.date] | None:
    """The first and last day ``intake`` may check in (None: not submitted or no appointment)."""
    if intake.status != IntakeStatus.SUBMITTED or intake.appointment_date is None:
        return None
    return checkin.window(intake.appointment_date)


def check_in(intake: Intake, answers: Mapping[str, Any], rules: ActiveRuleset, today: dt.date,
             actor: str = "patient") -> CheckIn:
    """Re-assess ``intake`` with the check-in's ``answers`` written into its document, as of ``today``.

    The practitioner's reviews carry over where the answers behind a flag did not change;
    a flag the check-in raised marks the intake in the queue and puts it back to awaiting
    review (a signed decision stands only through check-ins that raise nothing). Raises
    CheckInClosed outside the window, CheckInConflict when the intake changed meanwhile (a
    second check-in sent at the same time), and marshmallow.ValidationError if the resulting
    document is invalid; nothing is stored then.
    """
    opens = check_in_opens(intake)
    if opens is None or not opens[0] <= today <= opens[1]:
        raise CheckInClosed
    previous = intake.latest_assessment
    document = load_answers(checkin.apply_check_in(intake.answers, answers, today), today=today)
    result = assess(document, rules.ruleset, on=today)
    dumped = dump_answers(document)
    stored = store_assessment(intake, result, rules.version_id, answers=dumped)
    db.session.flush()
    before = {flag["rule_id"]: flag for flag in flags_to_review(previous.document)} if previous else {}
    after = {flag["rule_id"]: flag for flag in flags_to_review(stored.document)}
    raised = sorted(set(after) - set(before))
    lifted = sorted(set(before) - set(after))
    carry_over(intake, previous, stored, rules.ruleset.protocols, "system")
    intake.answers = dumped
    intake.latest_outcome = result.outcome
    intake.queue_sort = queue_sort_key(result.outcome, intake.appointment_date)
    intake.checked_in_at = utcnow()
    intake.flagged_at_check_in = bool(raised)
    if raised:
        # A decision stands no longer once the check-in raised something it did not weigh
        # (rulesets.assessments.decided_on): the intake waits for review again.
        intake.review_status = ReviewStatus.AWAITING_REVIEW
    stored_answers = {key: (value.isoformat() if isinstance(value, dt.date) else value)
                      for key, value in answers.items()}
    row = CheckIn(intake_id=intake.id, answers=stored_answers, previous_assessment_id=previous.id if previous else None,
                  assessment_id=stored.id, raised=raised, lifted=lifted)
    db.session.add(row)
    record(actor, "intake.checked_in", intake,
           f"Checked in; outcome {result.outcome}" + (f"; new: {', '.join(raised)}" if raised else ""),
           outcome=result.outcome, raised=raised, lifted=lifted, ruleset_version=result.ruleset_version)
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise CheckInConflict from None
    return row


def code_digest(code: str) -> str:
    """The keyed digest a check-in code is found by (typed codes are normalised first)."""
    return active_keyring().digest("check-in:" + normalise_code(code))


def ensure_check_in_code(intake: Intake) -> str:
    """The intake's front-desk check-in code, made (and committed) the first time it is needed."""
    if intake.check_in_code:
        return intake.check_in_code
    for _attempt in range(5):  # a clash among 2^37 codes is rare; try again if one happens
        code = new_check_in_code()
        digest = code_digest(code)
        if db.session.scalar(select(Intake.id).where(Intake.check_in_code_digest == digest)) is not None:
            continue
        # Not through the ORM: the code is no change to the patient's intake, and must not move its
        # version (a practitioner's open form would then be refused as out of date).
        db.session.execute(
            update(Intake).where(Intake.id == intake.id, Intake.check_in_code_digest.is_(None))
            .values(check_in_code=code, check_in_code_digest=digest)
            .execution_options(synchronize_session=False))
        db.session.commit()
        db.session.refresh(intake)
        return intake.check_in_code
    raise RuntimeError("could not make a unique check-in code")


def find_by_check_in_code(typed: str) -> Intake | None:
    """The intake a code typed at the desk belongs to, or None."""
    if len(normalise_code(typed)) != 8:
        return None
    return db.session.scalar(select(Intake).where(Intake.check_in_code_digest == code_digest(typed)))

"""What practitioners do: review flags, edit the plan, sign decisions, invite patients and
manage their links. Each change writes its audit entry and commits; the changes to an
intake under review check the version the form was built on, and a stale form raises
Conflict instead of overwriting a colleague."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from ..answers import SECTIONS
from ..assessment import Ruleset
from ..assessment.plan.edit import (
    check_plan,
    edited_plan,
    plan_bounds,
    plan_differences,
    plan_values,
)
from ..audit import record
from ..clock import utcnow
from ..extensions import db
from ..models import (
    APPROVALS,
    AuditEntry,
    Decision,
    FlagAction,
    FlagReview,
    Intake,
    IntakeStatus,
    Outcome,
    PlanEdit,
    ReviewStatus,
    StaffUser,
    hash_token,
    new_token,
)
from ..patient.service import copy_contact_details, lock_intake
from ..protection.search import reindex
from .queries import ReviewState, changes_since, review_state


class ReviewRefused(Exception):
    """The change is not allowed as asked; ``problems`` are (form field id or None, message)."""

    def __init__(self, problems: list[tuple[str | None, str]]):
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


class Conflict(Exception):
    """Someone changed the intake since the form was built; ``changes`` say what they did."""

    def __init__(self, intake: Intake, expected_version: int, changes: list[AuditEntry]):
        super().__init__(f"intake {intake.id} is at version {intake.version}, the form was built on {expected_version}")
        self.intake = intake
        self.expected_version = expected_version
        self.changes = changes


@dataclass(frozen=True)
class SignedDecision:
    """A decision just signed, with the patient's new private link when it reopened sections."""

    decision: Decision
    #: Shown or sent once, never stored (only its hash is, on the intake).
    patient_link_token: str | None = None


def record_view(intake: Intake, user: StaffUser, what: str = "viewed") -> None:
    """Note that a member of staff opened (or printed) the record."""
    record(user.actor, f"intake.{what}", intake, f"Record {what} by {user.display_name}")
    db.session.commit()


def _claim(intake: Intake, expected_version: int, **changes: Any) -> ReviewState:
    """Bump the intake's version from ``expected_version``, or raise Conflict (nothing written).

    ``changes`` are set on the intake in the same UPDATE (one version step per operation).
    """
    if intake.version != expected_version:
        raise Conflict(intake, expected_version, changes_since(intake, expected_version))
    intake.updated_at = utcnow()
    for name, value in changes.items():
        setattr(intake, name, value)
    try:
        # UPDATE … WHERE version = expected: of two writers on the same version only one matches.
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        db.session.refresh(intake)
        raise Conflict(intake, expected_version, changes_since(intake, expected_version)) from None
    return review_state(intake)


def _commit(intake: Intake) -> None:
    try:
        db.session.commit()
    except StaleDataError:  # pragma: no cover - the flush in _claim already holds the row
        db.session.rollback()
        raise


def _reviewable(intake: Intake, expected_version: int) -> ReviewState:
    """The review state of an intake that may change now.

    A form built on an older version is a Conflict (it says what changed, a signature
    included); an intake with nothing to review, or with a signed decision in force (amend
    it first), is ReviewRefused.
    """
    if not intake.is_submitted or intake.latest_assessment is None:
        raise ReviewRefused([(None, "This intake has not been submitted yet: there is nothing to review.")])
    if intake.version != expected_version:
        raise Conflict(intake, expected_version, changes_since(intake, expected_version))
    state = review_state(intake)
    if state.locked:
        raise ReviewRefused([(None, "A decision is signed: nothing on this record changes until a practitioner "
                                    "chooses \u201cAmend decision\u201d and gives a reason.")])
    return state


def acknowledge_flag(intake: Intake, rule_id: str, user: StaffUser, expected_version: int) -> FlagReview:
    """Mark a flag as seen and taken into account."""
    return _review_flag(intake, rule_id, FlagAction.ACKNOWLEDGED, "", user, expected_version)


def override_flag(intake: Intake, rule_id: str, reason: str, user: StaffUser, expected_version: int) -> FlagReview:
    """Set a flag aside, with the written reason why treatment may still go ahead."""
    if not reason.strip():
        raise ReviewRefused([("reason", "Write why this flag may be overridden.")])
    return _review_flag(intake, rule_id, FlagAction.OVERRIDDEN, reason.strip(), user, expected_version)


def _review_flag(intake: Intake, rule_id: str, action: FlagAction, reason: str, user: StaffUser,
                 expected_version: int) -> FlagReview:
    if _reviewable(intake, expected_version).flag(rule_id) is None:
        raise ReviewRefused([(None, f"The flag {rule_id} is not on this intake's latest assessment "
                                    "(or is an info item, which needs no review).")])
    state = _claim(intake, expected_version)
    assert state.assessment is not None  # nosec B101 # narrows the type: only assessed intakes get here
    review = FlagReview(intake_id=intake.id, assessment_id=state.assessment.id, rule_id=rule_id,
                        action=action, reason=reason, staff_user_id=user.id, at=utcnow())
    db.session.add(review)
    summary = f"Flag {rule_id} {action}" + (f": {reason}" if reason else "")
    record(user.actor, f"flag.{action}", intake, summary, rule_id=rule_id, reason=reason,
           assessment_id=state.assessment.id, version=intake.version)
    _commit(intake)
    return review


# --- plan ---------------------------------------------------------------------------------------


def edit_plan(intake: Intake, values: Mapping[str, Any], user: StaffUser, expected_version: int,
              ruleset: Ruleset) -> PlanEdit:
    """Store the practitioner's plan, within the protocols' bounds, beside the suggestion."""
    state = _reviewable(intake, expected_version)
    suggested = state.suggested_plan
    bounds = plan_bounds(suggested, ruleset.protocols)
    if suggested is None or bounds is None:
        raise ReviewRefused([(None, "This intake has no suggested plan to edit.")])
    missing = set(bounds.depth_mm) - set(values["depth_mm"])
    if missing:
        raise ReviewRefused([(None, f"Give a depth for {', '.join(sorted(missing))}.")])
    values = {**values, "depth_mm": {area: values["depth_mm"][area] for area in bounds.depth_mm}}
    problems = check_plan(values, bounds)
    if problems:
        raise ReviewRefused(problems)
    current = state.current_plan or suggested
    if not plan_differences(plan_values(current), values):
        raise ReviewRefused([(None, "That is the plan as it stands: nothing was changed.")])
    state = _claim(intake, expected_version)
    assert state.assessment is not None  # nosec B101 # narrows the type: only assessed intakes get here
    changes = plan_differences(plan_values(suggested), values)
    edit = PlanEdit(intake_id=intake.id, assessment_id=state.assessment.id, plan=edited_plan(suggested, values),
                    changes=changes, staff_user_id=user.id, at=utcnow())
    db.session.add(edit)
    said = ", ".join(f"{key} {old} → {new}" for key, (old, new) in changes.items()) or "back to the suggestion"
    record(user.actor, "plan.edited", intake, f"Plan edited: {said}", changes=changes,
           assessment_id=state.assessment.id, version=intake.version)
    _commit(intake)
    return edit


# --- decision -----------------------------------------------------------------------------------


def record_decision(
    intake: Intake,
    outcome: str,
    user: StaffUser,
    expected_version: int,
    *,
    today: dt.date,
    defer_until: dt.date | None = None,
    question: str = "",
    note: str = "",
    patient_message: str = "",
    reopen: list[str] | None = None,
) -> SignedDecision:
    """Sign a decision on the latest assessment: who, when, which ruleset, which plan.

    The severity ladder holds here: approving needs every defer and contraindication
    overridden with a written reason and every precaution acknowledged. A signed decision
    is final: another one is refused until a practitioner starts an amendment
    (``start_amendment``), and the new decision then supersedes the one amended.
    "More information needed" reopens the ``reopen`` sections for the patient and gives them a
    fresh private link: its token comes back as ``patient_link_token`` (never stored; the
    caller shows or sends it once).
    """
    state = _reviewable(intake, expected_version)
    question, note, patient_message = question.strip(), note.strip(), patient_message.strip()
    try:
        chosen = Outcome(outcome)
    except ValueError:
        raise ReviewRefused([("outcome", "Choose a decision.")]) from None
    problems: list[tuple[str | None, str]] = []
    if chosen is Outcome.DEFERRED and (defer_until is None or defer_until <= today):
        problems.append(("defer_until", "Give the date treatment is deferred until, after today."))
    if chosen is Outcome.MORE_INFORMATION_NEEDED and not question:
        problems.append(("question", "Write the question for the patient."))
    reopen = [section for section in SECTIONS if section in set(reopen or [])]
    if chosen is Outcome.MORE_INFORMATION_NEEDED and not reopen:
        problems.append(("reopen", "Choose the sections the patient should answer again."))
    if chosen is Outcome.NOT_SUITABLE and not note:
        problems.append(("note", "Write a note saying why this intake is not suitable."))
    if chosen in (Outcome.DEFERRED, Outcome.NOT_SUITABLE) and not patient_message:
        problems.append(("patient_message", "Write what the patient should read: why, in plain words, "
                                            "and what to do next."))
    if chosen in APPROVALS:
        for flag_state in state.blocking:
            flag = flag_state.flag
            problems.append((f"flag-{flag['rule_id']}",
                             f"{flag.get('title') or flag['rule_id']} ({flag['severity']}): "
                             f"{flag_state.why_blocking} before approving."))
    if problems:
        raise ReviewRefused(problems)
    amended = state.decision if state.amending else None
    # The intake's own changes go into the claiming UPDATE: one version step for the decision.
    changes: dict[str, Any] = {"review_status": ReviewStatus(chosen), "amending_decision_id": None,
                               "amendment_reason": ""}
    token = None
    if chosen is Outcome.MORE_INFORMATION_NEEDED:
        token = new_token()
        changes.update(status=IntakeStatus.REOPENED, reopened_sections=reopen, token_hash=hash_token(token),
                       link_issued_at=utcnow(), link_revoked_at=None)
    elif intake.status == IntakeStatus.REOPENED:
        # A later decision closes the patient's reopened sections.
        changes.update(status=IntakeStatus.SUBMITTED, reopened_sections=[])
    amendment_reason = intake.amendment_reason if amended is not None else ""
    state = _claim(intake, expected_version, **changes)
    assert state.assessment is not None  # nosec B101 # narrows the type: only assessed intakes get here
    decision = Decision(
        intake_id=intake.id, assessment_id=state.assessment.id, outcome=chosen,
        defer_until=defer_until if chosen is Outcome.DEFERRED else None,
        question=question if chosen is Outcome.MORE_INFORMATION_NEEDED else "", note=note,
        patient_message=patient_message,
        reopened_sections=reopen if chosen is Outcome.MORE_INFORMATION_NEEDED else None,
        plan=state.current_plan if chosen in APPROVALS else None,
        staff_user_id=user.id, signed_at=utcnow(), ruleset_version=state.assessment.ruleset_version,
        supersedes_id=amended.id if amended is not None else None, amendment_reason=amendment_reason,
    )
    db.session.add(decision)
    db.session.flush()
    said = f"Decision: {chosen.replace('_', ' ')}"
    if amended is not None:
        said = f"Decision amended ({amended.outcome.replace('_', ' ')} \u2192 {chosen.replace('_', ' ')}): " \
               f"{amendment_reason}"
    record(user.actor, "decision.amended" if amended is not None else "decision.recorded", intake, said,
           outcome=str(chosen), decision_id=decision.id, ruleset_version=decision.ruleset_version,
           defer_until=decision.defer_until.isoformat() if decision.defer_until else None,
           supersedes=amended.id if amended is not None else None, version=intake.version)
    if token is not None:
        record(user.actor, "intake.reopened", intake, f"Sections reopened for the patient: {', '.join(reopen)}",
               sections=reopen, question=question, version=intake.version)
        record(user.actor, "link.issued", intake, "New private link issued for the patient's answer",
               version=intake.version)
    _commit(intake)
    return SignedDecision(decision, token)


def start_amendment(intake: Intake, reason: str, user: StaffUser, expected_version: int) -> Decision:
    """Open a signed decision for amendment, with the reason: flags, plan and decision may change again.

    The decision stays in force (and on the patient's page) until the amendment is signed.
    Two practitioners starting at once: the second gets a Conflict with what the first did.
    """
    reason = reason.strip()
    if not reason:
        raise ReviewRefused([("amendment_reason", "Write why the signed decision needs amending.")])
    if intake.version != expected_version:
        raise Conflict(intake, expected_version, changes_since(intake, expected_version))
    state = review_state(intake)
    decision = state.decision
    if decision is None or not state.signed:
        raise ReviewRefused([(None, "There is no signed decision on this assessment to amend.")])
    if state.amending:
        raise ReviewRefused([(None, "This decision is already being amended.")])
    _claim(intake, expected_version, amending_decision_id=decision.id, amendment_reason=reason)
    record(user.actor, "decision.amendment_started", intake, f"Amendment of the decision started: {reason}",
           decision_id=decision.id, reason=reason, version=intake.version)
    _commit(intake)
    return decision


# --- invitations and patient links ----------------------------------------------------------------


def issue_status_link(intake: Intake, actor: str) -> str:
    """A fresh read-only link to the patient's status page (the previous one stops working); returns its token.

    Notifications carry it, so the patient's own private link never travels in a second
    email. In the current transaction: the caller commits with the notification.
    """
    token = new_token()
    intake.status_token_hash = hash_token(token)
    intake.status_link_issued_at = utcnow()
    db.session.flush()
    record(actor, "link.status_issued", intake, "Status page link issued for a notification", version=intake.version)
    return token


def replace_link_token(intake: Intake) -> str:
    """Give the intake a fresh private link in the current transaction; the old one stops working."""
    token = new_token()
    intake.token_hash = hash_token(token)
    intake.link_issued_at = utcnow()
    intake.link_revoked_at = None
    return token


def issue_new_link(intake: Intake, actor: str, reason: str = "") -> str:
    """Replace the patient's private link (the old one stops working); returns the new token."""
    lock_intake(intake)
    token = replace_link_token(intake)
    db.session.flush()
    record(actor, "link.issued", intake, "New private link issued" + (f": {reason}" if reason else ""),
           version=intake.version)
    db.session.commit()
    return token


def revoke_link(intake: Intake, actor: str) -> None:
    """Stop the patient's current private link from working (staff can issue a new one)."""
    lock_intake(intake)
    intake.link_revoked_at = utcnow()
    db.session.flush()
    record(actor, "link.revoked", intake, "Private link revoked", version=intake.version)
    db.session.commit()


def invite_patient(full_name: str, email: str, appointment_date: dt.date, actor: str,
                   language: str = "") -> tuple[Intake, str]:
    """A draft intake prefilled for a booked patient, with its private link token (shown once).

    ``language``: the patient's (a tag of LANGUAGES), for the email and the form; "" the default.
    """
    token = new_token()
    about = {"full_name": full_name, "email": email,
             "appointment_date": appointment_date.isoformat()}
    intake = Intake(token_hash=hash_token(token), status=IntakeStatus.DRAFT, answers={"about": about},
                    invited_at=utcnow(), link_issued_at=utcnow(), review_status=ReviewStatus.INVITED,
                    language=language)
    copy_contact_details(intake, index=False)
    db.session.add(intake)
    db.session.flush()
    reindex(db.session, intake.id, intake.full_name, intake.email)
    record(actor, "intake.invited", intake, f"Patient invited for {appointment_date.isoformat()}",
           appointment_date=appointment_date.isoformat())
    db.session.commit()
    return intake, token


def record_report_export(user: StaffUser) -> None:
    """Note that the override report was exported."""
    record(user.actor, "report.exported", None, "Override report exported as CSV")
    db.session.commit()

"""What the patient's pages read: the intake behind a link, the link's life, the practitioner's
question, and where the patient stands now (their status page)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, url_for
from flask_babel import format_date, gettext, ngettext
from sqlalchemy import select

from ..assessment import Instruction
from ..assessment.agreed import anchor_instructions, next_session_on
from ..clock import as_utc, utcnow
from ..extensions import db
from ..models import APPROVALS, Decision, Intake, Outcome, hash_token
from ..rulesets.assessments import decided_on


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


def find_intake_by_status_token(token: str) -> Intake | None:
    """The intake of a status link (the read-only link notifications carry), or None for any miss."""
    if not token or len(token) > 100:
        return None
    intake = db.session.scalar(select(Intake).where(Intake.status_token_hash == hash_token(token)))
    if intake is None or intake.link_revoked_at is not None:
        return None
    issued = as_utc(intake.status_link_issued_at)
    if issued is None or issued + dt.timedelta(days=current_app.config["PATIENT_LINK_DAYS"]) <= utcnow():
        return None
    return intake


def link_expires_at(intake: Intake) -> dt.datetime | None:
    """When the intake's current private link stops working."""
    issued = as_utc(intake.link_issued_at or intake.created_at)
    if issued is None:
        return None
    return issued + dt.timedelta(days=current_app.config["PATIENT_LINK_DAYS"])


def link_is_live(intake: Intake) -> bool:
    expires = link_expires_at(intake)
    return intake.link_revoked_at is None and (expires is None or expires > utcnow())


def private_link(token: str) -> str:
    """The patient's private link, as they open it."""
    return url_for("patient.show_intake", token=token, _external=True)


def patient_question(intake: Intake) -> str:
    """The practitioner's question to the patient of a reopened intake."""
    if not intake.is_reopened:
        return ""
    return db.session.scalar(
        select(Decision.question).where(Decision.intake_id == intake.id).order_by(Decision.id.desc()).limit(1)
    ) or ""


def status_link(token: str) -> str:
    """The read-only link to the patient's status page, as notifications carry it."""
    return url_for("patient.show_status", token=token, _external=True)


def latest_decision(intake: Intake) -> Decision | None:
    """The decision in force on the intake (the latest signed), if any."""
    return db.session.scalar(
        select(Decision).where(Decision.intake_id == intake.id).order_by(Decision.id.desc()).limit(1))


def instruction_date(day: dt.date) -> str:
    """How an instruction names its start, in the patient's language ("Wednesday 16 December")."""
    return str(format_date(day, "EEEE d MMMM"))


def rule_text(text: str) -> str:
    """A patient-facing text of the rule files (an instruction, the plan's wording) in the patient's
    language: its translation from the catalogs (the rule files' texts are extracted into them by
    intake.rulesets.extract), or the text as written when there is none (``flask rules lint`` warns)."""
    return str(gettext(text)) if text else text


def relative_day(days_before: int) -> str:
    """When the appointment is not booked: "2 days before your appointment", in the patient's language."""
    if days_before == 0:
        return str(gettext("on the day of your appointment"))
    return str(ngettext("the day before your appointment", "%(num)s days before your appointment", days_before))


def localised_instructions(instructions: Any, anchor: dt.date | None, today: dt.date) -> list[Instruction]:
    """The instructions dated against ``anchor``, in the patient's language."""
    return anchor_instructions(instructions, anchor, today, instruction_date, translate=rule_text,
                               relative=relative_day)


@dataclass
class PatientStatus:
    """Where a submitted intake stands, as the patient's status page tells it."""

    #: "awaiting_review", "more_information", "approved", "deferred" or "not_suitable".
    kind: str
    decision: Decision | None = None
    #: The plan to show: the agreed one after an approval, the rules' proposal before a decision.
    plan: Mapping[str, Any] | None = None
    agreed: bool = False
    #: The date the next treatment is expected (the instructions are dated against it).
    next_session: dt.date | None = None
    instructions: list[Instruction] = field(default_factory=list)
    #: The sources each instruction's rule cites, by rule id (the page says where advice comes from).
    sources: Mapping[str, list[str]] = field(default_factory=dict)

    @property
    def defer_until(self) -> dt.date | None:
        return self.decision.defer_until if self.decision is not None else None


def patient_status(intake: Intake, today: dt.date) -> PatientStatus:
    """What the patient is told now: the decision in force, the plan, and instructions dated
    against the next agreed session, so the page never contradicts the schedule."""
    assessment = intake.latest_assessment
    document: Mapping[str, Any] = assessment.document if assessment is not None else {}
    decision = latest_decision(intake)
    decided = decision is not None and assessment is not None and decided_on(decision.assessment_id, assessment.id)
    instructions = document.get("instructions") or []
    sources = {flag["rule_id"]: list(flag.get("source") or []) for flag in document.get("flags") or []}
    appointment = intake.appointment_date
    if intake.is_reopened:
        return PatientStatus("more_information", decision)
    if not decided or decision is None:
        plan = document.get("plan")
        anchor = next_session_on(plan, appointment, today)
        return PatientStatus("awaiting_review", None, plan, False, anchor,
                             localised_instructions(instructions, anchor, today), sources)
    outcome = Outcome(decision.outcome)
    if outcome in APPROVALS:
        anchor = next_session_on(decision.plan, appointment, today)
        return PatientStatus("approved", decision, decision.plan, True, anchor,
                             localised_instructions(instructions, anchor, today), sources)
    if outcome is Outcome.DEFERRED:
        anchor = next_session_on(None, appointment, today, not_before=decision.defer_until)
        return PatientStatus("deferred", decision, None, False, anchor,
                             localised_instructions(instructions, anchor, today), sources)
    if outcome is Outcome.MORE_INFORMATION_NEEDED:
        return PatientStatus("more_information", decision)
    return PatientStatus("not_suitable", decision)

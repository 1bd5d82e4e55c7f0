"""What the API and the exports do to intakes. Each read and write writes its audit entry."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..answers import load_answers
from ..audit import record
from ..clock import as_utc, utcnow
from ..extensions import db
from ..models import Assessment, Decision, FlagReview, Intake, IntakeStatus, PlanEdit, StaffUser, hash_token, new_token
from ..patient.service import submit_intake
from ..review.queries import IntakePage, filtered_intakes, open_flag_counts, page_of
from ..rulesets.active import ActiveRuleset

#: Intakes looked up per query when an export gathers what stands for each.
CHUNK = 500


def create_submitted_intake(
    document: Mapping[str, Any], actor: str, rules: ActiveRuleset, today: dt.date
) -> tuple[Intake, Assessment, str]:
    """Store a complete answers document as a submitted, assessed intake; returns it with the patient link token.

    Raises marshmallow.ValidationError (naming each field) before anything is stored.
    """
    document = dict(document)
    consent = document.get("consent")
    if isinstance(consent, Mapping) and not consent.get("signed_at"):
        # The booking system may say when the patient signed; otherwise it is now, as in the form.
        document["consent"] = {**consent, "signed_at": utcnow().isoformat()}
    load_answers(document, today=today)
    token = new_token()
    intake = Intake(token_hash=hash_token(token), status=IntakeStatus.DRAFT, answers=document,
                    completed_sections=list(document))
    db.session.add(intake)
    db.session.flush()
    record(actor, "intake.created", intake, "Intake received through the API")
    # submit_intake validates again, assesses, and commits the whole transaction.
    assessment = submit_intake(intake, rules, today, actor=actor)
    return intake, assessment, token


def view_intake(intake: Intake, actor: str, action: str = "intake.viewed", **data: Any) -> None:
    """Record that ``actor`` read or exported one intake."""
    record(actor, action, intake, _summaries.get(action, action), **data)
    db.session.commit()


_summaries = {
    "intake.viewed": "Intake read through the API",
    "intake.exported": "Intake exported",
}


def list_intakes(filters: Mapping[str, Any], page: int, per_page: int, actor: str) -> dict[str, Any]:
    """One page of the filtered intakes as summaries; the audit entry names every intake returned."""
    result: IntakePage = page_of(filtered_intakes(filters), page, per_page)
    items = [summary(intake, assessment) for intake, assessment in result.items]
    record(actor, "intakes.listed", None, f"Intakes listed through the API (page {page})",
           filters=jsonable_filters(filters), page=page, intake_ids=[item["id"] for item in items])
    db.session.commit()
    return {"items": items, "page": result.page, "per_page": result.per_page, "total": result.total,
            "pages": result.pages}


def export_intakes(filters: Mapping[str, Any], actor: str) -> list[dict[str, Any]]:
    """Every intake matching the filters with where its review stands, for the CSV; audited by id."""
    # Rows are built before the commit, which would expire every row loaded.
    found = list(db.session.execute(filtered_intakes(filters)))
    ids = [intake.id for intake, _assessment in found]
    decided: dict[int, Decision] = {}
    open_flags: dict[int, int] = {}
    for start in range(0, len(ids), CHUNK):  # within every database's limit on bound parameters
        decided.update(latest_decisions(ids[start:start + CHUNK]))
        open_flags.update(open_flag_counts(ids[start:start + CHUNK]))
    items = []
    for intake, assessment in found:
        decision = decided.get(intake.id)
        items.append({
            **summary(intake, assessment),
            "review_status": intake.review_status,
            "open_flags": open_flags.get(intake.id, 0),
            "decision": decision.outcome if decision else None,
            "defer_decided_until": decision.defer_until if decision else None,
            "decided_by": decision.staff_user.display_name if decision else None,
            "decided_at": as_utc(decision.signed_at) if decision else None,
        })
    record(actor, "intakes.exported", None, f"Queue exported as CSV ({len(items)} intakes)",
           format="csv", filters=jsonable_filters(filters), intake_ids=ids)
    db.session.commit()
    return items


def export_documents(filters: Mapping[str, Any], actor: str) -> list[dict[str, Any]]:
    """Every intake matching the filters as its whole export document, for the JSON download; audited by id."""
    found = [intake for intake, _assessment in db.session.execute(filtered_intakes(filters))]
    documents = [export_document(intake) for intake in found]
    record(actor, "intakes.exported", None, f"Queue exported as JSON ({len(found)} intakes)",
           format="json", filters=jsonable_filters(filters), intake_ids=[intake.id for intake in found])
    db.session.commit()
    return documents


def export_document(intake: Intake) -> dict[str, Any]:
    """One intake as the JSON export holds it: summary, answers, every assessment, the clinic's review."""
    return {
        "intake": summary(intake, intake.latest_assessment),
        "answers": intake.answers,
        "assessments": [assessment_data(a) for a in intake.assessments],
        **review_data(intake),
    }


def latest_decisions(intake_ids: list[int]) -> dict[int, Decision]:
    """The decision that stands for each intake (its latest signed one), by intake id."""
    if not intake_ids:
        return {}
    latest = select(func.max(Decision.id)).where(Decision.intake_id.in_(intake_ids)).group_by(Decision.intake_id)
    return {d.intake_id: d for d in db.session.scalars(
        select(Decision).where(Decision.id.in_(latest)).options(joinedload(Decision.staff_user)))}


def jsonable_filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, dt.date) else value for key, value in filters.items()}


def summary(intake: Intake, assessment: Assessment | None) -> dict[str, Any]:
    """The fields of an intake shown in lists."""
    return {
        "id": intake.id,
        "status": intake.status,
        "full_name": intake.full_name,
        "email": intake.email,
        "appointment_date": intake.appointment_date,
        "created_at": as_utc(intake.created_at),
        "submitted_at": as_utc(intake.submitted_at),
        "outcome": assessment.outcome if assessment else None,
        "defer_until": assessment.defer_until if assessment else None,
        "flag_count": assessment.flag_count if assessment else 0,
    }


def detail(intake: Intake) -> dict[str, Any]:
    """An intake with its answers, latest assessment and the clinic's review of it."""
    latest = intake.latest_assessment
    return {**summary(intake, latest), "answers": intake.answers,
            "latest_assessment": assessment_data(latest) if latest else None, **review_data(intake)}


def _signer(user: StaffUser) -> dict[str, Any]:
    return {"id": user.id, "name": user.display_name, "email": user.email}


def review_data(intake: Intake) -> dict[str, Any]:
    """What the clinic did with an intake, oldest first: every decision (amended ones too, with
    what amended them), every flag review with its reason, every plan edit. Nothing is left
    out: the export is the record a clinic keeps or hands to another system."""
    def rows(model: Any) -> list[Any]:
        return list(db.session.scalars(select(model).where(model.intake_id == intake.id).order_by(model.id)))

    decisions: list[Decision] = rows(Decision)
    reviews: list[FlagReview] = rows(FlagReview)
    edits: list[PlanEdit] = rows(PlanEdit)
    return {
        "review_status": intake.review_status,
        "decisions": [{
            "id": d.id, "assessment_id": d.assessment_id, "outcome": d.outcome, "defer_until": d.defer_until,
            "question": d.question or None, "reopened_sections": d.reopened_sections or [], "note": d.note or None,
            "patient_message": d.patient_message or None, "plan": d.plan, "signed_by": _signer(d.staff_user),
            "signed_at": as_utc(d.signed_at), "ruleset_version": d.ruleset_version,
            "supersedes_id": d.supersedes_id, "amendment_reason": d.amendment_reason or None,
            "reply": d.reply or None, "replied_at": as_utc(d.replied_at),
        } for d in decisions],
        "flag_reviews": [{
            "id": r.id, "assessment_id": r.assessment_id, "rule_id": r.rule_id, "action": r.action,
            "reason": r.reason or None, "by": _signer(r.staff_user), "at": as_utc(r.at),
            "carried_from_id": r.carried_from_id,
        } for r in reviews],
        "plan_edits": [{
            "id": e.id, "assessment_id": e.assessment_id, "plan": e.plan, "changes": e.changes,
            "by": _signer(e.staff_user), "at": as_utc(e.at), "carried_from_id": e.carried_from_id,
        } for e in edits],
    }


def assessment_data(assessment: Assessment) -> dict[str, Any]:
    return {
        "id": assessment.id,
        "created_at": as_utc(assessment.created_at),
        "assessed_on": assessment.assessed_on,
        "ruleset_version": assessment.ruleset_version,
        "outcome": assessment.outcome,
        "defer_until": assessment.defer_until,
        "document": assessment.document,
    }


def created(intake: Intake, assessment: Assessment, patient_link: str) -> dict[str, Any]:
    """What a booking system gets back when its intake is stored."""
    flags = assessment.document.get("flags") or []
    return {
        "id": intake.id,
        "status": intake.status,
        "outcome": assessment.outcome,
        "defer_until": assessment.defer_until,
        "ruleset_version": assessment.ruleset_version,
        "flags": [{key: flag[key] for key in ("rule_id", "severity", "message")} for flag in flags],
        "flag_counts": dict(Counter(flag["severity"] for flag in flags)),
        "patient_link": patient_link,
    }

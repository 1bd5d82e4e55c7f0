"""What the API and the exports do to intakes. Each read and write writes its audit entry."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from typing import Any

from ..answers import load_answers
from ..audit import record
from ..clock import as_utc, utcnow
from ..extensions import db
from ..models import Assessment, Intake, IntakeStatus, hash_token, new_token
from ..patient.service import submit_intake
from ..review.queries import IntakePage, filtered_intakes, page_of
from ..rulesets.active import ActiveRuleset


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
    """Summaries of every intake matching the filters, for the CSV; the audit entry names each one."""
    # Summaries are built before the commit, which would expire every row loaded.
    items = [summary(intake, assessment) for intake, assessment in db.session.execute(filtered_intakes(filters))]
    record(actor, "intakes.exported", None, f"Queue exported as CSV ({len(items)} intakes)",
           format="csv", filters=jsonable_filters(filters), intake_ids=[item["id"] for item in items])
    db.session.commit()
    return items


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
    """An intake with its answers and latest assessment."""
    latest = intake.latest_assessment
    return {**summary(intake, latest), "answers": intake.answers,
            "latest_assessment": assessment_data(latest) if latest else None}


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

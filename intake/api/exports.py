"""Exports: the filtered queue as CSV or JSON, one intake as JSON or a FHIR Bundle (staff only), and
the FHIR Questionnaire of the form at its public canonical URL (it holds no patient data)."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from typing import Any

from flask import Blueprint, Response, abort, redirect, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from ..answers import fhir as answers_fhir
from ..auth.access import StaffBlueprint
from ..clock import as_utc, utcnow
from ..extensions import db
from ..models import Decision, Intake, StaffUser
from ..rulesets.assessments import latest_reviews
from . import fhir, service
from .schemas import IntakeFiltersSchema

blueprint = StaffBlueprint("exports", __name__, url_prefix="/staff")
#: The canonical home of the form's FHIR Questionnaire: public, so a receiving system can resolve it.
public_blueprint = Blueprint("fhir", __name__, url_prefix="/fhir")

CSV_COLUMNS = ("id", "status", "review_status", "full_name", "email", "appointment_date", "outcome",
               "defer_until", "flag_count", "open_flags", "decision", "defer_decided_until", "decided_by",
               "decided_at", "created_at", "submitted_at")
#: A spreadsheet runs a cell that starts with one of these as a formula (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FHIR_JSON = "application/fhir+json"
#: What a spreadsheet passes over before a formula: whitespace of any kind, and cell separators.
LEADING_FILLER = re.compile(r"^[\s;,|]+")


@blueprint.after_request
def keep_private(response: Response) -> Response:
    """Exports are health data: never cached by a browser or a proxy."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _intake_or_404(intake_id: int) -> Intake:
    intake = db.session.get(Intake, intake_id)
    if intake is None:
        abort(404)
    return intake


def csv_cell(value: Any) -> str:
    """A value as a CSV cell that a spreadsheet shows as text, never runs."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    # A spreadsheet skips leading spaces and separators and reads full-width signs as their ASCII
    # forms, so " =1+1", "＝1+1" and ";=1+1" are formulas too: look past all that before deciding.
    probe = LEADING_FILLER.sub("", unicodedata.normalize("NFKC", text))
    return "'" + text if text.startswith(FORMULA_STARTS) or probe.startswith(FORMULA_STARTS) else text


def _filters() -> dict[str, Any]:
    try:
        filters: dict[str, Any] = IntakeFiltersSchema().load(request.args.to_dict())
    except ValidationError:
        abort(400)
    return filters


@blueprint.get("/intakes.csv")
def export_queue_csv() -> Response:
    """The queue, filtered as the query string says, as a CSV download with where each review stands."""
    rows = service.export_intakes(_filters(), current_user.actor)
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([csv_cell(row[column]) for column in CSV_COLUMNS])
    return Response(output.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="intakes.csv"'})


#: The JSON export's format name and version (2: with decisions, flag reviews and plan edits).
EXPORT_FORMAT = {"format": "meso-intake.export", "version": 2}


def _json_download(document: Any, filename: str) -> Response:
    return Response(json.dumps(document, indent=2, ensure_ascii=False, default=_jsonable),
                    mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@blueprint.get("/intakes.json")
def export_queue_json() -> Response:
    """The queue, filtered as the query string says, as one JSON download of every intake's whole record."""
    documents = service.export_documents(_filters(), current_user.actor)
    return _json_download({**EXPORT_FORMAT, "intakes": documents}, "intakes.json")


@blueprint.get("/intakes/<int:intake_id>/export.json")
def export_intake_json(intake_id: int) -> Response:
    """One intake with its answers, every assessment and the clinic's review of it, as a JSON download."""
    intake = _intake_or_404(intake_id)
    document = {**EXPORT_FORMAT, **service.export_document(intake)}
    service.view_intake(intake, current_user.actor, "intake.exported", format="json")
    return _json_download(document, f"intake-{intake_id}.json")


def _staff(user: StaffUser) -> fhir.Staff:
    return fhir.Staff(user.id, user.display_name, user.email)


def _record(intake: Intake) -> fhir.IntakeRecord:
    assessment = intake.latest_assessment
    reviews = latest_reviews(assessment.id) if assessment else {}
    standing: Decision | None = service.latest_decisions([intake.id]).get(intake.id)
    return fhir.IntakeRecord(
        intake_id=intake.id,
        submitted=intake.is_submitted,
        answers=intake.answers or {},
        authored=as_utc(intake.submitted_at or intake.updated_at),
        assessed_on=assessment.assessed_on if assessment else None,
        flags=(assessment.document.get("flags") or []) if assessment else [],
        reviews={rule_id: fhir.FlagReview(r.action, r.reason or "", _staff(r.staff_user), r.at)
                 for rule_id, r in reviews.items()},
        decision=fhir.Decision(
            standing.id, standing.outcome, standing.defer_until, standing.patient_message or "", standing.note or "",
            _staff(standing.staff_user), standing.signed_at, standing.supersedes_id,
            standing.amendment_reason or "") if standing else None,
    )


@blueprint.get("/intakes/<int:intake_id>/fhir")
def export_intake_fhir(intake_id: int) -> Response:
    """One intake as a FHIR R4 Bundle: Patient, QuestionnaireResponse, flags, decision (intake/api/fhir.py)."""
    intake = _intake_or_404(intake_id)
    bundle = fhir.intake_bundle(_record(intake), questionnaire_url=questionnaire_url(), timestamp=utcnow())
    service.view_intake(intake, current_user.actor, "intake.exported", format="fhir")
    return Response(json.dumps(bundle, ensure_ascii=False), mimetype=FHIR_JSON,
                    headers={"Content-Disposition": f'attachment; filename="intake-{intake_id}.fhir.json"'})


@blueprint.get("/fhir/Questionnaire")
def show_fhir_questionnaire() -> Response:
    """Where the Questionnaire used to be (for staff only): now at its public canonical URL."""
    return redirect(questionnaire_url(), 301)  # type: ignore[return-value]


@public_blueprint.get(f"/Questionnaire/{answers_fhir.QUESTIONNAIRE_ID}")
def show_questionnaire() -> Response:
    """The FHIR R4 Questionnaire describing the intake form: public, the same for everyone, no patient data."""
    response = Response(json.dumps(answers_fhir.questionnaire(questionnaire_url()), ensure_ascii=False),
                        mimetype=FHIR_JSON)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def questionnaire_url() -> str:
    return url_for("fhir.show_questionnaire", _external=True)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")

"""Staff exports: the filtered queue as CSV, one intake as JSON or FHIR, and our FHIR Questionnaire."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from typing import Any

from flask import Response, abort, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from ..answers import fhir
from ..auth.access import StaffBlueprint
from ..clock import as_utc
from ..extensions import db
from ..models import Intake
from . import service
from .schemas import IntakeFiltersSchema

blueprint = StaffBlueprint("exports", __name__, url_prefix="/staff")

CSV_COLUMNS = ("id", "status", "full_name", "email", "appointment_date", "outcome", "defer_until",
               "flag_count", "created_at", "submitted_at")
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


@blueprint.get("/intakes.csv")
def export_queue_csv() -> Response:
    """The queue, filtered as the query string says, as a CSV download."""
    try:
        filters = IntakeFiltersSchema().load(request.args.to_dict())
    except ValidationError:
        abort(400)
    rows = service.export_intakes(filters, current_user.actor)
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([csv_cell(row[column]) for column in CSV_COLUMNS])
    return Response(output.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="intakes.csv"'})


@blueprint.get("/intakes/<int:intake_id>/export.json")
def export_intake_json(intake_id: int) -> Response:
    """One intake with its answers and every assessment, as a JSON download."""
    intake = _intake_or_404(intake_id)
    summary = service.summary(intake, intake.latest_assessment)
    document = {
        "format": "meso-intake.export",
        "version": 1,
        "intake": {key: _jsonable(value) for key, value in summary.items()},
        "answers": intake.answers,
        "assessments": [{key: _jsonable(value) for key, value in service.assessment_data(a).items()}
                        for a in intake.assessments],
    }
    service.view_intake(intake, current_user.actor, "intake.exported", format="json")
    return Response(json.dumps(document, indent=2, ensure_ascii=False), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="intake-{intake_id}.json"'})


@blueprint.get("/intakes/<int:intake_id>/fhir")
def export_intake_fhir(intake_id: int) -> Response:
    """One intake's answers as a FHIR R4 QuestionnaireResponse."""
    intake = _intake_or_404(intake_id)
    resource = fhir.questionnaire_response(
        intake_id=intake.id,
        submitted=intake.is_submitted,
        answers=intake.answers or {},
        authored=as_utc(intake.submitted_at or intake.updated_at),
        questionnaire_url=_questionnaire_url(),
    )
    service.view_intake(intake, current_user.actor, "intake.exported", format="fhir")
    return Response(json.dumps(resource, ensure_ascii=False), mimetype=FHIR_JSON,
                    headers={"Content-Disposition": f'attachment; filename="intake-{intake_id}.fhir.json"'})


@blueprint.get("/fhir/Questionnaire")
def show_fhir_questionnaire() -> Response:
    """The FHIR R4 Questionnaire describing the intake form (no patient data)."""
    return Response(json.dumps(fhir.questionnaire(_questionnaire_url()), ensure_ascii=False), mimetype=FHIR_JSON)


def _questionnaire_url() -> str:
    return url_for("exports.show_fhir_questionnaire", _external=True)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value

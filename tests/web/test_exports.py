"""Staff exports: the queue as CSV, one intake as JSON and FHIR R4, our FHIR Questionnaire; on both backends."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlsplit

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from sqlalchemy import select

from intake.answers import GOALS, SECTIONS
from intake.api.exports import csv_cell
from intake.auth import service
from intake.extensions import db
from intake.models import AuditEntry
from intake.patient.service import start_intake
from tests.support.api import ANTICOAGULANT, PASSWORD, PREGNANT, make_admin, make_token, named, post_intake
from tests.support.forms import FormClient
from tests.support.staff import sign_in


@pytest.fixture
def intakes_to_export(app, client) -> dict[str, int]:
    """Three submitted intakes (one with a name a spreadsheet would run) and a draft."""
    make_admin(app)
    _, secret = make_token(app)
    ids = {
        "ana": post_intake(client, secret, named("Ana Silva", "ana@example.org", "2026-12-09")).json["id"],
        "bea": post_intake(client, secret, named("Bea Costa", "bea@example.org", "2026-12-01", **PREGNANT)).json["id"],
        "eq": post_intake(client, secret, named("=HYPERLINK(\"http://evil.example\")", "eq@example.org",
                                                "2026-12-20", **ANTICOAGULANT)).json["id"],
    }
    with app.app_context():
        ids["eve"] = start_intake({"full_name": "@Eve Draft", "email": "eve@example.org"})[0].id
    return ids


@pytest.fixture
def staff(app, client):
    """A client signed in as a practitioner."""
    with app.app_context():
        service.create_user("pat@demo.clinic", "Pat Practitioner", "practitioner", PASSWORD)
    forms = FormClient(client)
    sign_in(forms)
    return client


def exported(app, action: str = "intake.exported") -> list[AuditEntry]:
    with app.app_context():
        entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                          .order_by(AuditEntry.id)))
        db.session.expunge_all()
        return entries


#: The canonical URL of the form's Questionnaire (public).
QUESTIONNAIRE = "/fhir/Questionnaire/meso-intake"


def rows_of(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


# --- who may export


@pytest.mark.parametrize("url", ["/staff/intakes.csv", "/staff/intakes.json", "/staff/intakes/1/export.json",
                                 "/staff/intakes/1/fhir", "/staff/fhir/Questionnaire"])
def test_anonymous_visitors_are_sent_to_sign_in(app, client, url):
    response = client.get(url)
    assert response.status_code == 302
    location = urlsplit(response.location)
    assert location.path == "/staff/sign-in" and parse_qs(location.query) == {"next": [url]}
    assert exported(app) == [] and exported(app, "intakes.exported") == []


def test_an_api_token_does_not_open_the_staff_exports(app, client, intakes_to_export):
    _, secret = make_token(app, "Other")
    response = client.get("/staff/intakes.csv", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 302


def test_a_deactivated_practitioner_is_signed_out_instead(app, staff, intakes_to_export):
    with app.app_context():
        service.deactivate(service.find_user("pat@demo.clinic"))
    assert staff.get(f"/staff/intakes/{intakes_to_export['ana']}/export.json").status_code == 302
    assert exported(app) == []


def test_an_admin_may_export_too(app, client, intakes_to_export):
    sign_in(FormClient(client), email="ada@demo.clinic")
    assert client.get("/staff/intakes.csv").status_code == 200


# --- CSV of the queue


def test_the_queue_as_csv_most_severe_first_with_formulas_defused(app, staff, intakes_to_export):
    response = staff.get("/staff/intakes.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="intakes.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    rows = rows_of(response)
    assert list(rows[0]) == ["id", "status", "review_status", "full_name", "email", "appointment_date", "outcome",
                             "defer_until", "flag_count", "open_flags", "decision", "defer_decided_until",
                             "decided_by", "decided_at", "created_at", "submitted_at"]
    assert [row["full_name"] for row in rows] == [
        "'=HYPERLINK(\"http://evil.example\")", "Bea Costa", "Ana Silva", "'@Eve Draft"]
    ana = rows[2]
    assert (ana["id"], ana["status"], ana["email"], ana["appointment_date"], ana["outcome"], ana["flag_count"]) == (
        str(intakes_to_export["ana"]), "submitted", "ana@example.org", "2026-12-09", "precaution", "1")
    assert (ana["review_status"], ana["open_flags"], ana["decision"], ana["decided_by"]) == (
        "awaiting_review", "1", "", "")
    assert rows[3]["outcome"] == "" and rows[3]["submitted_at"] == "" and rows[3]["review_status"] == "draft"
    (entry,) = exported(app, "intakes.exported")
    assert entry.actor.startswith("staff:") and entry.data["format"] == "csv"
    assert entry.data["intake_ids"] == [intakes_to_export["eq"], intakes_to_export["bea"], intakes_to_export["ana"],
                                        intakes_to_export["eve"]]


@pytest.mark.parametrize(("query", "names"), [
    ("status=draft", ["'@Eve Draft"]),
    ("outcome=defer", ["Bea Costa"]),
    ("appointment_from=2026-12-05&appointment_to=2026-12-10", ["Ana Silva"]),
    ("q=ANA", ["Ana Silva"]),
])
def test_the_csv_follows_the_queue_filters(app, staff, intakes_to_export, query, names):
    assert [row["full_name"] for row in rows_of(staff.get(f"/staff/intakes.csv?{query}"))] == names
    (entry,) = exported(app, "intakes.exported")
    assert entry.data["filters"]


@pytest.mark.parametrize("query", ["outcome=fine", "appointment_from=soon", "colour=blue"])
def test_bad_csv_filters_get_400(app, staff, intakes_to_export, query):
    assert staff.get(f"/staff/intakes.csv?{query}").status_code == 400
    assert exported(app, "intakes.exported") == []


@pytest.mark.parametrize(("value", "cell"), [
    ("=1+1", "'=1+1"), ("+44 7700", "'+44 7700"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("Ana", "Ana"), (None, ""), (4, "4"),
])
def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(value, cell):
    assert csv_cell(value) == cell


# --- one intake as JSON


def test_one_intake_as_json_with_answers_and_assessments(app, staff, intakes_to_export):
    response = staff.get(f"/staff/intakes/{intakes_to_export['bea']}/export.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == f'attachment; filename="intake-{intakes_to_export["bea"]}.json"'
    body = response.json
    assert body["format"] == "meso-intake.export" and body["version"] == 2
    assert body["review_status"] == "awaiting_review"
    assert body["decisions"] == [] and body["flag_reviews"] == [] and body["plan_edits"] == []
    assert body["intake"]["id"] == intakes_to_export["bea"] and body["intake"]["outcome"] == "defer"
    assert body["answers"]["health"]["pregnancy_weeks"] == 12
    (assessment,) = body["assessments"]
    assert assessment["outcome"] == "defer" and assessment["document"]["flags"][0]["rule_id"] == "pregnancy"
    (entry,) = exported(app)
    assert entry.intake_id == intakes_to_export["bea"] and entry.data == {"format": "json"}
    assert entry.actor.startswith("staff:")


def test_exporting_a_missing_intake_is_404(app, staff):
    assert staff.get("/staff/intakes/999/export.json").status_code == 404
    assert staff.get("/staff/intakes/999/fhir").status_code == 404
    assert exported(app) == []


# --- FHIR


def test_the_questionnaire_is_valid_fhir_r4_and_describes_every_answer(client):
    response = client.get(QUESTIONNAIRE)  # public: no sign-in
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    resource = Questionnaire.model_validate(response.json)
    assert resource.url == f"http://localhost{QUESTIONNAIRE}" and resource.status == "active"
    groups = {item.linkId: item for item in resource.item}
    assert list(groups) == list(SECTIONS)
    about = {item.linkId: item for item in groups["about"].item}
    assert about["about.email"].type == "string" and about["about.email"].required
    assert about["about.date_of_birth"].type == "date"
    assert not about["about.appointment_date"].required  # "not booked yet" is an answer
    goals = {item.linkId: item for item in groups["goals"].item}
    assert goals["goals.goals"].type == "choice" and goals["goals.goals"].repeats
    assert [option.valueCoding.code for option in goals["goals.goals"].answerOption] == [v for v, _ in GOALS]
    skin = {item.linkId: item for item in groups["skin"].item}
    assert skin["skin.sensitive_skin"].type == "boolean"
    assert [o.valueCoding.code for o in skin["skin.fitzpatrick_type"].answerOption] == list("123456")
    lifestyle = {item.linkId: item for item in groups["lifestyle"].item}
    assert lifestyle["lifestyle.alcohol_drinks_per_week"].type == "integer"
    medications = {item.linkId: item for item in groups["medications"].item}
    assert medications["medications.items"].type == "group" and medications["medications.items"].repeats
    assert [item.linkId for item in medications["medications.items"].item][:2] == [
        "medications.items.name", "medications.items.dose"]


def answers_by_link(items, found=None) -> dict[str, list]:
    found = {} if found is None else found
    for item in items or []:
        found.setdefault(item.linkId, []).extend(item.answer or [])
        answers_by_link(item.item, found)
    return found


def bundle_of(response) -> tuple[Bundle, dict[str, list]]:
    """The Bundle, validated, and its resources by type."""
    bundle = Bundle.model_validate(response.json)
    by_type: dict[str, list] = {}
    for entry in bundle.entry:
        by_type.setdefault(entry.resource.get_resource_type(), []).append(entry)
    return bundle, by_type


def test_one_intake_as_a_valid_fhir_r4_bundle(app, staff, intakes_to_export):
    response = staff.get(f"/staff/intakes/{intakes_to_export['eq']}/fhir")
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    bundle, by_type = bundle_of(response)
    assert bundle.type == "collection"
    (patient,) = by_type["Patient"]
    assert patient.resource.telecom[0].value == "eq@example.org"
    assert patient.resource.birthDate.isoformat() == "1990-04-02"
    (entry,) = by_type["QuestionnaireResponse"]
    resource = entry.resource
    assert resource.status == "completed" and resource.authored is not None
    assert resource.subject.reference == patient.fullUrl
    assert resource.questionnaire == f"http://localhost{QUESTIONNAIRE}|1"
    assert resource.identifier.value == str(intakes_to_export["eq"])
    answers = answers_by_link(resource.item)
    assert answers["about.email"][0].valueString == "eq@example.org"
    assert [a.valueCoding.code for a in answers["goals.goals"]] == ["hydration", "fine_lines"]
    assert answers["goals.goals"][0].valueCoding.display == "Hydration"
    assert answers["skin.fitzpatrick_type"][0].valueCoding.code == "3"
    assert answers["skin.sensitive_skin"][0].valueBoolean is False
    assert answers["lifestyle.alcohol_drinks_per_week"][0].valueInteger == 6
    assert answers["medications.items.name"][0].valueString == "Eliquis 5mg"
    assert "other_goal" not in str(answers)  # unanswered questions are left out
    issues = by_type["DetectedIssue"]
    assert issues and all(issue.resource.patient.reference == patient.fullUrl for issue in issues)
    assert {issue.resource.severity for issue in issues} <= {"high", "moderate", "low"}
    assert "ClinicalImpression" not in by_type  # no decision yet
    (audited,) = exported(app)
    assert audited.intake_id == intakes_to_export["eq"] and audited.data == {"format": "fhir"}


def test_the_questionnaire_the_response_names_is_served_to_anyone(client, staff, intakes_to_export):
    _, by_type = bundle_of(staff.get(f"/staff/intakes/{intakes_to_export['eq']}/fhir"))
    url = by_type["QuestionnaireResponse"][0].resource.questionnaire.split("|")[0]
    anonymous = client.application.test_client()
    response = anonymous.get(url.removeprefix("http://localhost"))
    assert response.status_code == 200 and response.json["resourceType"] == "Questionnaire"
    body = response.get_data(as_text=True)
    assert "eq@example.org" not in body and "Ana Silva" not in body  # the form, no patient data


def test_the_old_staff_questionnaire_address_moves_to_the_public_one(staff):
    response = staff.get("/staff/fhir/Questionnaire")
    assert response.status_code == 301 and response.location.endswith(QUESTIONNAIRE)


def test_a_draft_is_an_in_progress_questionnaire_response(staff, intakes_to_export):
    _, by_type = bundle_of(staff.get(f"/staff/intakes/{intakes_to_export['eve']}/fhir"))
    resource = by_type["QuestionnaireResponse"][0].resource
    assert resource.status == "in-progress"
    assert answers_by_link(resource.item)["about.full_name"][0].valueString == "@Eve Draft"

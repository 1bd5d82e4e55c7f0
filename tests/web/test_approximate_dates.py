"""Dates a patient is not sure of and the last dose of a painkiller taken only when needed (issue 16),
on both backends: stored, validated with clear messages (what was typed kept), shown on the review
page and the record, in the JSON Schema, the API and the export; the NSAID precaution by the last dose."""

from __future__ import annotations

import json
from pathlib import Path

from intake.extensions import db
from intake.models import Intake
from tests.support.api import bearer, make_admin, make_token, named, post_intake
from tests.support.html import field_value, parse, problems
from tests.support.patient import complete, save, start, submit, text
from tests.support.review import record_url

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "answers.schema.json"
#: The appointment of tests.support.patient.COMPLETE is 9 December 2026; TODAY is 25 November.
AS_NEEDED = {"items-0-name": "Nurofen", "items-0-dose": "", "items-0-status": "taking",
             "items-0-how_taken": "as_needed", "items-0-prescribed": "no"}


def latest_intake(app) -> Intake:
    with app.app_context():
        intake = db.session.scalar(db.select(Intake).order_by(Intake.id.desc()).limit(1))
        db.session.expunge(intake)
        return intake


def flags_of(app, intake_id: int) -> dict[str, dict]:
    with app.app_context():
        return {f["rule_id"]: f for f in db.session.get(Intake, intake_id).latest_assessment.document["flags"]}


def test_an_as_needed_painkiller_and_its_approximate_last_dose_are_stored(app, forms):
    token = start(forms)
    complete(forms, token, until="medications")
    response = save(forms, token, "medications", {**AS_NEEDED, "items-0-last_taken_on": "2026-11-10",
                                                  "items-0-last_taken_on_precision": "roughly"})
    assert response.status_code == 302
    first = latest_intake(app).answers["medications"]["items"][0]
    assert (first["how_taken"], first["last_taken_on"], first["last_taken_on_precision"]) == (
        "as_needed", "2026-11-10", "roughly")


def test_a_last_dose_after_the_appointment_is_refused_with_its_date_and_kept(app, forms):
    token = start(forms)
    complete(forms, token, until="medications")
    response = save(forms, token, "medications", {**AS_NEEDED, "items-0-last_taken_on": "2026-12-10"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert ("#items-0-last_taken_on",
            "The date you last took it cannot be after your appointment on 9 December 2026.") in problems(html)
    assert field_value(html, "items-0-last_taken_on") == "2026-12-10"
    response = save(forms, token, "medications", {**AS_NEEDED, "items-0-last_taken_on": "2026-11-30"})
    assert ("#items-0-last_taken_on", "The date you last took it cannot be in the future.") in problems(
        response.get_data(as_text=True))


def test_a_last_drink_after_the_appointment_names_it(app, forms):
    token = start(forms)
    complete(forms, token, until="lifestyle")
    response = save(forms, token, "lifestyle", {"last_drink_on": "2026-12-12"})
    assert ("#last_drink_on", "The date of your last drink cannot be after your appointment on 9 December 2026.") \
        in problems(response.get_data(as_text=True))


def test_how_sure_without_a_date_is_refused_and_the_choice_kept(app, forms):
    token = start(forms)
    complete(forms, token, until="lifestyle")
    response = save(forms, token, "lifestyle", {"last_drink_on_precision": "month"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert [message for _target, message in problems(html)] == [
        "Enter the date first, or leave “How sure are you of this date?” empty."]
    checked = parse(html).select_one("input[name=last_drink_on_precision][checked]")
    assert checked is not None and checked["value"] == "month"


def test_shown_as_the_patient_said_on_the_review_page_and_the_record_with_the_precaution(app, forms, signed_in):
    token = start(forms)
    complete(forms, token, overrides={
        "medications": {**AS_NEEDED, "items-0-last_taken_on": "2026-11-10", "items-0-last_taken_on_precision": "year",
                        "items-1-stopped_on_precision": "month"},
        "lifestyle": {"last_drink_on": "2026-11-25", "last_drink_on_precision": "roughly"}})
    review = text(forms.client.get(f"/i/{token}/review"))
    assert "sometime in 2026 (not sure of the month)" in review
    assert "around November 2026 (not sure of the day)" in review
    assert "around Wednesday 25 November 2026 (give or take 2 weeks)" in review
    assert "How sure are you of this date?" not in review
    assert submit(forms, token).status_code == 302
    intake = latest_intake(app)
    page = parse(signed_in.client.get(record_url(intake.id)).get_data(as_text=True)).get_text(" ", strip=True)
    assert "Last taken sometime in 2026 (not sure of the month)" in page
    flags = flags_of(app, intake.id)
    # "Sometime in 2026": possibly the day before the appointment, which the practitioner is told to confirm.
    assert flags["unprescribed-nsaid-or-aspirin"]["severity"] == "precaution"
    assert flags["nsaid-or-aspirin-last-dose-uncertain"]["severity"] == "info"
    assert flags["last-drink-date-uncertain"]["severity"] == "info"
    assert "as-needed-nsaid-or-aspirin" not in flags


def test_a_last_dose_known_to_be_before_the_window_gets_only_the_date_to_stop_from(app, forms):
    token = start(forms)
    complete(forms, token, overrides={"medications": {**AS_NEEDED, "items-0-last_taken_on": "2026-11-20"}})
    assert submit(forms, token).status_code == 302
    flags = flags_of(app, latest_intake(app).id)
    assert "unprescribed-nsaid-or-aspirin" not in flags and "nsaid-or-aspirin-last-dose-uncertain" not in flags
    assert flags["as-needed-nsaid-or-aspirin"]["severity"] == "info"
    assert "From Wednesday 2 December: do not take aspirin, ibuprofen" in text(forms.client.get(f"/i/{token}"))


def test_in_the_json_schema_the_api_and_the_export(app, client, signed_in):
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    item = schema["properties"]["medications"]["properties"]["items"]["items"]["properties"]
    assert item["last_taken_on"]["format"] == "date"
    assert [v for v in item["stopped_on_precision"]["enum"] if v] == ["exact", "month", "year", "roughly"]
    assert [v for v in item["how_taken"]["enum"] if v] == ["regularly", "as_needed"]
    assert "last_drink_on_precision" in schema["properties"]["lifestyle"]["properties"]
    make_admin(app)
    _, secret = make_token(app)
    document = named("Ana Silva", "ana@example.org", "2026-12-09")
    document["medications"] = {"has_medications": True, "items": [
        {"name": "Roaccutane", "status": "stopped", "stopped_on": "2026-06-01", "stopped_on_precision": "month",
         "stopped_by": "prescriber", "prescribed": True}]}
    created = post_intake(client, secret, document)
    assert created.status_code == 201, created.json
    assert {"oral-isotretinoin", "isotretinoin-stop-date-uncertain"} <= {f["rule_id"] for f in created.json["flags"]}
    read = client.get(f"/api/v1/intakes/{created.json['id']}", headers=bearer(secret)).json
    assert read["answers"]["medications"]["items"][0]["stopped_on_precision"] == "month"
    exported = signed_in.client.get(f"/staff/intakes/{created.json['id']}/export.json").json
    assert exported["answers"]["medications"]["items"][0]["stopped_on_precision"] == "month"
    without_date = named("Bea Costa", "bea@example.org", "2026-12-09")
    without_date["lifestyle"] = {**without_date["lifestyle"], "last_drink_on_precision": "month"}
    refused = post_intake(client, secret, without_date)
    assert refused.status_code == 422
    assert refused.json["errors"]["lifestyle"]["last_drink_on_precision"] == [
        "Enter the date first, or leave “How sure are you of this date?” empty."]

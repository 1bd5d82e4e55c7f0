"""What a patient really says about drinking, and a note for the practitioner (issue 16, first part),
on both backends: stored, validated, shown on the review page and the record, in the JSON Schema
and the API; the alcohol precaution only for drinking close to the appointment."""

from __future__ import annotations

import json
from pathlib import Path

from intake.extensions import db
from intake.models import Intake
from tests.support.api import make_admin, make_token, named, post_intake
from tests.support.html import field_value, parse, problems
from tests.support.patient import complete, save, start, submit, text
from tests.support.review import record_url

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "answers.schema.json"


def answers_of(app, token_intake_id: int) -> dict:
    with app.app_context():
        return db.session.get(Intake, token_intake_id).answers


def latest_intake(app) -> Intake:
    with app.app_context():
        intake = db.session.scalar(db.select(Intake).order_by(Intake.id.desc()).limit(1))
        db.session.expunge(intake)
        return intake


def test_the_last_drink_and_plans_are_stored(app, forms):
    token = start(forms)
    complete(forms, token, until="lifestyle")
    response = save(forms, token, "lifestyle", {"last_drink_on": "2026-11-22", "drinking_before_appointment": "no"})
    assert response.status_code == 302
    lifestyle = latest_intake(app).answers["lifestyle"]
    assert lifestyle["last_drink_on"] == "2026-11-22" and lifestyle["drinking_before_appointment"] is False


def test_both_may_be_left_blank(app, forms):
    token = start(forms)
    complete(forms, token, until="lifestyle")
    assert save(forms, token, "lifestyle", {"alcohol_drinks_per_week": "0"}).status_code == 302
    lifestyle = latest_intake(app).answers["lifestyle"]
    assert lifestyle.get("last_drink_on") is None and lifestyle.get("drinking_before_appointment") is None


def test_a_last_drink_in_the_future_is_refused_with_a_clear_message_and_kept(app, forms):
    token = start(forms)
    complete(forms, token, until="lifestyle")
    response = save(forms, token, "lifestyle", {"last_drink_on": "2026-12-01"})  # TODAY is 2026-11-25
    assert response.status_code == 200  # the section again, with what to fix
    html = response.get_data(as_text=True)
    assert ("#last_drink_on", "The date of your last drink cannot be in the future.") in problems(html)
    assert field_value(html, "last_drink_on") == "2026-12-01"


def test_shown_on_the_review_page_and_the_record_with_the_note(app, forms, signed_in):
    token = start(forms)
    complete(forms, token, overrides={
        "lifestyle": {"last_drink_on": "2026-11-24", "drinking_before_appointment": "yes"},
        "consent": {"anything_else": "I faint at the sight of needles; please let me lie down."}})
    review = text(forms.client.get(f"/i/{token}/review"))
    assert "Last alcoholic drink" in review and "Plans to drink in the 2 days before" in review
    assert "I faint at the sight of needles" in review
    assert submit(forms, token).status_code == 302
    intake = latest_intake(app)
    html = parse(signed_in.client.get(record_url(intake.id)).get_data(as_text=True))
    note = html.select_one("#patient-note")
    assert note is not None and "I faint at the sight of needles" in note.get_text()
    assert "no rule reads it" in note.get_text()
    flag = html.select_one("#flag-alcohol-close-to-appointment")
    assert flag is not None  # plans to drink in the 2 days before
    assert "Plans to drink in the 2 days before: Yes" in flag.get_text(" ", strip=True)


def test_a_drinker_far_from_the_appointment_gets_an_instruction_not_a_flag(app, forms):
    token = start(forms)
    complete(forms, token, overrides={"lifestyle": {"last_drink_on": "2026-11-20",
                                                    "drinking_before_appointment": "no"}})
    assert submit(forms, token).status_code == 302
    document = latest_intake(app)
    with app.app_context():
        flags = {f["rule_id"]: f for f in db.session.get(Intake, document.id).latest_assessment.document["flags"]}
    assert flags["alcohol-before-appointment"]["severity"] == "info"
    assert "alcohol-close-to-appointment" not in flags
    instructions = text(forms.client.get(f"/i/{token}"))
    assert "no alcohol, until 24 hours after your appointment" in instructions


def test_in_the_json_schema_and_the_api(app, client):
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    lifestyle = schema["properties"]["lifestyle"]["properties"]
    assert lifestyle["last_drink_on"]["format"] == "date" and "last_drink_on" not in schema["properties"][
        "lifestyle"].get("required", [])
    assert lifestyle["drinking_before_appointment"]["type"] in ("boolean", ["boolean", "null"])
    assert "anything_else" in schema["properties"]["consent"]["properties"]
    make_admin(app)
    _, secret = make_token(app)
    document = named("Ana Silva", "ana@example.org", "2026-12-09")
    document["lifestyle"] = {**document["lifestyle"], "alcohol_drinks_per_week": 3,
                             "drinking_before_appointment": True}
    created = post_intake(client, secret, document)
    assert created.status_code == 201, created.json
    assert "alcohol-close-to-appointment" in [flag["rule_id"] for flag in created.json["flags"]]
    future = named("Bea Costa", "bea@example.org", "2026-12-09")
    future["lifestyle"] = {**future["lifestyle"], "last_drink_on": "2027-01-01"}
    refused = post_intake(client, secret, future)
    assert refused.status_code == 422
    assert refused.json["errors"]["lifestyle"]["last_drink_on"] == [
        "The date of your last drink cannot be after your appointment on 9 December 2026."]

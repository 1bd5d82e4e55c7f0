"""Named allergies with their reaction: entered by the patient, checked, shown on the review and on
the record as the allergen lexicon understood them, in the exports; on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from intake.answers.jsonschema import answers_json_schema
from intake.extensions import db
from intake.models import Intake, hash_token
from tests.support.html import checked, field_value, parse, problems
from tests.support.patient import save, seed, start, submit, text
from tests.support.review import record_url
from tests.support.staff import sign_in

NAMED = {"has_allergies": "yes", "items-0-name": "Xylocaine at the dentist", "items-0-reaction": "swelling",
         "items-1-name": "cats", "items-1-reaction": "rash"}


def stored(app, token: str) -> Intake:
    with app.app_context():
        intake = db.session.scalar(select(Intake).where(Intake.token_hash == hash_token(token)))
        assert intake is not None
        db.session.expunge(intake)
        return intake


def test_a_patient_names_allergies_with_their_reaction_and_sees_them_on_the_review(app, client, forms):
    token = start(forms)
    seed(app, token, until="allergies")
    response = save(forms, token, "allergies", NAMED)
    assert response.status_code == 302, problems(text(response))
    assert stored(app, token).answers["allergies"]["items"] == [
        {"name": "Xylocaine at the dentist", "reaction": "swelling"}, {"name": "cats", "reaction": "rash"}]
    assert stored(app, token).answers["allergies"]["has_allergies"] is True

    seed(app, token, overrides={"allergies": NAMED})  # the other sections (this one as saved)
    review = text(client.get(f"/i/{token}/review"))
    assert "Xylocaine at the dentist" in review
    assert "Swelling of the face, lips, tongue or eyes" in review  # the label, not the value
    assert "Rash, itching or hives" in review


@pytest.mark.parametrize(("changes", "target", "message"), [
    ({**NAMED, "items-0-reaction": None}, "items-0-reaction-0", "Select what happened when you reacted."),
    ({**NAMED, "items-1-name": ""}, "items-1-name", "Enter what you are allergic to."),
    ({"has_allergies": "yes"}, "items-0-name", "Add at least one allergy."),
    ({**NAMED, "has_allergies": "no"}, "items-0-name",
     "You said you have none: remove the list or change the answer."),
])
def test_an_allergy_needs_its_reaction_and_the_form_keeps_what_was_typed(app, forms, changes, target, message):
    token = start(forms)
    seed(app, token, until="allergies")
    response = save(forms, token, "allergies", changes)
    page = text(response)
    assert response.status_code == 200
    assert (f"#{target}", message) in problems(page)
    assert page.count(message) >= 2, "the message is in the summary and beside the field"
    for name, value in changes.items():
        if name.startswith("items-") and value and name.endswith("-name"):
            assert field_value(page, name) == value
        elif name.startswith("items-") and value:
            assert checked(page, name) == [value]
    assert "allergies" not in (stored(app, token).completed_sections or [])


def test_an_intake_stored_before_the_list_was_asked_still_saves(app, forms):
    """No answer to the new question: nothing named, and the section is complete."""
    token = start(forms)
    seed(app, token, until="allergies")
    response = save(forms, token, "allergies", {"other_allergies": "Penicillin, a rash as a child"})
    assert response.status_code == 302, problems(text(response))
    allergies = stored(app, token).answers["allergies"]
    assert allergies.get("has_allergies") is None and allergies.get("items") == []


def test_the_record_shows_the_allergies_as_understood_and_the_flags_they_raise(app, forms, practitioner):
    token = start(forms)
    seed(app, token, until="allergies")
    with_latex = {**NAMED, "other_allergies": "latex gloves"}
    assert save(forms, token, "allergies", with_latex).status_code == 302
    seed(app, token, overrides={"allergies": with_latex})
    assert submit(forms, token).status_code == 302
    intake_id = stored(app, token).id

    sign_in(forms)
    html = parse(forms.client.get(record_url(intake_id)).get_data(as_text=True))
    table = html.select_one("#allergies-understood + .table-wrap table")
    assert table is not None, "no 'Allergies as understood' table"
    rows = [[cell.get_text(" ", strip=True) for cell in row.select("th, td")] for row in table.select("tbody tr")]
    assert rows[0][:2] == ["Xylocaine at the dentist", "Swelling of the face, lips, tongue or eyes"]
    assert rows[0][2] == "lidocaine"
    assert rows[0][3].startswith("Local anaesthetics")
    assert rows[1][0] == "cats" and rows[1][2].startswith("Not recognised")
    assert rows[2][0].startswith("latex gloves") and "free text" in rows[2][0]
    assert rows[2][3] == "Latex (natural rubber)"
    flags = {item["id"].removeprefix("flag-") for item in html.select("[id^=flag-]")}
    assert {"anaesthetic-allergy", "latex-allergy"} <= flags
    anaesthetic = html.select_one("#flag-anaesthetic-allergy").get_text(" ", strip=True)
    assert "Xylocaine at the dentist (swelling) → Local anaesthetics" in anaesthetic
    info = html.get_text(" ", strip=True)
    assert "Allergy not recognised: check with the patient" in info

    exported = forms.client.get(f"/staff/intakes/{intake_id}/export.json")
    assert exported.status_code == 200
    assert exported.get_json()["answers"]["allergies"]["items"][0] == {
        "name": "Xylocaine at the dentist", "reaction": "swelling"}


def test_the_json_schema_describes_the_allergy_list():
    schema = answers_json_schema()
    allergies = schema["properties"]["allergies"]["properties"]
    row = allergies["items"]["items"]
    assert set(row["properties"]) == {"name", "reaction"}
    assert row["properties"]["reaction"]["enum"] == ["rash", "swelling", "anaphylaxis", "unsure"]
    assert set(row["required"]) == {"name", "reaction"}
    assert allergies["has_allergies"]["type"] in ("boolean", ["boolean", "null"])
    json.dumps(schema)

"""Parts of the face on the patient's form, in the stored answers, on the review and record pages and in
the API's schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from intake.extensions import db
from intake.models import Intake, hash_token
from tests.support.html import checked, parse
from tests.support.patient import complete, section_url, start, submit, text
from tests.support.review import record_url

FACE_PARTS = ["forehead", "periorbital", "under_eye", "cheeks", "nasolabial", "perioral", "jawline"]
DOCS = Path(__file__).resolve().parents[2] / "docs"


def stored(app, token: str) -> Intake:
    with app.app_context():
        intake = db.session.scalar(select(Intake).where(Intake.token_hash == hash_token(token)))
        assert intake is not None
        db.session.expunge(intake)
        return intake


def test_the_parts_of_the_face_are_a_group_under_the_whole_face(client, forms):
    token = start(forms)
    complete(forms, token, until="goals")
    html = parse(client.get(section_url(token, "goals")).get_data(as_text=True))
    question = next(f for f in html.select("fieldset.fieldset")
                    if f.legend.get_text(strip=True) == "Which areas would you like treated?")
    hint = question.select_one(".hint").get_text(strip=True)
    assert "tick the whole face or only the parts you want treated" in hint
    top = [box["value"] for box in question.select(":scope > .choices > .choice input")]
    assert top == ["face", "neck", "decolletage", "scalp", "hands"]
    [parts] = question.select("fieldset.choices__parts")
    assert parts.legend.get_text(strip=True) == "Or only some parts of the face"
    assert [box["value"] for box in parts.select("input")] == FACE_PARTS
    # Each box keeps the id of its place in the list, with its own label.
    for box in question.select("input[type=checkbox]"):
        assert question.select_one(f"label[for={box['id']}]") is not None
    assert [box["id"] for box in question.select("input")] == [f"areas-{n}" for n in range(12)]
    # The whole face comes right before its parts.
    assert parts.find_previous_sibling("div").input["value"] == "face"


def test_a_recent_treatments_area_offers_the_parts_of_the_face_as_a_group(app, client, forms):
    token = start(forms)
    complete(forms, token, until="treatments")
    html = parse(client.get(section_url(token, "treatments")).get_data(as_text=True))
    select = html.select_one("select[name='items-0-area']")
    [group] = select.select("optgroup")
    assert group["label"] == "Face"
    assert [o["value"] for o in group.select("option")] == ["face", *FACE_PARTS]
    outside = [o["value"] for o in select.find_all("option", recursive=False)]
    assert outside == ["", "neck", "decolletage", "scalp", "hands", "other"]


def test_a_patient_chooses_parts_of_the_face_and_they_are_stored_and_shown(app, client, forms, signed_in):
    token = start(forms)
    complete(forms, token, overrides={
        "about": {"appointment_date": "2026-11-30"},
        "goals": {"areas": ["perioral", "cheeks", "neck"]},
        "treatments": {"items-0-kind": "filler", "items-0-on": "2026-11-20", "items-0-area": "face"},
    })
    answers = stored(app, token).answers
    assert answers["goals"]["areas"] == ["perioral", "cheeks", "neck"]
    assert answers["treatments"]["items"][0]["area"] == "face"

    page = text(client.get(section_url(token, "goals")))
    assert checked(page, "areas") == ["cheeks", "perioral", "neck"]  # in the order offered
    review = parse(text(client.get(f"/i/{token}/review")))
    row = next(r for r in review.select(".summary-list__row")
               if r.dt.get_text(strip=True) == "Which areas would you like treated?")
    assert [li.get_text() for li in row.select("li")] == ["Around the mouth and lips", "Cheeks", "Neck"]
    assert "Whole face" in review.get_text()  # the filler's area, in words

    assert submit(forms, token).status_code == 302
    intake_id = stored(app, token).id
    with app.app_context():
        flags = {f["rule_id"] for f in db.session.get(Intake, intake_id).latest_assessment.document["flags"]}
    # A whole-face filler 10 days before the appointment overlaps the lips and cheeks;
    # a cold-sore history with the lips to treat.
    assert {"recent-filler-or-booster-in-area", "cold-sore-history"} <= flags
    record = signed_in.client.get(record_url(intake_id)).get_data(as_text=True)
    html = parse(record)
    words = html.get_text(" ", strip=True)
    assert "Around the mouth and lips" in words and "Cheeks" in words
    assert "perioral" not in " ".join(th.get_text() for th in html.select("th"))  # depths by area, in words


def test_the_json_schema_and_the_openapi_document_list_every_area(client):
    expected = ["face", *FACE_PARTS, "neck", "decolletage", "scalp", "hands"]
    committed = json.loads((DOCS / "answers.schema.json").read_text())
    goals = committed["properties"]["goals"]
    goals = committed["$defs"][goals["$ref"].rsplit("/", 1)[-1]] if "$ref" in goals else goals
    assert goals["properties"]["areas"]["items"]["enum"] == expected
    spec = client.get("/api/v1/openapi.json").json
    assert spec["components"]["schemas"]["Goals"]["properties"]["areas"]["items"]["enum"] == expected
    treatment = spec["components"]["schemas"]["Treatment"]["properties"]["area"]
    assert [v for v in treatment["enum"] if v is not None] == [*expected, "other"]


def test_selects_and_checkboxes_without_grouped_choices_still_list_them(signed_in):
    """The shared form macros group parts only for the answers' fields; the queue's filters keep every option."""
    html = parse(signed_in.client.get("/staff/queue").get_data(as_text=True))
    for name in ("status", "severity", "sort"):
        select = html.select_one(f"select#{name}")
        assert select is not None and len(select.select("option")) >= 2, name
        assert select.select("optgroup") == []

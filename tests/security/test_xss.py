"""Script in every free-text answer is shown as text, escaped, on every page and export that shows it."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.patient import complete, start, submit, text
from tests.support.staff import sign_in


def payload(n: int) -> str:
    """A different script per field, so a page showing one unescaped says which."""
    return f'"><script>alert({n})</script>'


ESCAPED = "&lt;script&gt;alert({n})&lt;/script&gt;"
FIELDS = {  # (section, form field): payload number
    ("about", "full_name"): 1, ("about", "phone"): 2, ("goals", "other_goal"): 3,
    ("health", "other_condition"): 4, ("medications", "items-0-name"): 5, ("medications", "items-0-dose"): 6,
    ("allergies", "injection_reaction_details"): 7, ("allergies", "other_allergies"): 8,
    ("events", "items-0-description"): 9,
}
OVERRIDES = {
    "about": {"full_name": payload(1), "phone": payload(2)},
    "goals": {"other_goal": payload(3)},
    "health": {"conditions": ["other"], "other_condition": payload(4)},
    "medications": {"items-0-name": payload(5), "items-0-dose": payload(6)},
    "allergies": {"injection_reaction": "yes", "injection_reaction_details": payload(7),
                  "other_allergies": payload(8)},
    "events": {"has_upcoming_events": "yes", "items-0-kind": "wedding", "items-0-on": "2027-03-01",
               "items-0-description": payload(9)},
    "consent": {"signature": payload(1)},
}
NUMBERS = sorted(set(FIELDS.values()))


def assert_escaped(page: str, where: str, numbers=NUMBERS) -> None:
    assert "<script>alert(" not in page, f"{where} shows a payload unescaped"
    # The only script elements are the app's own files (CSP forbids inline script anyway).
    scripts = re.findall(r"<script[^>]*>", page, re.I)
    assert all(re.fullmatch(r'<script src="/static/[^"]+" defer>', tag) for tag in scripts), (where, scripts)
    for n in numbers:
        assert ESCAPED.format(n=n) in page, f"{where} does not show answer {n} (escaped)"


@pytest.fixture
def submitted(app, forms, practitioner):
    token = start(forms)
    complete(forms, token, overrides=OVERRIDES)
    review = forms.client.get(f"/i/{token}/review").get_data(as_text=True)
    assert submit(forms, token).status_code == 302
    from intake.extensions import db
    from intake.models import Intake

    with app.app_context():
        intake_id = db.session.query(Intake.id).scalar()
    return token, intake_id, review


def test_every_free_text_answer_is_escaped_on_the_patient_pages(forms, submitted):
    token, _id, review = submitted
    assert_escaped(review, "the patient's review page")
    confirmation = forms.client.get(f"/i/{token}").get_data(as_text=True)
    assert_escaped(confirmation, "the confirmation page")


def test_typed_script_is_escaped_when_a_section_is_shown_again(app, forms):
    token = start(forms)
    complete(forms, token, until="goals", overrides=OVERRIDES)
    page = forms.client.get(f"/i/{token}/about").get_data(as_text=True)
    assert_escaped(page, "the about section", numbers=[2])
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page
    # Refused input is shown back escaped too.
    refused = forms.post(f"/i/{token}/goals", {"other_goal": payload(3) + "\x00", "areas": "face"})
    assert refused.status_code == 200
    assert_escaped(refused.get_data(as_text=True), "the goals section with an error", numbers=[3])


def test_every_free_text_answer_is_escaped_on_the_staff_pages(app, forms, submitted):
    _token, intake_id, _review = submitted
    sign_in(forms)
    client = forms.client
    for url in (f"/staff/intakes/{intake_id}", f"/staff/intakes/{intake_id}/print"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_escaped(response.get_data(as_text=True), url)
    queue = client.get("/staff/queue").get_data(as_text=True)
    assert_escaped(queue, "the queue", numbers=[1])


def test_exports_carry_the_answers_as_data_never_as_a_page(app, forms, submitted):
    _token, intake_id, _review = submitted
    sign_in(forms)
    client = forms.client
    for url, mimetype in ((f"/staff/intakes/{intake_id}/export.json", "application/json"),
                          (f"/staff/intakes/{intake_id}/fhir", "application/fhir+json"),
                          ("/staff/intakes.csv", "text/csv")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.mimetype == mimetype, url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "Content-Security-Policy" in response.headers
        body = response.get_data(as_text=True)
        if mimetype != "text/csv":
            # The text is kept exactly, as JSON data: the browser will not run it (no HTML type, no sniffing).
            assert payload(5) in json.dumps(response.get_json(), ensure_ascii=False), url
        else:
            assert payload(1).replace('"', '""') in body
    assert text(client.get(f"/staff/intakes/{intake_id}")).count(payload(9)) >= 1

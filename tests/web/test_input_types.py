"""Every input on every form page has the type its WTForms field says (password, email, date…).

The staff sign-in once rendered ``type=""`` for its email and password (the form macro read
an attribute WTForms does not have), so the password showed on screen as it was typed. This
walks every HTML page a GET can reach, parses it, and checks each ``<input>`` against the
field of the same name in the forms the page was rendered with; an input no form knows
(hand-written in a template) must still have a valid type. A new page is walked too, or the
test fails: the list of pages is checked against the URL map.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import template_rendered
from sqlalchemy import select
from wtforms import Form
from wtforms.fields import Field, FieldList, FormField

from intake.demo.intakes import seed_intakes
from intake.extensions import db
from intake.models import Intake, Photo
from tests.support import photos as photo_samples
from tests.support.html import csrf_token
from tests.support.patient import SECTIONS, fields, save, start, submit
from tests.support.settings import TODAY

#: The types an <input> may have (HTML Living Standard).
INPUT_TYPES = {
    "hidden", "text", "search", "tel", "url", "email", "password", "date", "month", "week", "time",
    "datetime-local", "number", "range", "color", "checkbox", "radio", "file", "submit", "image", "reset",
    "button",
}
#: GET endpoints that answer something other than an HTML page.
NOT_PAGES = {"static", "api-docs.openapi_json", "api.list_intakes", "api.show_intake", "patient.download_plan",
             "patient.download_status_plan", "patient_photos.patient_photo_image", "photos.staff_photo_image",
             "exports.show_fhir_questionnaire", "exports.export_queue_csv", "exports.export_intake_json",
             "exports.export_queue_json", "fhir.show_questionnaire",
             "exports.export_intake_fhir", "review.export_override_report"}
PASSWORD = "correct horse battery staple 42"
RULE = """\
- id: current-smoker
  title: Current smoker
  severity: info
  when: {field: lifestyle.smoking, equals: current}
  message: Smoking slows healing.
  source: [rule-default]
"""


def expected_type(field: Field) -> str | None:
    """The input type a field's widget renders (the option widget for radios and checkboxes)."""
    widget = getattr(field, "option_widget", None) or field.widget
    return getattr(widget, "input_type", None)


def form_fields(form: Form) -> Iterator[Field]:
    """Every field of a form, the rows of repeatable lists included, by the name it posts."""
    for field in form:
        if isinstance(field, FieldList):
            for entry in field.entries:
                yield from form_fields(entry.form) if isinstance(entry, FormField) else [entry]
        elif isinstance(field, FormField):
            yield from form_fields(field.form)
        else:
            yield field


def forms_in(context: dict[str, Any]) -> Iterator[Form]:
    for value in context.values():
        if isinstance(value, dict):
            candidates = list(value.values())
        else:
            candidates = list(value) if isinstance(value, list | tuple) else [value]
        for candidate in candidates:
            if isinstance(candidate, Form):
                yield candidate


class Pages:
    """Fetches pages with the test client and checks each input's type against its form field."""

    def __init__(self, app, client):
        self.app, self.client = app, client
        self.visited: set[str] = set()
        self.checked_fields = 0

    def check(self, url: str) -> None:
        rendered: list[dict[str, Any]] = []

        def remember(_sender, template, context, **_extra):
            rendered.append(context)

        with template_rendered.connected_to(remember, self.app):
            response = self.client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert response.mimetype == "text/html", url
        with self.app.test_request_context(url):
            self.visited.add(self.app.url_map.bind("localhost").match(url.split("?")[0])[0])
        by_name = {field.name: field for context in rendered for form in forms_in(context)
                   for field in form_fields(form)}
        page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        for tag in page.find_all("input"):
            kind = tag.get("type")
            assert kind in INPUT_TYPES, f"{url}: <input name={tag.get('name')!r}> has type={kind!r}"
            field = by_name.get(tag.get("name"))
            if field is None:
                continue
            assert kind == expected_type(field), (
                f"{url}: <input name={field.name!r}> has type={kind!r}, its field {type(field).__name__} "
                f"renders type={expected_type(field)!r}")
            self.checked_fields += 1


@pytest.fixture
def pages(app, client):
    app.config.update(RULES_REFRESH_SECONDS=0, REASSESS_IN_BACKGROUND=False)
    return Pages(app, client)


def test_every_input_has_its_fields_type(app, client, forms, pages):
    # The patient's pages: every section empty, then filled with list rows, the review, the confirmation.
    pages.check("/")
    token = start(forms)
    for section in SECTIONS:
        pages.check(f"/i/{token}/{section}")
        assert save(forms, token, section).status_code == 302, section
    for section in SECTIONS:
        pages.check(f"/i/{token}/{section}")
    page = forms.post(f"/i/{token}/medications", [*fields("medications"), ("action", "add:items")])
    assert page.status_code == 200
    pages.check(f"/i/{token}/review")
    pages.check(f"/i/{token}/saved")
    pages.check(f"/i/{token}/photos")
    photo = forms.client.post(f"/i/{token}/photos", data={
        "csrf_token": csrf_token(forms.client.get(f"/i/{token}/photos").get_data(as_text=True)), "area": "face",
        "clinical_consent": "y", "upload": (io.BytesIO(photo_samples.jpeg()), "face.jpg")},
        content_type="multipart/form-data")
    assert photo.status_code == 302
    pages.check(f"/i/{token}/photos")
    submit(forms, token)
    pages.check(f"/i/{token}")
    pinned = app.config["TODAY"]
    app.config["TODAY"] = dt.date(2026, 12, 8)  # the day before the appointment: the check-in is open
    pages.check(f"/i/{token}/check-in")
    app.config["TODAY"] = pinned
    pages.check("/desk")

    # The staff's pages, signed in as an admin (who sees every page).
    with app.app_context():
        from intake.auth import service as accounts

        accounts.create_user("ada@demo.clinic", "Ada Admin", "admin", PASSWORD)
        seed_intakes(TODAY)
        ids = list(db.session.scalars(select(Intake.id)))
    pages.check("/staff/sign-in")
    response = forms.post("/staff/sign-in", {"email": "ada@demo.clinic", "password": PASSWORD, "next": ""})
    assert response.status_code == 302
    for url in ("/staff/", "/staff/queue", "/staff/queue?status=all", "/staff/invite", "/staff/accounts",
                "/staff/reports/overrides", "/staff/clinic/", "/staff/clinic/reminders", "/staff/api-tokens/",
                "/staff/api-docs/"):
        pages.check(url)
    for intake_id in ids:
        pages.check(f"/staff/intakes/{intake_id}")
    pages.check(f"/staff/intakes/{ids[0]}/print")
    with app.app_context():
        from intake.review import service as review

        status_token = review.issue_status_link(db.session.get(Intake, ids[0]), "staff:1")
        db.session.commit()
    pages.check(f"/s/{status_token}")
    with app.app_context():
        from intake.reminders.service import stop_token

        stop = f"/reminders/stop/{stop_token(ids[0])}"
    pages.check(stop)
    forms.post(stop, {}, page=stop)
    pages.check(stop)  # the same page, once stopped
    with app.app_context():
        from intake.reminders.service import PURPOSES, continue_token

        links = [f"/reminders/continue/{continue_token(ids[0], purpose, TODAY)}" for purpose in PURPOSES]
    for url in links:
        pages.check(url)
    for url in ("/staff/rules/", "/staff/rules/change", "/staff/rules/edit", "/staff/rules/history"):
        pages.check(url)
    upload = client.post("/staff/rules/upload", data={
        "csrf_token": csrf_token(client.get("/staff/rules/change").get_data(as_text=True)), "path": "", "note": "",
        "file": (io.BytesIO(RULE.encode()), "ours.yaml")}, content_type="multipart/form-data")
    assert upload.status_code == 302, upload.get_data(as_text=True)
    version = int(upload.location.rstrip("/").rsplit("/", 1)[1])
    for url in (f"/staff/rules/versions/{version}", f"/staff/rules/versions/{version}/preview?last=5",
                f"/staff/rules/versions/{version}/diff/{version}"):
        pages.check(url)
    # A range beyond the inline limit: the page offers a preview in chunks, whose run page follows.
    app.config["PREVIEW_INLINE_LIMIT"] = 2
    pages.check(f"/staff/rules/versions/{version}/preview?last=5")
    started = forms.post(f"/staff/rules/versions/{version}/preview/runs", {"last": "5"},
                         page=f"/staff/rules/versions/{version}/preview?last=5")
    assert started.status_code == 303, started.get_data(as_text=True)
    pages.check(started.location)
    activated = forms.post(f"/staff/rules/versions/{version}/activate", {"note": "Smoking advice"},
                           page=f"/staff/rules/versions/{version}")
    assert activated.status_code == 302
    pages.check(activated.location)

    # The photo pages are practitioners' (an admin sees a count on the record).
    forms.post("/staff/sign-out", {}, page="/staff/")
    with app.app_context():
        accounts.create_user("pat@demo.clinic", "Pat Practitioner", "practitioner", PASSWORD)
        photographed, photo_id = db.session.execute(select(Photo.intake_id, Photo.id)).one()
    forms.post("/staff/sign-in", {"email": "pat@demo.clinic", "password": PASSWORD, "next": ""})
    for url in (f"/staff/intakes/{photographed}/photos",
                f"/staff/intakes/{photographed}/photos/compare?left={photo_id}&right={photo_id}"):
        pages.check(url)

    html_pages = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods} - NOT_PAGES
    assert html_pages - pages.visited == set(), "a page this test does not walk: add it above"
    assert pages.checked_fields > 300, pages.checked_fields


def test_a_refused_sign_in_keeps_the_password_hidden(app, forms, pages):
    """The typed password is never sent back in the page, and its input stays a password input."""
    response = forms.post("/staff/sign-in", {"email": "nobody@demo.clinic", "password": "hunter2-typed", "next": ""})
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    password = page.find("input", attrs={"name": "password"})
    assert password["type"] == "password" and password.get("value", "") == ""
    assert page.find("input", attrs={"name": "email"})["type"] == "email"
    assert "hunter2-typed" not in response.get_data(as_text=True)


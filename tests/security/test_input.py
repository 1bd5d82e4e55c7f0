"""Oversize and malformed bodies, invalid UTF-8, control characters and absurd dates: each refused with a
clear message, what was typed kept, nothing stored."""

from __future__ import annotations

import json

import pytest
from werkzeug.datastructures import MultiDict

from intake.answers import CONTROL_CHARACTER_MESSAGE, UNREADABLE_TEXT_MESSAGE
from tests.support.api import bearer, document, make_admin, make_token, post_intake
from tests.support.html import checked, csrf_token, field_value, parse, problems
from tests.support.patient import save, seed, start
from tests.support.rows import snapshot, stored_answers


@pytest.fixture
def draft(app, forms):
    token = start(forms)
    seed(app, token, until="goals")
    return token


@pytest.fixture
def secret(app):
    make_admin(app)
    return make_token(app)[1]


def urlencoded(pairs) -> bytes:
    from urllib.parse import urlencode

    return urlencode(pairs).encode()


def shown_value(page: str, name: str) -> str:
    """What an input or a textarea called ``name`` shows."""
    area = parse(page).find("textarea", attrs={"name": name})
    if area is not None:
        return area.get_text().lstrip("\n")
    return field_value(page, name) or ""


# --- bodies ---------------------------------------------------------------------------------------


def test_an_oversize_form_gets_the_friendly_413_and_nothing_is_stored(app, forms, draft):
    before, answers = snapshot(app), stored_answers(app)
    response = forms.post(f"/i/{draft}/goals", {"other_goal": "x" * app.config["MAX_CONTENT_LENGTH"],
                                                 "areas": "face"})
    assert response.status_code == 413
    assert "That was too much to send at once" in response.get_data(as_text=True)
    assert snapshot(app) == before and stored_answers(app) == answers


def test_too_many_form_parts_get_413(app, client, draft):
    token = csrf_token(client.get(f"/i/{draft}/goals").get_data(as_text=True))
    before = snapshot(app)
    data = MultiDict([("csrf_token", token), ("areas", "face")]
                     + [(f"f{n}", "1") for n in range(app.config["MAX_FORM_PARTS"] + 1)])
    response = client.post(f"/i/{draft}/goals", data=data, content_type="multipart/form-data")
    assert response.status_code == 413
    assert snapshot(app) == before


@pytest.mark.parametrize("content_type, body", [
    ("multipart/form-data", b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb"),
    ("multipart/form-data; boundary=x", b"garbage without any boundary"),
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--x--\r\n"),
    ("application/x-www-form-urlencoded", b"%%%&&&===\xff\xfe"),
    ("application/json", b'{"other_goal": "json instead of a form"}'),
])
def test_malformed_form_bodies_are_refused_and_store_nothing(app, client, draft, content_type, body):
    csrf_token(client.get(f"/i/{draft}/goals").get_data(as_text=True))
    before, answers = snapshot(app), stored_answers(app)
    response = client.post(f"/i/{draft}/goals", data=body, content_type=content_type)
    assert response.status_code == 400, response.status_code
    assert "Something in that request was not right" in response.get_data(as_text=True)
    assert snapshot(app) == before and stored_answers(app) == answers


@pytest.mark.parametrize("body", [
    b'{"about": ',                          # cut short
    b"\xff\xfe{\x00}",                       # not UTF-8
    b"[" * 100_000 + b"]" * 100_000,          # nested past any parser's depth
    b'{"about": {"full_name": "\\ud800"}}',  # a lone surrogate
    b"NaN",
])
def test_malformed_json_gets_a_json_error_and_stores_nothing(app, client, secret, body):
    before = snapshot(app)
    response = client.post("/api/v1/intakes", data=body,
                           headers={**bearer(secret), "Content-Type": "application/json"})
    assert response.status_code in (413, 422), response.status_code
    assert response.is_json and response.json["code"] == response.status_code
    after = snapshot(app)
    after.pop("audit_entry"), before.pop("audit_entry")
    assert after == before


# --- invalid UTF-8 and control characters ---------------------------------------------------------------


def test_invalid_utf8_in_an_answer_is_refused_with_a_clear_message_and_the_rest_kept(app, client, draft):
    token = csrf_token(client.get(f"/i/{draft}/goals").get_data(as_text=True))
    before, answers = snapshot(app), stored_answers(app)
    parts = [("csrf_token", token.encode()), ("goals", b"hydration"), ("areas", b"neck"),
             ("other_goal", b"smooth \xff\xfe skin")]
    body = b"".join(b'--x\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (name.encode(), value)
                    for name, value in parts) + b"--x--\r\n"
    response = client.post(f"/i/{draft}/goals", data=body, content_type="multipart/form-data; boundary=x")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert ("#other_goal", UNREADABLE_TEXT_MESSAGE) in problems(page)
    assert field_value(page, "other_goal").startswith("smooth")
    assert checked(page, "areas") == ["neck"]
    assert snapshot(app) == before and stored_answers(app) == answers


def test_invalid_utf8_in_a_url_encoded_form_is_refused(app, client, draft):
    # Werkzeug drops an undecodable urlencoded body altogether: the CSRF token is missing with it.
    token = csrf_token(client.get(f"/i/{draft}/goals").get_data(as_text=True))
    before = snapshot(app)
    body = urlencoded([("csrf_token", token), ("areas", "neck")]) + b"&other_goal=smooth\xff\xfeskin"
    response = client.post(f"/i/{draft}/goals", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert snapshot(app) == before


FREE_TEXT = [("about", "full_name"), ("about", "phone"), ("goals", "other_goal"),
             ("medications", "items-0-name"), ("medications", "items-0-dose"),
             ("allergies", "other_allergies"), ("events", "items-0-description")]


@pytest.mark.parametrize("section, name", FREE_TEXT)
@pytest.mark.parametrize("character", ["\x00", "\x1b", "\x08", "\x7f", "\u0085"])
def test_control_characters_in_an_answer_are_refused_and_what_was_typed_kept(app, forms, section, name,
                                                                              character):
    token = start(forms)
    seed(app, token, until=section)
    before, answers = snapshot(app), stored_answers(app)
    changes = {name: f"Typed{character}text"}
    if section == "events":
        changes.update({"has_upcoming_events": "yes", "items-0-kind": "wedding", "items-0-on": "2027-01-05"})
    response = save(forms, token, section, changes)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, response.status_code
    assert CONTROL_CHARACTER_MESSAGE in [message for _link, message in problems(page)]
    assert shown_value(page, name).startswith("Typed")
    assert snapshot(app) == before and stored_answers(app) == answers


def test_tabs_and_line_breaks_are_accepted(app, forms):
    token = start(forms)
    seed(app, token, until="allergies")
    response = save(forms, token, "allergies", {"other_allergies": "plasters\r\n\tand latex"})
    assert response.status_code == 302
    assert stored_answers(app)[0]["allergies"]["other_allergies"] == "plasters\r\n\tand latex"


def test_the_api_refuses_control_characters_naming_the_field(app, client, secret):
    response = post_intake(client, secret, document(goals={"other_goal": "bell\x07"}))
    assert response.status_code == 422
    assert response.json["errors"] == {"goals": {"other_goal": [CONTROL_CHARACTER_MESSAGE]}}
    assert response.json["errors"] and stored_answers(app) == []


# --- absurd dates -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("section, changes, field, message", [
    ("about", {"date_of_birth": "0001-01-01"}, "date_of_birth", "Check the year of your date of birth."),
    ("about", {"date_of_birth": "9999-12-31"}, "date_of_birth", "Your date of birth cannot be in the future."),
    ("about", {"date_of_birth": "2026-11-26"}, "date_of_birth", "Your date of birth cannot be in the future."),
    ("about", {"date_of_birth": "10000-01-01"}, "date_of_birth", "Enter your date of birth as a real date."),
    ("about", {"date_of_birth": "1988-02-30"}, "date_of_birth", "Enter your date of birth as a real date."),
    ("about", {"appointment_date": "9999-12-31"}, "appointment_date",
     "Enter an appointment within the next two years."),
    ("about", {"appointment_date": "0001-01-01"}, "appointment_date", "The appointment date cannot be in the past."),
    ("treatments", {"items-0-on": "0001-01-01"}, "items-0-on", "Enter a past date for this treatment."),
    ("treatments", {"items-0-on": "9999-12-31"}, "items-0-on", "Enter a past date for this treatment."),
    ("events", {"has_upcoming_events": "yes", "items-0-kind": "wedding", "items-0-on": "9999-12-31"},
     "items-0-on", "Enter a date in the next two years."),
])
def test_absurd_dates_are_refused_with_a_clear_message_and_kept_on_the_page(app, forms, section, changes, field,
                                                                            message):
    token = start(forms)
    seed(app, token, until=section)
    before, answers = snapshot(app), stored_answers(app)
    response = save(forms, token, section, changes)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in [m for _link, m in problems(page)], problems(page)
    assert field_value(page, field) == changes[field]
    assert snapshot(app) == before and stored_answers(app) == answers


@pytest.mark.parametrize("about, message", [
    ({"date_of_birth": "0001-01-01"}, "Check the year of your date of birth."),
    ({"date_of_birth": "9999-12-31"}, "Your date of birth cannot be in the future."),
    ({"appointment_date": "9999-12-31"}, "Enter an appointment within the next two years."),
])
def test_the_api_refuses_absurd_dates_too(app, client, secret, about, message):
    response = post_intake(client, secret, document(about=about))
    assert response.status_code == 422
    assert message in json.dumps(response.json["errors"])
    assert stored_answers(app) == []



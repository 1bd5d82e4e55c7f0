"""Every form POST of the app (found in its URL map) refuses a missing or wrong CSRF token, storing nothing."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from tests.support.html import csrf_token
from tests.support.patient import fields, seed, start
from tests.support.rows import snapshot, stored_answers
from tests.support.staff import PASSWORD, sign_in

#: The API authenticates with a bearer token a browser never sends on its own: no CSRF there.
CSRF_EXEMPT_BLUEPRINTS = {"api"}


def form_posts(app):
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and rule.endpoint.partition(".")[0] not in CSRF_EXEMPT_BLUEPRINTS:
            yield rule


def test_the_form_posts_found_include_every_known_form(app):
    assert {rule.endpoint for rule in form_posts(app)} >= {
        "patient.create_intake", "patient.edit_section", "patient.submit_intake", "auth.sign_in",
        "auth.sign_out", "review.review_flag", "review.edit_plan", "review.record_decision"}


@pytest.mark.parametrize("bad_token", [None, "", "not-a-token", "ImFiYyI.aaaa.bbbb"])
def test_every_form_post_refuses_a_missing_or_wrong_csrf_token(app, forms, practitioner, demo_intakes, bad_token):
    draft = start(forms)
    seed(app, draft)
    assert sign_in(forms).status_code == 302
    csrf_token(forms.client.get("/staff/").get_data(as_text=True))  # the session has a real token
    intake_id = demo_intakes["Margaret Doyle"]
    before, answers_before = snapshot(app), stored_answers(app)
    values = {"token": draft, "section": "about", "intake_id": intake_id, "rule_id": "pregnancy"}
    posted = 0
    for rule in form_posts(app):
        url = rule.build({name: values.get(name, 1) for name in rule.arguments}, append_unknown=False)[1]
        data = MultiDict([*fields("about", {"full_name": "Changed By Attacker"}), ("email", "pat@demo.clinic"),
                          ("password", PASSWORD), ("outcome", "approved"), ("version", "1")])
        if bad_token is not None:
            data.add("csrf_token", bad_token)
        response = forms.client.post(url, data=data)
        assert response.status_code == 400, (url, response.status_code)
        assert "Something in that request was not right" in response.get_data(as_text=True)
        posted += 1
    assert posted >= 8
    assert snapshot(app) == before
    assert stored_answers(app) == answers_before
    # Still signed in: the refused sign-out did not sign out either.
    assert forms.client.get("/staff/queue").status_code == 200


def test_a_token_from_another_session_is_refused(app, client, forms):
    other = app.test_client()
    stolen = csrf_token(other.get("/").get_data(as_text=True))
    client.get("/")
    before = snapshot(app)
    response = client.post("/start", data={"csrf_token": stolen})
    assert response.status_code == 400
    assert snapshot(app) == before

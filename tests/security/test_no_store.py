"""Nothing a page or the API answers is kept by a browser or a proxy: Cache-Control: no-store on every
GET of the URL map (staff pages with a signed-in practitioner and admin, patient pages through a private
link, the API with a token); only the vendored CSS and JS may be cached."""

from __future__ import annotations

import pytest

from intake.auth.access import StaffBlueprint
from tests.support.api import make_admin, make_token
from tests.support.forms import FormClient
from tests.support.patient import complete, start
from tests.support.staff import make_user, sign_in


def get_rules(app):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.endpoint.endswith("static"):
            yield rule


def fill(rule, values: dict) -> str:
    return rule.build({name: values.get(name, 1) for name in rule.arguments}, append_unknown=False)[1]


@pytest.mark.parametrize("role", ["practitioner", "admin"])
def test_every_get_of_the_url_map_answers_no_store(app, forms, demo_intakes, role):
    app.config["INTAKE_START_RATE_LIMIT"] = "1000 per hour"
    patient = FormClient(app.test_client())
    token = start(patient)
    complete(patient, token, until="consent")
    make_user(app, f"{role}@demo.clinic", role, "Some One")
    sign_in(forms, email=f"{role}@demo.clinic")
    make_admin(app, "tokens@demo.clinic")
    bearer = {"Authorization": f"Bearer {make_token(app, by='tokens@demo.clinic')[1]}"}
    values = {"intake_id": demo_intakes["Margaret Doyle"], "token": token, "section": "about", "rule_id": "pregnancy"}
    checked = 0
    for rule in get_rules(app):
        url = fill(rule, values)
        blueprint = app.blueprints.get(rule.endpoint.rpartition(".")[0])
        if url.startswith("/api/"):
            response = forms.client.get(url, headers=bearer)
        elif isinstance(blueprint, StaffBlueprint):
            response = forms.client.get(url)
        else:
            response = patient.client.get(url)
        assert response.headers.get("Cache-Control") == "no-store", (url, response.status_code)
        checked += 1
    assert checked >= 30


def test_the_vendored_assets_may_be_cached(client):
    with client.get("/static/css/meso.css") as response:
        assert response.status_code == 200 and "no-store" not in response.headers.get("Cache-Control", "")

"""The API tokens page for admins, the API documentation page for staff, and API errors in the API's terms."""

from __future__ import annotations

import pytest

from intake.extensions import db
from intake.models import Intake
from tests.support.api import bearer, document, make_token, post_intake

INTAKES = "/api/v1/intakes"
#: Wording of the patient and staff error pages, which an API client must never get.
PAGE_WORDING = ("link", "Page not found", "Go back", "page's own buttons", "clinic sent you")


def count_intakes(app) -> int:
    with app.app_context():
        return db.session.query(Intake).count()


# --- API errors speak to programmers


def assert_api_wording(response, code: int) -> str:
    assert response.status_code == code and response.is_json, (response.status_code, response.data[:200])
    body = response.json
    assert body["code"] == code and body["status"]
    assert not any(words in body["message"] for words in PAGE_WORDING), body["message"]
    return body["message"]


def test_a_missing_intake_is_named_by_its_id(app, client, admin):
    _, secret = make_token(app, scope="read")
    message = assert_api_wording(client.get(f"{INTAKES}/42", headers=bearer(secret)), 404)
    assert message == "No intake with id 42."


@pytest.mark.parametrize("url", ["/api/v1/nothing-here", "/api/v2/intakes", f"{INTAKES}/99999999999"])
def test_an_address_under_the_api_that_matches_nothing_says_so_in_json(client, url):
    message = assert_api_wording(client.get(url), 404)
    assert message == f"No API endpoint or resource at {url}. The endpoints are listed in /api/v1/openapi.json."


@pytest.mark.parametrize(("method", "url", "allowed"), [
    ("put", INTAKES, "GET, POST"), ("delete", f"{INTAKES}/1", "GET"), ("post", "/api/v1/openapi.json", "GET"),
])
def test_a_method_the_api_does_not_take_gets_405_naming_those_it_does(client, method, url, allowed):
    response = getattr(client, method)(url, json={})
    message = assert_api_wording(response, 405)
    assert message == f"{method.upper()} is not allowed on {url}: it accepts {allowed}."
    assert set(response.headers["Allow"].split(", ")) >= set(allowed.split(", "))


def test_a_malformed_body_gets_400_in_the_apis_terms(app, client, admin):
    _, secret = make_token(app)
    # A multipart part without a name: refused before anything reads the body.
    body = b'--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n'
    response = client.post(INTAKES, data=body,
                           headers={**bearer(secret), "Content-Type": "multipart/form-data; boundary=b"})
    message = assert_api_wording(response, 400)
    assert message.startswith(f"The request to POST {INTAKES} could not be read")
    assert count_intakes(app) == 0


def test_the_scope_refusal_names_the_request_and_the_scope_it_needs(app, client, admin):
    _, secret = make_token(app, scope="read")
    message = assert_api_wording(post_intake(client, secret, document()), 403)
    assert message == f"This API token may only read (scope read): POST {INTAKES} needs a token with scope write."
    assert count_intakes(app) == 0

"""The JSON API (/api/v1), its tokens and `flask api-tokens`, on both backends."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from intake.extensions import db
from intake.models import ApiToken, Assessment, AuditEntry, Intake
from tests.support.api import ANTICOAGULANT, PREGNANT, bearer, document, make_token, named, post_intake

INTAKES = "/api/v1/intakes"


@pytest.fixture
def token(app, admin) -> tuple[int, str]:
    return make_token(app)


@pytest.fixture
def secret(token) -> str:
    return token[1]


def audit(app, action: str | None = None) -> list[AuditEntry]:
    with app.app_context():
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        entries = list(db.session.scalars(query))
        db.session.expunge_all()
        return entries


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- tokens


@pytest.mark.parametrize(("method", "url"), [("get", INTAKES), ("post", INTAKES), ("get", INTAKES + "/1")])
@pytest.mark.parametrize("authorization", [None, "Basic YWRhOnNlY3JldA==", "Bearer", "Bearer meso_not-a-token",
                                           "Bearer " + "x" * 500])
def test_requests_without_a_live_token_get_401_json(app, client, token, method, url, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = getattr(client, method)(url, headers=headers, json=document() if method == "post" else None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="Meso Intake"')
    assert response.json["code"] == 401 and "token" in response.json["message"]
    assert count(app, Intake) == 0


def test_a_wrong_token_is_told_apart_from_a_missing_one(client, token):
    missing = client.get(INTAKES)
    wrong = client.get(INTAKES, headers=bearer("meso_wrong"))
    assert "error=" not in missing.headers["WWW-Authenticate"]
    assert wrong.headers["WWW-Authenticate"].endswith('error="invalid_token"')


def test_a_revoked_token_stops_working(app, client, runner, token):
    token_id, secret = token
    assert client.get(INTAKES, headers=bearer(secret)).status_code == 200
    result = runner.invoke(args=["api-tokens", "revoke", str(token_id)])
    assert result.exit_code == 0, result.output
    response = client.get(INTAKES, headers=bearer(secret))
    assert response.status_code == 401
    assert response.json["message"] == "This API token is not valid or was revoked."


def test_a_good_token_is_marked_as_used(app, client, token):
    token_id, secret = token
    with app.app_context():
        assert db.session.get(ApiToken, token_id).last_used_at is None
    client.get(INTAKES, headers=bearer(secret))
    with app.app_context():
        assert db.session.get(ApiToken, token_id).last_used_at is not None


def test_tokens_are_stored_hashed(app, token):
    token_id, secret = token
    with app.app_context():
        stored = db.session.get(ApiToken, token_id)
        assert secret not in stored.token_hash and len(stored.token_hash) == 64
        assert secret.startswith("meso_") and len(secret) > 40


# --- flask api-tokens


def test_api_tokens_create_prints_the_token_once_and_audits_it(app, client, runner, admin):
    result = runner.invoke(args=["api-tokens", "create", "--name", "Booking system", "--by", "ADA@demo.clinic"])
    assert result.exit_code == 0, result.output
    token_id = int(re.search(r"Created API token (\d+) \(Booking system\), scope read, until \S+ \S+ UTC\.",
                             result.output).group(1))
    secret = result.output.strip().splitlines()[-1]
    assert client.get(INTAKES, headers=bearer(secret)).status_code == 200
    listed = runner.invoke(args=["api-tokens", "list"])
    assert secret not in listed.output
    (entry,) = audit(app, "api_token.created")
    assert entry.actor == "system"
    assert entry.data | {"expires_at": None} == {"token_id": token_id, "name": "Booking system", "created_by": admin,
                                                 "scope": "read", "expires_at": None}
    assert entry.data["expires_at"]  # a year from now, unless --no-expiry


@pytest.mark.parametrize(("by", "message"), [
    ("nobody@demo.clinic", "No staff account for nobody@demo.clinic."),
    ("pat@demo.clinic", "pat@demo.clinic is not an active admin"),
])
def test_only_an_admin_can_create_a_token(app, runner, admin, by, message):
    from intake.auth import service

    with app.app_context():
        service.create_user("pat@demo.clinic", "Pat", "practitioner", "correct horse battery")
    result = runner.invoke(args=["api-tokens", "create", "--name", "Booking", "--by", by])
    assert result.exit_code == 1 and message in result.output
    assert count(app, ApiToken) == 0


def test_api_tokens_create_needs_a_name(runner, admin):
    result = runner.invoke(args=["api-tokens", "create", "--name", "  ", "--by", "ada@demo.clinic"])
    assert result.exit_code == 1 and "Give the token a name" in result.output


def test_api_tokens_list(app, client, runner, admin):
    assert "No API tokens yet" in runner.invoke(args=["api-tokens", "list"]).output
    first, secret = make_token(app, "Booking system")
    second, _ = make_token(app, "Records")
    client.get(INTAKES, headers=bearer(secret))
    runner.invoke(args=["api-tokens", "revoke", str(second)])
    output = runner.invoke(args=["api-tokens", "list"]).output
    when = r"\S+ \S+ UTC"
    assert re.search(rf"^{first}\s+Booking system\s+write\s+ada@demo.clinic\s+{when}\s+never\s+{when}\s+active$",
                     output, re.M)
    assert re.search(rf"^{second}\s+Records\s+write\s+ada@demo.clinic\s+{when}\s+never\s+never\s+revoked {when}$",
                     output, re.M)


def test_api_tokens_revoke(app, runner, token):
    token_id, _ = token
    result = runner.invoke(args=["api-tokens", "revoke", str(token_id)])
    assert result.exit_code == 0 and f"Revoked API token {token_id} (Booking system)." in result.output
    again = runner.invoke(args=["api-tokens", "revoke", str(token_id)])
    assert again.exit_code == 1 and "already revoked" in again.output
    unknown = runner.invoke(args=["api-tokens", "revoke", "999"])
    assert unknown.exit_code == 1 and "No API token with id 999" in unknown.output
    (entry,) = audit(app, "api_token.revoked")
    assert entry.data == {"token_id": token_id}


# --- POST /api/v1/intakes


def test_create_stores_one_submitted_and_assessed_intake(app, client, token):
    token_id, secret = token
    response = post_intake(client, secret, document())
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "submitted" and body["outcome"] == "precaution"
    assert body["flag_counts"] == {"precaution": 1, "info": 4}
    assert {"rule_id": "alcohol-close-to-appointment", "severity": "precaution"}.items() <= body["flags"][0].items()
    assert response.headers["Location"] == f"http://localhost/api/v1/intakes/{body['id']}"
    with app.app_context():
        (intake,) = db.session.scalars(select(Intake)).all()
        assert intake.id == body["id"] and intake.status == "submitted" and intake.submitted_at
        assert (intake.full_name, intake.email, str(intake.appointment_date)) == (
            "Ana Silva", "ana@example.org", "2026-12-09")
        assert intake.answers["lifestyle"]["alcohol_drinks_per_week"] == 6
        assert intake.answers["consent"]["signed_at"]
        (assessment,) = intake.assessments
        assert assessment.outcome == "precaution" and str(assessment.assessed_on) == "2026-11-25"
        assert assessment.ruleset_version == body["ruleset_version"]
    actions = [(entry.actor, entry.action) for entry in audit(app) if entry.intake_id == body["id"]]
    assert (f"api:{token_id}", "intake.created") in actions
    assert [action for _, action in actions].count("intake.submitted") == 1
    # The patient's private link opens their confirmation with the dated checklist.
    assert body["patient_link"].startswith("http://localhost/i/")
    page = client.get(body["patient_link"].removeprefix("http://localhost"))
    assert page.status_code == 200 and "Ana Silva" in page.get_data(as_text=True)


def test_create_keeps_a_consent_time_the_booking_system_sends(app, client, secret):
    answers = document(consent={"signed_at": "2026-11-20T10:15:00+00:00"})
    body = post_intake(client, secret, answers).json
    with app.app_context():
        assert db.session.get(Intake, body["id"]).answers["consent"]["signed_at"] == "2026-11-20T10:15:00+00:00"


@pytest.mark.parametrize(("changes", "outcome"), [(PREGNANT, "defer"), (ANTICOAGULANT, "contraindicated")])
def test_create_answers_with_the_outcome_of_the_active_rules(client, secret, changes, outcome):
    body = post_intake(client, secret, document(**changes)).json
    assert body["outcome"] == outcome
    assert body["flags"][0]["severity"] == outcome if outcome != "defer" else "defer"


def test_invalid_answers_get_422_naming_each_field_and_store_nothing(app, client, secret):
    answers = document(about={"email": "not an email", "appointment_date": "2026-11-01"})
    del answers["lifestyle"]
    answers["skin"]["fitzpatrick_type"] = 9
    answers["goals"]["colour"] = "blue"
    response = post_intake(client, secret, answers)
    assert response.status_code == 422
    assert response.json["message"] == "The answers document is not valid."
    errors = response.json["errors"]
    assert errors["about"]["email"] == ["Not a valid email address."]
    assert errors["about"]["appointment_date"] == ["The appointment date cannot be in the past."]
    assert errors["lifestyle"] == ["Missing data for required field."]
    assert errors["skin"]["fitzpatrick_type"] == ["Choose one of the options given."]
    assert errors["goals"]["colour"] == ["Unknown field."]
    assert count(app, Intake) == 0 and count(app, Assessment) == 0


def test_invalid_list_items_are_named_by_position(client, secret):
    answers = document(medications={"has_medications": True, "items": [
        {"name": "Ibuprofen", "status": "taking", "prescribed": False},
        {"name": "", "status": "taking", "prescribed": False}]})
    errors = post_intake(client, secret, answers).json["errors"]
    assert errors == {"medications": {"items": {"1": {"name": ["Use between 1 and 120 characters."]}}}}


@pytest.mark.parametrize("body", [["a list"], "text", None])
def test_a_body_that_is_not_a_json_object_gets_422(app, client, secret, body):
    if body is None:
        headers = {**bearer(secret), "Content-Type": "application/json"}
        response = client.post(INTAKES, data="{not json", headers=headers)
    else:
        response = client.post(INTAKES, json=body, headers=bearer(secret))
    assert response.status_code == 422
    assert response.json["errors"] == {"_schema": ["Expected a JSON object (the answers document)."]}
    assert count(app, Intake) == 0


def test_a_body_too_large_gets_413_json(app, client, secret):
    answers = document(goals={"other_goal": "x" * app.config["MAX_CONTENT_LENGTH"]})
    response = post_intake(client, secret, answers)
    assert response.status_code == 413 and response.json["code"] == 413
    assert count(app, Intake) == 0


def test_the_api_needs_no_csrf_token(app, client, secret):
    assert app.config["WTF_CSRF_ENABLED"]
    assert post_intake(client, secret, document()).status_code == 201


# --- GET /api/v1/intakes/<id>


def test_read_one_intake_with_answers_and_latest_assessment(app, client, token):
    token_id, secret = token
    created = post_intake(client, secret, document()).json
    response = client.get(f"{INTAKES}/{created['id']}", headers=bearer(secret))
    assert response.status_code == 200
    body = response.json
    assert body["id"] == created["id"] and body["status"] == "submitted" and body["outcome"] == "precaution"
    assert body["answers"]["about"]["full_name"] == "Ana Silva"
    assessment = body["latest_assessment"]
    assert assessment["outcome"] == "precaution" and assessment["assessed_on"] == "2026-11-25"
    assert [flag["rule_id"] for flag in assessment["document"]["flags"]][0] == "alcohol-close-to-appointment"
    # flag_count counts the flags to review: her alcohol precaution, not her four info items.
    flags = assessment["document"]["flags"]
    assert len(flags) == 5 and [flag["severity"] for flag in flags].count("info") == 4
    assert body["flag_count"] == 1 and body["appointment_date"] == "2026-12-09"
    assert body["submitted_at"].endswith("+00:00")
    (entry,) = audit(app, "intake.viewed")
    assert (entry.actor, entry.intake_id) == (f"api:{token_id}", created["id"])


def test_reading_a_missing_intake_gets_404_json(client, secret):
    response = client.get(f"{INTAKES}/999", headers=bearer(secret))
    assert response.status_code == 404 and response.json["message"] == "No intake with id 999."


# --- GET /api/v1/intakes


@pytest.fixture
def api_intakes(app, client, secret) -> dict[str, int]:
    """Five intakes: four submitted with different outcomes and appointments, one draft."""
    ids = {
        "ana": post_intake(client, secret, named("Ana Silva", "ana@example.org", "2026-12-09")).json["id"],
        "bea": post_intake(client, secret, named("Bea Costa", "bea@example.org", "2026-12-01", **PREGNANT)).json["id"],
        "cat": post_intake(client, secret,
                           named("Cat O'Neil", "cat@clinic.test", "2026-12-20", **ANTICOAGULANT)).json["id"],
        "dan": post_intake(client, secret, named("Dan Moss", "dan_m@example.org", None,
                                                 about={"sex": "male"},
                                                 health={"pregnant": None, "trying_to_conceive": None,
                                                         "breastfeeding": None, "recently_gave_birth": None})
                           ).json["id"],
    }
    from intake.patient.service import start_intake

    with app.app_context():
        ids["eve"] = start_intake({"full_name": "Eve Draft", "email": "eve@example.org"})[0].id
    return ids


def listed(client, secret, query: str = "") -> dict:
    response = client.get(f"{INTAKES}?{query}", headers=bearer(secret))
    assert response.status_code == 200, response.json
    return response.json


def names(page: dict) -> list[str]:
    return [item["full_name"] for item in page["items"]]


def test_the_list_is_most_severe_then_soonest_first(client, secret, api_intakes):
    page = listed(client, secret)
    assert names(page) == ["Cat O'Neil", "Bea Costa", "Ana Silva", "Dan Moss", "Eve Draft"]
    assert (page["total"], page["page"], page["pages"], page["per_page"]) == (5, 1, 1, 25)
    first = page["items"][0]
    assert set(first) == {"id", "status", "full_name", "email", "appointment_date", "created_at", "submitted_at",
                          "outcome", "defer_until", "flag_count"}
    assert "answers" not in first


@pytest.mark.parametrize(("query", "expected"), [
    ("status=draft", ["Eve Draft"]),
    ("status=submitted&outcome=defer", ["Bea Costa"]),
    ("outcome=contraindicated", ["Cat O'Neil"]),
    ("appointment_from=2026-12-05", ["Cat O'Neil", "Ana Silva"]),
    ("appointment_to=2026-12-09", ["Bea Costa", "Ana Silva"]),
    ("appointment_from=2026-12-02&appointment_to=2026-12-10", ["Ana Silva"]),
    ("q=BEA", ["Bea Costa"]),
    ("q=clinic.test", ["Cat O'Neil"]),
    ("q=o'neil", ["Cat O'Neil"]),
    ("q=_", []),  # punctuation is no word (and no LIKE wildcard)
    ("q=dan_m", ["Dan Moss"]),  # words of the email, split at punctuation
    ("q=%25", []),
])
def test_the_list_filters(client, secret, api_intakes, query, expected):
    assert names(listed(client, secret, query)) == expected


def test_the_list_is_paginated(client, secret, api_intakes):
    first = listed(client, secret, "per_page=2")
    third = listed(client, secret, "per_page=2&page=3")
    beyond = listed(client, secret, "per_page=2&page=9")
    assert names(first) == ["Cat O'Neil", "Bea Costa"] and (first["total"], first["pages"]) == (5, 3)
    assert names(third) == ["Eve Draft"]
    assert beyond["items"] == [] and beyond["total"] == 5


def test_listing_is_audited_with_every_intake_returned(app, client, token, api_intakes):
    token_id, secret = token
    listed(client, secret, "outcome=defer&page=1")
    (entry,) = audit(app, "intakes.listed")
    assert entry.actor == f"api:{token_id}" and entry.intake_id is None
    assert entry.data == {"filters": {"outcome": "defer"}, "page": 1, "intake_ids": [api_intakes["bea"]]}


@pytest.mark.parametrize(("query", "field"), [
    ("page=0", "page"), ("per_page=101", "per_page"), ("page=two", "page"), ("outcome=fine", "outcome"),
    ("status=lost", "status"), ("appointment_from=tomorrow", "appointment_from"),
    ("appointment_from=2026-12-10&appointment_to=2026-12-01", "appointment_to"), ("colour=blue", "colour"),
])
def test_bad_list_parameters_get_422_naming_the_field(app, client, secret, query, field):
    response = client.get(f"{INTAKES}?{query}", headers=bearer(secret))
    assert response.status_code == 422
    assert list(response.json["errors"]) == [field]
    assert audit(app, "intakes.listed") == []


# --- the OpenAPI document


def test_the_openapi_document_lists_every_endpoint(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.") and spec["info"]["title"] == "Meso Intake API"
    assert set(spec["paths"]["/api/v1/intakes"]) == {"get", "post"}
    assert set(spec["paths"]["/api/v1/intakes/{intake_id}"]) == {"get", "parameters"}
    post = spec["paths"]["/api/v1/intakes"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Answers"}
    assert {"201", "401", "422"} <= set(post["responses"])
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert spec["security"] == [{"bearerAuth": []}]
    parameters = {p["name"] for p in spec["paths"]["/api/v1/intakes"]["get"]["parameters"]}
    assert parameters == {"status", "review_status", "outcome", "appointment_from", "appointment_to", "q", "page",
                          "per_page"}
    assert set(spec["components"]["schemas"]["About"]["properties"]) >= {"full_name", "email", "appointment_date"}


def test_pages_outside_the_api_keep_their_html_errors(client):
    response = client.get("/i/not-a-token")
    assert response.status_code == 404 and response.mimetype == "text/html"


def test_errors_on_list_items_and_on_the_list_itself_are_named_together(app, client, secret):
    """Found by schemathesis: an item's error (key 0) beside the list's own (key "_schema") gave a 500."""
    answers = document(about={"appointment_date": None},
                       events={"has_upcoming_events": False, "items": [{"kind": "other", "on": "2000-01-01"}]})
    response = post_intake(client, secret, answers)
    assert response.status_code == 422, response.get_data(as_text=True)
    errors = response.json["errors"]["events"]["items"]
    assert set(errors) >= {"0"} and all(isinstance(key, str) for key in errors)
    assert count(app, Intake) == 0

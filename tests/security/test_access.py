"""Every route of the app, found in its URL map, is either a patient/API/public route or a staff view
behind the StaffBlueprint's check; anonymous visitors and the wrong role are turned away from each."""

from __future__ import annotations

import pytest

from intake.auth.access import StaffBlueprint
from intake.models import Role
from tests.support.html import csrf_token
from tests.support.rows import snapshot
from tests.support.staff import make_user, sign_in

#: Blueprints that are not staff pages, and what guards them instead.
NOT_STAFF = {
    "patient": "the private link's token (tests/security/test_idor.py)",
    "patient_photos": "the private link's token (tests/web/test_photos.py)",
    "api": "a bearer API token (tests/web/test_api.py)",
    "api-docs": "nothing: the OpenAPI description holds no data",
    "fhir": "nothing: the FHIR Questionnaire describes the form, no patient's answers (tests/web/test_exports.py)",
    "reminders": "the stop and continue links' signatures (tests/web/test_reminder_links.py); their pages show no "
                 "data, the stop link only stops reminders, the continue link only issues the patient a new link",
}
PUBLIC_ENDPOINTS = {"static"}


def blueprint_of(app, endpoint: str):
    name = endpoint.rpartition(".")[0]
    return app.blueprints.get(name) if name else None


def staff_rules(app):
    """(rule, method, view, blueprint) of every staff route, each method on its own."""
    found = []
    for rule in app.url_map.iter_rules():
        blueprint = blueprint_of(app, rule.endpoint)
        if not isinstance(blueprint, StaffBlueprint):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule, method, app.view_functions[rule.endpoint], blueprint))
    return found


def test_every_route_is_public_patient_api_or_a_staff_blueprint_view(app):
    for rule in app.url_map.iter_rules():
        blueprint = blueprint_of(app, rule.endpoint)
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        assert blueprint is not None, f"{rule.rule} ({rule.endpoint}) belongs to no blueprint"
        if isinstance(blueprint, StaffBlueprint):
            continue
        assert blueprint.name in NOT_STAFF, (
            f"{rule.rule} ({rule.endpoint}) is neither a StaffBlueprint view nor a known public route: "
            "put staff pages on a StaffBlueprint (intake/auth/access.py)")
        assert not rule.rule.startswith("/staff"), f"{rule.rule} is under /staff but not on a StaffBlueprint"


def test_the_staff_routes_found_include_the_known_ones(app):
    endpoints = {rule.endpoint for rule, *_ in staff_rules(app)}
    assert {"auth.home", "auth.list_accounts", "auth.sign_out", "review.show_queue", "review.show_intake",
            "review.record_decision", "exports.export_queue_csv", "exports.export_intake_fhir"} <= endpoints


def concrete_url(rule, intake_id: int) -> str:
    values = {}
    for argument in rule.arguments:
        # Other arguments are ids (versions, runs…): 1 builds for int and string converters alike.
        values[argument] = {"intake_id": intake_id, "rule_id": "pregnancy"}.get(argument, 1)
    return rule.build(values, append_unknown=False)[1]


def request(client, method: str, url: str, token: str):
    return client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)


def test_anonymous_visitors_are_sent_to_sign_in_from_every_staff_route(app, client, demo_intakes):
    intake_id = next(iter(demo_intakes.values()))
    token = csrf_token(client.get("/staff/sign-in").get_data(as_text=True))
    before = snapshot(app)
    checked = 0
    for rule, method, view, _blueprint in staff_rules(app):
        if getattr(view, "staff_public", False):
            continue
        url = concrete_url(rule, intake_id)
        response = request(client, method, url, token)
        assert response.status_code == 302, (method, url, response.status_code)
        assert response.location.split("?")[0].endswith("/staff/sign-in"), (method, url)
        assert "Pat" not in response.get_data(as_text=True)
        checked += 1
    assert checked >= 10
    assert snapshot(app) == before


@pytest.mark.parametrize("role", list(Role))
def test_every_staff_route_refuses_the_wrong_role_and_opens_for_the_right_one(app, forms, demo_intakes, role):
    make_user(app, f"{role}@demo.clinic", str(role), f"Some {role}")
    assert sign_in(forms, email=f"{role}@demo.clinic").status_code == 302
    token = csrf_token(forms.client.get("/staff/").get_data(as_text=True))
    intake_id = demo_intakes["Margaret Doyle"]
    refused = opened = 0
    for rule, method, view, blueprint in staff_rules(app):
        if getattr(view, "staff_public", False) or rule.endpoint == "auth.sign_out":
            continue
        allowed = getattr(view, "staff_roles", None) or blueprint.roles
        url = concrete_url(rule, intake_id)
        before = snapshot(app)
        response = request(forms.client, method, url, token)
        if role in allowed:
            assert response.status_code not in (401, 403), (role, method, url)
            assert "/staff/sign-in" not in (response.location or ""), (role, method, url)
            opened += 1
        else:
            assert response.status_code == 403, (role, method, url, response.status_code)
            assert "Margaret" not in response.get_data(as_text=True)
            assert snapshot(app) == before, (role, method, url)
            refused += 1
    assert opened
    # An admin may not decide, a practitioner may not manage accounts: each role meets some refusal.
    assert refused


def test_a_deactivated_or_unknown_session_opens_nothing(app, client, demo_intakes):
    with client.session_transaction() as session:
        session["_user_id"] = "999999"
        session["_fresh"] = True
    response = client.get(f"/staff/intakes/{demo_intakes['Margaret Doyle']}")
    assert response.status_code == 302 and "/staff/sign-in" in response.location

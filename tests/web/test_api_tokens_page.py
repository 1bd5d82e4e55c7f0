"""The API tokens page for admins, the API documentation page for staff, and API errors in the API's terms."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

from intake.auth import service as accounts
from intake.clock import as_utc, utcnow
from intake.extensions import db
from intake.models import ApiToken, AuditEntry, Intake
from tests.support.api import bearer, document, make_token, post_intake
from tests.support.html import checked, csrf_token, field_value, parse, problems, row_of, text_of
from tests.support.staff import sign_in

INTAKES = "/api/v1/intakes"
TOKENS = "/staff/api-tokens/"
#: Wording of the patient and staff error pages, which an API client must never get.
PAGE_WORDING = ("link", "Page not found", "Go back", "page's own buttons", "clinic sent you")


def count_intakes(app) -> int:
    with app.app_context():
        return db.session.query(Intake).count()


def stored_tokens(app) -> list[ApiToken]:
    with app.app_context():
        found = list(db.session.scalars(select(ApiToken).order_by(ApiToken.id)))
        db.session.expunge_all()
        return found


def audit(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        found = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
        db.session.expunge_all()
        return found


def create(forms, name: str = "Booking system", scope: str | None = "read", days: str | None = "90",
           never: bool = False):
    """Post the tokens page's create form as a browser would."""
    fields = {"name": name, "scope": scope, "days": days, "never_expires": "y" if never else None}
    return forms.post(TOKENS, {key: value for key, value in fields.items() if value is not None})


def secret_of(response) -> str:
    """The new token's secret, as the page shows it (in a <code>, to copy)."""
    assert response.status_code == 200, (response.status_code, problems(response.get_data(as_text=True)))
    code = parse(response.get_data(as_text=True)).find("code", id="api-token-secret")
    assert code is not None, "the page shows no new token"
    return code.get_text(strip=True)


def revoke(forms, token_id: int, confirm: bool = True):
    data = {"confirm": "yes"} if confirm else {}
    return forms.post(f"{TOKENS}{token_id}/revoke", data, page=TOKENS)


# --- the tokens page


def test_an_admin_creates_a_token_and_sees_its_secret_exactly_once(app, client, as_admin, admin):
    response = create(as_admin, name="  Booking   system ")
    secret = secret_of(response)
    page = response.get_data(as_text=True)
    assert secret.startswith("meso_") and len(secret) > 40
    assert page.count(secret) == 1
    assert "will not be shown again" in page
    # Shown in the POST's own response: never in a URL, never kept by a browser or a proxy.
    assert response.location is None and secret not in response.request.url
    assert response.headers["Cache-Control"] == "no-store"
    with as_admin.client.session_transaction() as session:
        assert secret not in repr(dict(session))
    # The list, opened again, shows the token but never its secret.
    listed = as_admin.client.get(TOKENS)
    assert listed.status_code == 200 and secret not in listed.get_data(as_text=True)
    (token,) = stored_tokens(app)
    assert (token.name, token.scope, token.created_by) == ("Booking system", "read", admin)
    assert row_of(listed.get_data(as_text=True), "Booking system")[:2] == ("Ada Admin", "Read")
    # Only its hash is stored, nowhere the secret itself (the audit entry included).
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    with app.app_context():
        dumped = [str(value) for entry in db.session.scalars(select(AuditEntry)) for value in
                  (entry.summary, entry.data)]
    assert not any(secret in value for value in dumped)


def test_the_same_form_sent_twice_creates_one_token(app, as_admin):
    """Refreshing the "token created" page resends the POST: the second send creates nothing."""
    page = as_admin.client.get(TOKENS).get_data(as_text=True)
    form_key = field_value(page, "form_key")
    assert form_key and form_key != field_value(as_admin.client.get(TOKENS).get_data(as_text=True), "form_key")
    fields = {"name": "Booking system", "scope": "read", "days": "90", "form_key": form_key}
    secret_of(as_admin.post(TOKENS, fields))
    again = as_admin.post(TOKENS, fields, follow_redirects=True)
    assert again.status_code == 200 and "already sent" in again.get_data(as_text=True)
    assert [token.name for token in stored_tokens(app)] == ["Booking system"]
    # A new form (a new key) makes a second token as asked.
    secret_of(create(as_admin, name="Reporting"))
    assert [token.name for token in stored_tokens(app)] == ["Booking system", "Reporting"]


def test_a_token_made_on_the_page_reads_the_api(app, client, as_admin):
    secret = secret_of(create(as_admin))
    response = client.get(INTAKES, headers=bearer(secret))
    assert response.status_code == 200 and response.json["total"] == 0
    (token,) = stored_tokens(app)
    assert token.last_used_at is not None
    last_used = row_of(as_admin.client.get(TOKENS).get_data(as_text=True), "Booking system")[4]
    assert last_used != "Never"


def test_a_read_token_cannot_write_and_a_write_token_can(app, client, as_admin):
    reader = secret_of(create(as_admin, name="Reports", scope="read"))
    refused = post_intake(client, reader, document())
    assert refused.status_code == 403 and refused.is_json
    assert refused.json["message"] == (f"This API token may only read (scope read): POST {INTAKES} needs a token "
                                       "with scope write.")
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    # No endpoint takes PUT: refused for any token, saying which methods the address takes.
    put = client.put(INTAKES, json=document(), headers=bearer(reader))
    assert put.status_code == 405 and put.json["message"] == f"PUT is not allowed on {INTAKES}: it accepts GET, POST."
    assert count_intakes(app) == 0
    writer = secret_of(create(as_admin, name="Booking", scope="write"))
    assert post_intake(client, writer, document()).status_code == 201
    assert count_intakes(app) == 1
    assert [(t.name, t.scope) for t in stored_tokens(app)] == [("Reports", "read"), ("Booking", "write")]


def test_the_expiry_is_set_in_days_or_never_and_an_expired_token_gets_401(app, client, as_admin):
    secret = secret_of(create(as_admin, name="Short", days="7"))
    never = secret_of(create(as_admin, name="Forever", days="not read", never=True))
    short, forever = stored_tokens(app)
    assert forever.expires_at is None
    assert abs(as_utc(short.expires_at) - (utcnow() + dt.timedelta(days=7))) < dt.timedelta(minutes=1)
    assert client.get(INTAKES, headers=bearer(secret)).status_code == 200
    with app.app_context():
        db.session.get(ApiToken, short.id).expires_at = utcnow() - dt.timedelta(seconds=1)
        db.session.commit()
    response = client.get(INTAKES, headers=bearer(secret))
    assert response.status_code == 401 and "has expired" in response.json["message"]
    assert client.get(INTAKES, headers=bearer(never)).status_code == 200
    page = as_admin.client.get(TOKENS).get_data(as_text=True)
    assert row_of(page, "Short")[5].strip() == "Expired"
    assert row_of(page, "Forever")[3] == "Never" and row_of(page, "Forever")[5].strip() == "Active"


def test_the_default_expiry_is_90_days(app, as_admin):
    page = as_admin.client.get(TOKENS).get_data(as_text=True)
    assert field_value(page, "days") == "90" and checked(page, "scope") == ["read"]
    assert checked(page, "never_expires") == []
    secret_of(create(as_admin, days=field_value(page, "days")))
    (token,) = stored_tokens(app)
    assert abs(as_utc(token.expires_at) - (utcnow() + dt.timedelta(days=90))) < dt.timedelta(minutes=1)


def test_revoking_on_the_page_asks_first_then_the_token_gets_401(app, client, as_admin):
    secret = secret_of(create(as_admin))
    (token,) = stored_tokens(app)
    asked = revoke(as_admin, token.id, confirm=False)
    assert asked.status_code == 200
    assert "Revoke the token “Booking system”?" in asked.get_data(as_text=True)
    assert "cannot be undone" in asked.get_data(as_text=True)
    assert client.get(INTAKES, headers=bearer(secret)).status_code == 200, "asking revokes nothing"
    done = revoke(as_admin, token.id)
    assert done.status_code == 302 and done.location.endswith(TOKENS)
    response = client.get(INTAKES, headers=bearer(secret))
    assert response.status_code == 401 and response.json["message"] == "This API token is not valid or was revoked."
    page = as_admin.client.get(TOKENS).get_data(as_text=True)
    assert "is revoked" in page and row_of(page, "Booking system")[5].strip().startswith("Revoked on")
    assert parse(page).find("form", action=f"{TOKENS}{token.id}/revoke") is None
    # Again (an old tab): nothing changes, and it says so.
    again = revoke(as_admin, token.id)
    assert again.status_code == 302
    assert "already revoked" in as_admin.client.get(TOKENS).get_data(as_text=True)
    assert len(audit(app, "api_token.revoked")) == 1
    assert revoke(as_admin, 999).status_code == 404


def test_a_token_dies_with_its_owners_account(app, client, as_admin, admin):
    secret = secret_of(create(as_admin))
    with app.app_context():
        accounts.deactivate(accounts.find_user("ada@demo.clinic"))
    response = client.get(INTAKES, headers=bearer(secret))
    assert response.status_code == 401 and "account that was deactivated" in response.json["message"]


def test_the_list_shows_when_a_tokens_owner_is_deactivated(app, forms, admin):
    make_token(app, name="Old system")
    with app.app_context():  # another admin looks at the page
        accounts.create_user("bo@demo.clinic", "Bo Admin", "admin", "correct horse battery")
        accounts.deactivate(accounts.find_user("ada@demo.clinic"))
    sign_in(forms, email="bo@demo.clinic")
    page = forms.client.get(TOKENS).get_data(as_text=True)
    assert row_of(page, "Old system")[0] == "Ada Admin"
    assert "creator's account is deactivated" in row_of(page, "Old system")[5]


def test_practitioners_get_403_and_no_link(app, client, signed_in):
    for response in (signed_in.client.get(TOKENS), create(signed_in), revoke(signed_in, 1)):
        assert response.status_code == 403
    assert stored_tokens(app) == []
    nav = parse(signed_in.client.get("/staff/").get_data(as_text=True)).find("nav", class_="staff-nav")
    assert nav is not None and nav.find("a", href=TOKENS) is None


def test_admins_find_the_page_in_the_staff_navigation(as_admin):
    nav = parse(as_admin.client.get("/staff/").get_data(as_text=True)).find("nav", class_="staff-nav")
    link = nav.find("a", href=TOKENS)
    assert link is not None and link.get_text(strip=True) == "API tokens"
    current = parse(as_admin.client.get(TOKENS).get_data(as_text=True)).find("a", attrs={"aria-current": "page"})
    assert current is not None and current["href"] == TOKENS


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(TOKENS)
    assert response.status_code == 302 and "/staff/sign-in" in response.location


@pytest.mark.parametrize(("fields", "problem"), [
    ({"name": "   "}, ("#name", "Enter a name for the token, such as Booking system.")),
    ({"name": "x" * 121}, ("#name", "Use 120 characters or fewer.")),
    ({"days": "0"}, ("#days", "Enter a whole number of days from 1 to 3650, or tick Never expires.")),
    ({"days": "ninety"}, ("#days", "Enter a whole number of days from 1 to 3650, or tick Never expires.")),
    ({"days": "3651"}, ("#days", "Enter a whole number of days from 1 to 3650, or tick Never expires.")),
    ({"days": "²"}, ("#days", "Enter a whole number of days from 1 to 3650, or tick Never expires.")),
    ({"days": ""}, ("#days", "Enter a whole number of days from 1 to 3650, or tick Never expires.")),
    ({"scope": None}, ("#scope-0", "Choose what the token may do: read, or write.")),
    ({"scope": "admin"}, ("#scope-0", "Choose what the token may do: read, or write.")),
])
def test_bad_input_comes_back_with_the_error_summary_and_what_was_typed(app, as_admin, fields, problem):
    typed = {"name": "Booking system", "scope": "write", "days": "30", **fields}
    response = create(as_admin, **typed)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert problems(page) == [problem]
    assert parse(page).find(id=problem[0][1:]) is not None, "the summary links to a control on the page"
    assert "<title>Error:" in page
    assert field_value(page, "name") == typed["name"].strip() and field_value(page, "days") == typed["days"]
    if typed["scope"] == "write":
        assert checked(page, "scope") == ["write"]
    assert parse(page).find("code", id="api-token-secret") is None
    assert stored_tokens(app) == [] and audit(app, "api_token.created") == []


def test_an_empty_name_keeps_the_other_fields_as_typed(app, as_admin):
    response = create(as_admin, name="", scope="write", days="45", never=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert problems(page) == [("#name", "Enter a name for the token, such as Booking system.")]
    assert text_of(page, "name-error") == "Error: Enter a name for the token, such as Booking system."
    assert (checked(page, "scope"), field_value(page, "days"), checked(page, "never_expires")) == (["write"], "45",
                                                                                                 ["y"])
    assert stored_tokens(app) == []


def test_creating_and_revoking_need_the_forms_csrf_token(app, as_admin):
    page = as_admin.client.get(TOKENS).get_data(as_text=True)
    assert csrf_token(page)
    for data in ({}, {"csrf_token": "forged"}):
        response = as_admin.client.post(TOKENS, data={**data, "name": "Forged", "scope": "write", "days": "90"})
        assert response.status_code == 400
    assert stored_tokens(app) == []
    secret = secret_of(create(as_admin))
    (token,) = stored_tokens(app)
    for data in ({}, {"csrf_token": "forged"}):
        response = as_admin.client.post(f"{TOKENS}{token.id}/revoke", data={**data, "confirm": "yes"})
        assert response.status_code == 400
    assert stored_tokens(app)[0].revoked_at is None
    assert as_admin.client.application.test_client().get(INTAKES, headers=bearer(secret)).status_code == 200


def test_creating_and_revoking_are_audited_as_the_admin(app, as_admin, admin):
    secret_of(create(as_admin, name="Booking", scope="write", days="30"))
    (token,) = stored_tokens(app)
    revoke(as_admin, token.id)
    (created,) = audit(app, "api_token.created")
    (revoked,) = audit(app, "api_token.revoked")
    assert created.actor == revoked.actor == f"staff:{admin}"
    assert created.data["token_id"] == revoked.data["token_id"] == token.id
    assert (created.data["name"], created.data["scope"], created.data["created_by"]) == ("Booking", "write", admin)
    assert as_utc(dt.datetime.fromisoformat(created.data["expires_at"])) == as_utc(token.expires_at)


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


# --- the API documentation page

DOCS = "/staff/api-docs/"


def asset_urls(page: str) -> list[str]:
    """Every script, stylesheet, image or frame a page loads."""
    soup = parse(page)
    found = [str(tag["src"]) for tag in soup.find_all(["script", "img", "iframe"]) if tag.has_attr("src")]
    return found + [str(tag["href"]) for tag in soup.find_all("link") if tag.has_attr("href")]


def test_staff_read_the_endpoints_and_how_to_authenticate_without_javascript(app, client, signed_in):
    response = signed_in.client.get(DOCS)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    soup = parse(page)
    endpoints = [" ".join(heading.get_text().split()) for heading in soup.select("#endpoints ~ .endpoint h3")]
    spec = client.get("/api/v1/openapi.json").json
    expected = {f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item
                if method in ("get", "post", "put", "patch", "delete")}
    assert set(endpoints) == expected == {"GET /api/v1/intakes", "POST /api/v1/intakes",
                                          "GET /api/v1/intakes/{intake_id}"}
    facts = {heading: [" ".join(dd.get_text().split()) for dd in heading_tag.find_parent("div").find_all("dd")]
             for heading, heading_tag in zip(endpoints, soup.select("#endpoints ~ .endpoint h3"), strict=True)}
    assert facts["POST /api/v1/intakes"][0] == "write"
    assert facts["GET /api/v1/intakes"][0] == facts["GET /api/v1/intakes/{intake_id}"][0] == "read"
    assert "403" in facts["POST /api/v1/intakes"][1] and "default" not in facts["POST /api/v1/intakes"][1]
    post = soup.select("#endpoints ~ .endpoint")[[*endpoints].index("POST /api/v1/intakes")]
    assert spec["paths"]["/api/v1/intakes"]["post"]["summary"] in post.get_text()
    authenticate = text_of(page, "authenticate")
    assert authenticate == "How to authenticate"
    assert "Authorization: Bearer" in page and "read token" in page and "expires" in page
    # A practitioner is told who makes tokens, and gets no link to a page they cannot open.
    assert "A clinic admin creates a token" in page and soup.find("a", href=TOKENS) is None
    assert parse(page).find(id="authenticate").find_next_sibling("ul").find("a") is None
    # Without JavaScript the interactive viewer's section stays hidden, its script adds it.
    assert soup.find(id="api-viewer").has_attr("hidden")
    assert not [tag for tag in soup.find_all("script") if not tag.has_attr("src")], "no inline script"
    nav = soup.find("nav", class_="staff-nav")
    assert nav.find("a", href=DOCS).get_text(strip=True) == "API documentation"


def test_admins_are_sent_to_the_tokens_page_from_the_docs(as_admin):
    soup = parse(as_admin.client.get(DOCS).get_data(as_text=True))
    how = soup.find(id="authenticate").find_next_sibling("ul")
    assert how.find("a", href=TOKENS).get_text(strip=True) == "API tokens page"


def test_anonymous_visitors_are_sent_to_sign_in_from_the_docs(client):
    response = client.get(DOCS)
    assert response.status_code == 302 and response.location.endswith("/staff/sign-in?next=/staff/api-docs/")


def test_the_viewer_is_vendored_and_the_strict_policy_is_kept(signed_in):
    response = signed_in.client.get(DOCS)
    assets = asset_urls(response.get_data(as_text=True))
    vendored = [url for url in assets if url.startswith("/static/vendor/swagger-ui-dist-")]
    assert {url.rsplit("/", 1)[1] for url in vendored} == {"swagger-ui-bundle.js", "swagger-ui.css"}
    assert "/static/js/api-docs.js" in assets
    for url in assets:
        if url.startswith("data:"):
            continue
        with signed_in.client.get(url) as asset:
            assert asset.status_code == 200, url
            assert "no-store" not in asset.headers.get("Cache-Control", ""), url
    # Its licence travels with it.
    folder = vendored[0].rsplit("/", 1)[0]
    with signed_in.client.get(f"{folder}/LICENSE") as licence:
        assert licence.status_code == 200 and b"Apache License" in licence.data
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


def test_no_page_loads_anything_from_another_site(app, as_admin):
    created = create(as_admin)
    (token,) = stored_tokens(app)
    pages = {"docs": as_admin.client.get(DOCS), "tokens": as_admin.client.get(TOKENS), "created": created,
             "revoke": revoke(as_admin, token.id, confirm=False), "error": create(as_admin, name="")}
    for name, response in pages.items():
        page = response.get_data(as_text=True)
        assets = asset_urls(page)
        assert assets, name
        assert [url for url in assets if url.startswith(("http:", "https:", "//"))] == [], name
        assert "cdn" not in page.lower() and "unpkg" not in page.lower(), name

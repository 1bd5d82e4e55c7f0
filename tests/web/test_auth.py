"""Staff sign-in, sessions, access control and the `flask users` commands, on both backends."""

from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import url_for
from sqlalchemy import select

from intake.auth import service
from intake.auth.access import LAST_SEEN_KEY, StaffBlueprint
from intake.extensions import db
from intake.models import AuditEntry, StaffUser
from tests.support import html as pages
from tests.support.html import csrf_token
from tests.support.staff import PASSWORD, SIGN_IN, make_user, sign_in

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

#: 09:00 in London too (GMT in November), so the lock message reads 09:15.
T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock(app):
    """The app's clock, pinned at T0; ``clock.advance(minutes=…)`` moves it."""

    class Clock:
        def advance(self, **delta: float) -> None:
            app.config["NOW"] = app.config["NOW"] + dt.timedelta(**delta)

    app.config["NOW"] = T0
    return Clock()


def path_of(response) -> str:
    return urlsplit(response.location).path


def audit(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [
            (entry.actor, entry.action)
            for entry in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def audit_entries(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def error_summary(html: str) -> str:
    summary = pages.error_summary(html)
    assert summary is not None, "the page has no error summary"
    return str(summary)


def signed_in_user_id(client) -> str | None:
    with client.session_transaction() as session:
        return session.get("_user_id")


# --- the sign-in page


def test_sign_in_page_has_labelled_fields_and_a_csrf_token(client):
    response = client.get(SIGN_IN)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<label class="label" for="email">Email address</label>' in html
    assert '<label class="label" for="password">Password</label>' in html
    assert 'autocomplete="current-password"' in html and 'autocomplete="username"' in html
    assert csrf_token(html)


def test_good_sign_in_lands_on_the_staff_home_page(app, forms, practitioner):
    response = sign_in(forms, email="  PAT@Demo.Clinic ")
    assert response.status_code == 302 and path_of(response) == "/staff/"
    home = forms.client.get("/staff/").get_data(as_text=True)
    assert "Signed in as Pat Practitioner" in home
    assert 'action="/staff/sign-out"' in home
    assert (f"staff:{practitioner}", "auth.signed_in") in audit(app)


def test_a_signed_in_member_of_staff_skips_the_sign_in_page(forms, practitioner):
    sign_in(forms)
    response = forms.client.get(SIGN_IN)
    assert response.status_code == 302 and path_of(response) == "/staff/"


def test_wrong_password_says_so_without_saying_which_and_keeps_the_email(app, forms, practitioner):
    response = sign_in(forms, password="not my password")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Email or password is not right" in error_summary(html)
    assert '<a href="#email">Email or password is not right</a>' in html
    assert 'value="pat@demo.clinic"' in html
    assert "not my password" not in html
    assert "<title>Error:" in html
    assert signed_in_user_id(forms.client) is None
    assert audit(app)[-1] == ("anonymous", "auth.sign_in_failed")


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(forms, practitioner):
    wrong = sign_in(forms, password="not my password").get_data(as_text=True)
    unknown = sign_in(forms, email="nobody@demo.clinic").get_data(as_text=True)
    assert error_summary(wrong) == error_summary(unknown)


def test_empty_fields_are_named_in_the_error_summary(forms):
    html = sign_in(forms, email="", password="").get_data(as_text=True)
    summary = error_summary(html)
    assert '<a href="#email">Enter your email address</a>' in summary
    assert '<a href="#password">Enter your password</a>' in summary
    assert 'aria-invalid="true"' in html


def test_five_failures_from_one_address_refuse_it_until_the_time_shown(app, forms, clock, practitioner):
    for _ in range(4):
        assert "Email or password is not right" in sign_in(forms, password="wrong").get_data(as_text=True)
    html = sign_in(forms, password="wrong").get_data(as_text=True)
    assert "Too many attempts: try again at 09:15" in html

    clock.advance(minutes=10)
    refused = sign_in(forms)
    assert refused.status_code == 200
    assert "Too many attempts: try again at 09:15" in refused.get_data(as_text=True)

    clock.advance(minutes=5)
    response = sign_in(forms)
    assert response.status_code == 302 and path_of(response) == "/staff/"
    assert [action for _, action in audit(app)].count("auth.sign_in_throttled") == 2  # the 5th failure, the refusal


def test_sign_in_posts_are_throttled_per_address_with_a_friendly_page(app, client, practitioner):
    token = csrf_token(client.get(SIGN_IN).get_data(as_text=True))
    for _ in range(10):
        assert (
            client.post(SIGN_IN, data={"csrf_token": token, "email": "", "password": ""}).status_code == 200
        )
    response = client.post(
        SIGN_IN, data={"csrf_token": token, "email": "pat@demo.clinic", "password": PASSWORD}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 429
    assert "Too many sign-in attempts" in html
    assert re.search(r"Wait \d+ seconds?, then try again", html)
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    assert client.get(SIGN_IN).status_code == 200  # reading the page is not throttled

    elsewhere = client.post(
        SIGN_IN,
        data={"csrf_token": token, "email": "", "password": ""},
        environ_base={"REMOTE_ADDR": "192.0.2.99"},
    )
    assert elsewhere.status_code == 200


def test_a_deactivated_account_cannot_sign_in(app, forms, practitioner):
    with app.app_context():
        service.deactivate(db.session.get(StaffUser, practitioner))
    html = sign_in(forms).get_data(as_text=True)
    assert "This account is deactivated — ask your clinic admin" in html
    assert "This account is deactivated" not in sign_in(forms, password="wrong").get_data(as_text=True)
    assert signed_in_user_id(forms.client) is None


def test_a_deactivated_account_is_signed_out_on_its_next_request(app, forms, practitioner):
    sign_in(forms)
    with app.app_context():
        service.deactivate(db.session.get(StaffUser, practitioner))
    response = forms.client.get("/staff/")
    assert response.status_code == 302 and path_of(response) == SIGN_IN
    assert "This account is deactivated — ask your clinic admin" in forms.client.get(
        response.location
    ).get_data(as_text=True)
    assert signed_in_user_id(forms.client) is None
    (entry,) = audit_entries(app, "auth.signed_out")
    assert entry.data["reason"] == "deactivated"


def test_a_new_password_ends_the_sessions_signed_in_before_it(app, forms, runner, practitioner):
    sign_in(forms)
    result = runner.invoke(
        args=["users", "set-password", "pat@demo.clinic", "--password", "another long secret"]
    )
    assert result.exit_code == 0, result.output
    response = forms.client.get("/staff/")
    assert path_of(response) == SIGN_IN
    assert "Your session has ended" in forms.client.get(response.location).get_data(as_text=True)


# --- where to go after signing in


def test_the_sign_in_page_carries_a_safe_next_in_its_form(client):
    html = client.get(SIGN_IN + "?next=/staff/accounts").get_data(as_text=True)
    assert 'name="next" type="hidden" value="/staff/accounts"' in html
    html = client.get(SIGN_IN + "?next=https://evil.example/").get_data(as_text=True)
    assert 'name="next" type="hidden" value=""' in html


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [
        ("/staff/accounts?sort=email", "/staff/accounts?sort=email"),
        ("https://evil.example/staff/", "/staff/"),
        ("//evil.example/staff/", "/staff/"),
        ("/\\evil.example", "/staff/"),
        ("", "/staff/"),
    ],
)
def test_next_is_followed_only_when_it_stays_on_the_site(forms, admin, next_url, lands_on):
    response = sign_in(forms, email="ada@demo.clinic", next_url=next_url)
    assert response.status_code == 302
    assert response.location == lands_on


# --- sessions


def test_signing_in_starts_a_fresh_session(forms, practitioner):
    forms.client.get(SIGN_IN)
    with forms.client.session_transaction() as session:
        session["planted"] = "by someone else"
        token_before = session["csrf_token"]
    sign_in(forms)
    with forms.client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != token_before
        assert session.permanent


def test_sign_out_clears_the_session(app, forms, practitioner):
    sign_in(forms)
    response = forms.post("/staff/sign-out", {}, page="/staff/")
    assert response.status_code == 302 and path_of(response) == SIGN_IN
    assert "You are signed out." in forms.client.get(SIGN_IN).get_data(as_text=True)
    assert signed_in_user_id(forms.client) is None
    assert path_of(forms.client.get("/staff/")) == SIGN_IN
    (entry,) = audit_entries(app, "auth.signed_out")
    assert entry.actor == f"staff:{practitioner}" and entry.data["reason"] == "requested"


def test_sign_out_needs_a_post_with_the_csrf_token(forms, practitioner):
    sign_in(forms)
    assert forms.client.get("/staff/sign-out").status_code == 405
    assert forms.client.post("/staff/sign-out").status_code == 400
    assert signed_in_user_id(forms.client) is not None


def test_the_session_cookie_is_refreshed_by_each_request_and_ends_after_inactivity(
    app, forms, clock, practitioner
):
    response = sign_in(forms)
    assert "Expires=" in response.headers["Set-Cookie"]
    for _ in range(3):  # an hour and a half of work, never 30 minutes idle
        clock.advance(minutes=29)
        assert forms.client.get("/staff/").status_code == 200
    with forms.client.session_transaction() as session:
        assert session[LAST_SEEN_KEY] == int((T0 + dt.timedelta(minutes=87)).timestamp())

    clock.advance(minutes=31)
    response = forms.client.get("/staff/")
    assert path_of(response) == SIGN_IN
    assert parse_qs(urlsplit(response.location).query) == {"next": ["/staff/"]}
    html = forms.client.get(response.location).get_data(as_text=True)
    assert "You were signed out after 30 minutes without activity" in html
    assert signed_in_user_id(forms.client) is None
    (entry,) = audit_entries(app, "auth.signed_out")
    assert entry.data["reason"] == "inactive"


def test_only_a_staff_cookie_expires_with_the_inactivity_limit(app, forms, practitioner):
    patient_cookie = forms.client.get("/").headers["Set-Cookie"]
    assert "Expires=" not in patient_cookie
    # Flask checks every session cookie's age against this: a patient's must last a long page.
    assert app.permanent_session_lifetime >= dt.timedelta(days=1)

    (staff_cookie,) = [c for c in sign_in(forms).headers.getlist("Set-Cookie") if c.startswith("session=")]
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", staff_cookie).group(1))
    expected = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30)
    assert abs(expires - expected) < dt.timedelta(seconds=30)


def test_an_old_last_seen_timestamp_ends_the_session(forms, practitioner):
    sign_in(forms)
    with forms.client.session_transaction() as session:
        session[LAST_SEEN_KEY] -= 31 * 60
    assert path_of(forms.client.get("/staff/")) == SIGN_IN


def test_the_inactivity_limit_follows_the_configured_lifetime(app, forms, clock, practitioner):
    app.config["STAFF_SESSION_LIFETIME"] = dt.timedelta(minutes=5)
    sign_in(forms)
    clock.advance(minutes=4)
    assert forms.client.get("/staff/").status_code == 200
    clock.advance(minutes=6)
    assert path_of(forms.client.get("/staff/")) == SIGN_IN


# --- access to staff pages


def test_anonymous_visitors_are_sent_to_sign_in_from_every_staff_page(app, client):
    token = csrf_token(client.get(SIGN_IN).get_data(as_text=True))
    checked = []
    for rule in app.url_map.iter_rules():
        blueprint = app.blueprints.get(rule.endpoint.rpartition(".")[0])
        view = app.view_functions[rule.endpoint]
        if not isinstance(blueprint, StaffBlueprint) or getattr(view, "staff_public", False):
            continue
        with app.test_request_context():
            url = url_for(rule.endpoint, **{**{argument: 1 for argument in rule.arguments}, **(rule.defaults or {})})
        for method in sorted(rule.methods & {"GET", "POST"}):
            response = client.open(
                url, method=method, data={"csrf_token": token} if method == "POST" else None
            )
            assert response.status_code == 302, (method, url)
            assert path_of(response) == SIGN_IN, (method, url)
            checked.append((method, url))
    assert ("GET", "/staff/") in checked and ("GET", "/staff/accounts") in checked
    assert ("POST", "/staff/sign-out") in checked


def test_the_anonymous_redirect_remembers_the_page(client):
    response = client.get("/staff/accounts?sort=email")
    assert parse_qs(urlsplit(response.location).query) == {"next": ["/staff/accounts?sort=email"]}


def test_the_wrong_role_gets_403(forms, practitioner, admin):
    sign_in(forms)
    response = forms.client.get("/staff/accounts")
    assert response.status_code == 403
    assert "You cannot open this page" in response.get_data(as_text=True)
    assert "Staff accounts" not in forms.client.get("/staff/").get_data(as_text=True)


def test_an_admin_sees_the_staff_accounts(forms, practitioner, admin, clock):
    sign_in(forms, email="ada@demo.clinic")
    html = forms.client.get("/staff/accounts").get_data(as_text=True)
    assert "pat@demo.clinic" in html and "ada@demo.clinic" in html
    assert "Never" in html and "25 Nov 2026, 09:00" in html


# --- the audit trail


def test_every_sign_in_event_and_account_change_is_audited(app, forms, runner, clock):
    runner.invoke(
        args=["users", "create", "--email", "pat@demo.clinic", "--name", "Pat", "--password", PASSWORD]
    )
    sign_in(forms, password="wrong")
    sign_in(forms, email="nobody@demo.clinic")
    sign_in(forms)
    forms.post("/staff/sign-out", {}, page="/staff/")
    for _ in range(5):
        sign_in(forms, password="wrong")
    runner.invoke(args=["users", "set-password", "pat@demo.clinic", "--password", "a new long password"])
    runner.invoke(args=["users", "deactivate", "pat@demo.clinic"])
    with app.app_context():
        user_id = service.find_user("pat@demo.clinic").id
    staff = f"staff:{user_id}"
    assert audit(app) == [
        ("system", "staff.created"),
        ("anonymous", "auth.sign_in_failed"),
        ("anonymous", "auth.sign_in_failed"),
        (staff, "auth.signed_in"),
        (staff, "auth.signed_out"),
        *[("anonymous", "auth.sign_in_failed")] * 5,
        ("anonymous", "auth.sign_in_throttled"),
        ("system", "staff.password_set"),
        ("system", "staff.deactivated"),
    ]
    assert all(entry.intake_id is None for entry in audit_entries(app, "auth.sign_in_failed"))


# --- flask users …


def test_users_create_with_a_password_option(app, runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "New@Demo.Clinic",
            "--name",
            "Nia New",
            "--role",
            "admin",
            "--password",
            PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Created admin new@demo.clinic (Nia New)." in result.output
    with app.app_context():
        assert service.authenticate("new@demo.clinic", PASSWORD, T0).role == "admin"


def test_users_create_prompts_twice_for_a_hidden_password(app, runner):
    result = runner.invoke(
        args=["users", "create", "--email", "p@demo.clinic", "--name", "P"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    with app.app_context():
        user = service.find_user("p@demo.clinic")
        assert user.role == "practitioner"


def test_users_create_refuses_a_mismatched_confirmation(app, runner):
    result = runner.invoke(
        args=["users", "create", "--email", "p@demo.clinic", "--name", "P"],
        input=f"{PASSWORD}\nsomething else entirely\n",
    )
    assert result.exit_code != 0
    assert "do not match" in result.output
    with app.app_context():
        assert service.find_user("p@demo.clinic") is None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--email", "pat@demo.clinic", "--password", PASSWORD], "already exists"),
        (["--email", "x@demo.clinic", "--password", "short"], "at least 12 characters"),
        (["--email", "not-an-email", "--password", PASSWORD], "not a valid email address"),
        (["--email", "x@demo.clinic", "--role", "owner", "--password", PASSWORD], "'owner' is not one of"),
    ],
)
def test_users_create_explains_what_is_wrong(runner, practitioner, arguments, message):
    result = runner.invoke(args=["users", "create", "--name", "X", *arguments])
    assert result.exit_code != 0
    assert message in result.output


def test_users_list(app, runner, clock):
    assert "No staff accounts yet" in runner.invoke(args=["users", "list"]).output
    make_user(app)
    make_user(app, "ada@demo.clinic", "admin", "Ada Admin")
    make_user(app, "gone@demo.clinic", name="Gone")
    runner.invoke(args=["users", "deactivate", "gone@demo.clinic"])
    with app.app_context():
        service.authenticate("ada@demo.clinic", PASSWORD, T0)
        for attempt in range(20):  # from four addresses: sign-in is throttled for new browsers
            service.authenticate("pat@demo.clinic", "wrong", T0, ip=f"192.0.2.{attempt // 5}")
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["email", "name", "role", "status", "last", "sign-in"]
    assert re.search(
        r"^ada@demo\.clinic\s+Ada Admin\s+admin\s+active\s+2026-11-25 09:00 UTC$", result.output, re.M
    )
    assert re.search(r"^gone@demo\.clinic\s+Gone\s+practitioner\s+deactivated\s+never$", result.output, re.M)
    assert re.search(r"^pat@demo\.clinic\s+.*sign-in throttled until 09:15 UTC\s+never$", result.output, re.M)


def test_users_deactivate(app, runner, practitioner):
    result = runner.invoke(args=["users", "deactivate", "PAT@demo.clinic"])
    assert result.exit_code == 0 and "Deactivated pat@demo.clinic." in result.output
    again = runner.invoke(args=["users", "deactivate", "pat@demo.clinic"])
    assert again.exit_code == 1 and "already deactivated" in again.output
    unknown = runner.invoke(args=["users", "deactivate", "nobody@demo.clinic"])
    assert unknown.exit_code == 1 and "No staff account for nobody@demo.clinic" in unknown.output


def test_users_set_password(app, runner, practitioner):
    result = runner.invoke(
        args=["users", "set-password", "pat@demo.clinic"], input="a fresh passphrase\na fresh passphrase\n"
    )
    assert result.exit_code == 0 and "Password set for pat@demo.clinic." in result.output
    with app.app_context():
        assert isinstance(service.authenticate("pat@demo.clinic", "a fresh passphrase", T0), StaffUser)
    short = runner.invoke(args=["users", "set-password", "pat@demo.clinic", "--password", "tooshort"])
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    unknown = runner.invoke(args=["users", "set-password", "nobody@demo.clinic", "--password", PASSWORD])
    assert unknown.exit_code == 1 and "No staff account" in unknown.output


def test_demo_creates_the_demo_staff_once_and_prints_the_password_once(app, runner, forms):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    password = re.search(r"password for both, shown only this once: (\S+)", first.output).group(1)
    assert len(password) >= 12
    assert "practitioner@demo.clinic" in first.output and "admin@demo.clinic" in first.output
    assert "/staff/sign-in" in first.output
    with app.app_context():
        assert service.find_user("practitioner@demo.clinic").role == "practitioner"
        assert service.find_user("admin@demo.clinic").role == "admin"
    assert path_of(sign_in(forms, email="admin@demo.clinic", password=password)) == "/staff/"

    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert password not in again.output
    assert "already exist" in again.output and "users set-password" in again.output

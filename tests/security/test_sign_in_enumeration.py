"""Sign-in answers a known and an unknown account alike, and a stranger cannot lock a colleague out."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from intake.auth import service
from tests.support.forms import FormClient
from tests.support.staff import PASSWORD, SIGN_IN

T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
STRANGER = {"REMOTE_ADDR": "198.51.100.66"}


@pytest.fixture(autouse=True)
def clock(app):
    app.config["NOW"] = T0


def attempt(app, email: str, password: str = "a wrong guess", environ: dict | None = None, client=None):
    forms = FormClient(client or app.test_client())
    html = forms.client.get(SIGN_IN, environ_base=environ or {}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    return forms.client.post(SIGN_IN, data={"csrf_token": token, "email": email, "password": password, "next": ""},
                             environ_base=environ or {})


def comparable(response) -> tuple:
    html = re.sub(r'value="[^"]*"', 'value=""', response.get_data(as_text=True))  # CSRF token, typed email
    html = html.replace("nobody@demo.clinic", "EMAIL").replace("pat@demo.clinic", "EMAIL")
    return response.status_code, html, response.headers.get("Retry-After")


def test_known_and_unknown_accounts_get_the_same_answer_at_every_attempt(app, practitioner):
    app.config["SIGN_IN_RATE_LIMIT"] = "100 per minute"
    for number in range(1, 8):
        known = attempt(app, "pat@demo.clinic", environ={"REMOTE_ADDR": "192.0.2.1"})
        unknown = attempt(app, "nobody@demo.clinic", environ={"REMOTE_ADDR": "192.0.2.2"})
        assert comparable(known) == comparable(unknown), f"attempt {number} tells the accounts apart"
        expected = "Email or password is not right" if number < 5 else "Too many attempts: try again at 09:15"
        assert expected in known.get_data(as_text=True), number


def test_an_unknown_account_costs_the_same_password_check(app, practitioner, monkeypatch):
    calls: list[str] = []
    real = service._verify
    monkeypatch.setattr(service, "_verify", lambda stored, password: calls.append(stored) or real(stored, password))
    with app.app_context():
        service.authenticate("pat@demo.clinic", "wrong", T0, ip="192.0.2.1")
        service.authenticate("nobody@demo.clinic", "wrong", T0, ip="192.0.2.1")
    assert len(calls) == 2 and all(stored.startswith("$argon2id$") for stored in calls)


def test_a_stranger_guessing_a_colleagues_password_locks_only_themselves(app, practitioner):
    for _ in range(6):
        attempt(app, "pat@demo.clinic", environ=STRANGER)
    assert "Too many attempts" in attempt(app, "pat@demo.clinic", PASSWORD, environ=STRANGER).get_data(as_text=True)
    # The colleague, at their own computer, signs in at once.
    response = attempt(app, "pat@demo.clinic", PASSWORD, environ={"REMOTE_ADDR": "192.0.2.10"})
    assert response.status_code == 302 and response.location == "/staff/"


def test_a_guesser_spread_over_many_addresses_cannot_lock_out_the_users_own_browser(app, practitioner):
    app.config["SIGN_IN_RATE_LIMIT"] = "100 per minute"
    own = app.test_client()
    assert attempt(app, "pat@demo.clinic", PASSWORD, client=own).status_code == 302  # their usual browser
    FormClient(own).post("/staff/sign-out", {}, page="/staff/")  # the known-device cookie stays
    assert own.get("/staff/queue").status_code == 302
    for number in range(25):  # five addresses, five wrong guesses each: 20 for the account from anywhere
        attempt(app, "pat@demo.clinic", environ={"REMOTE_ADDR": f"203.0.113.{number // 5}"})
    fresh = attempt(app, "pat@demo.clinic", PASSWORD, environ={"REMOTE_ADDR": "203.0.113.200"})
    assert "Too many attempts" in fresh.get_data(as_text=True)  # a new browser waits while the attack lasts
    again = attempt(app, "pat@demo.clinic", PASSWORD, client=own)
    assert again.status_code == 302 and again.location == "/staff/"


def test_the_throttle_lifts_after_its_minutes(app, practitioner):
    for _ in range(5):
        attempt(app, "pat@demo.clinic", environ=STRANGER)
    app.config["NOW"] = T0 + dt.timedelta(minutes=14)
    assert "Too many attempts" in attempt(app, "pat@demo.clinic", PASSWORD, environ=STRANGER).get_data(as_text=True)
    app.config["NOW"] = T0 + dt.timedelta(minutes=15)
    assert attempt(app, "pat@demo.clinic", PASSWORD, environ=STRANGER).status_code == 302

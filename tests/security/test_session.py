"""Session fixation: nothing a visitor (or an attacker) put in the session survives signing in."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from intake.extensions import db
from intake.models import AuditEntry
from tests.support.forms import FormClient
from tests.support.staff import sign_in


def session_cookie(client) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def test_the_session_cookie_and_its_content_change_on_sign_in(app, forms, practitioner):
    client = forms.client
    client.get("/staff/sign-in")
    with client.session_transaction() as session:
        session["planted"] = "fixed by an attacker"
        session["_user_id"] = "1.999"  # a forged identity of a generation that does not exist
    planted = session_cookie(client)
    assert client.get("/staff/queue").status_code == 302  # the forged identity opens nothing
    assert sign_in(forms).status_code == 302
    assert session_cookie(client) != planted
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] != "1.999"


def test_a_cookie_planted_from_another_browser_is_replaced_on_sign_in(app, forms, practitioner):
    attacker = app.test_client()
    attacker.get("/staff/sign-in")
    with attacker.session_transaction() as session:
        session["planted"] = "attacker"
    planted = session_cookie(attacker)
    forms.client.set_cookie("session", planted, domain="localhost")
    assert sign_in(forms).status_code == 302
    signed_in = session_cookie(forms.client)
    assert signed_in != planted
    # The attacker's copy of the planted cookie is still anonymous.
    assert attacker.get("/staff/queue").status_code == 302


def test_the_session_cookie_is_httponly_and_samesite(app, forms, practitioner):
    response = sign_in(forms)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


# --- a session ends on the server, not only in the browser


def test_a_cookie_copied_before_sign_out_opens_nothing_after_it(app, forms, practitioner, demo_intakes):
    sign_in(forms)
    stolen = session_cookie(forms.client)
    record = f"/staff/intakes/{demo_intakes['Nina Petrova']}"
    assert forms.client.get(record).status_code == 200
    forms.post("/staff/sign-out", {}, page="/staff/")

    thief = app.test_client()
    thief.set_cookie("session", stolen, domain="localhost")
    for url in ("/staff/queue", record, "/staff/"):
        response = thief.get(url)
        assert response.status_code == 302 and response.location.startswith("/staff/sign-in"), url
    # The refused cookie was not refreshed into a working one either.
    assert thief.get("/staff/queue").status_code == 302


def test_a_replayed_cookie_dies_at_the_absolute_lifetime_however_busy(app, forms, practitioner):
    start = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
    app.config["NOW"] = start
    sign_in(forms)
    # Never idle for 30 minutes: only the absolute limit (12 hours by default) can end it.
    while app.config["NOW"] + dt.timedelta(minutes=25) < start + dt.timedelta(hours=12):
        app.config["NOW"] += dt.timedelta(minutes=25)
        assert forms.client.get("/staff/queue").status_code == 200
    app.config["NOW"] = start + dt.timedelta(hours=12)
    response = forms.client.get("/staff/queue")
    assert response.status_code == 302 and response.location.startswith("/staff/sign-in")
    html = forms.client.get(response.location).get_data(as_text=True)
    assert "You were signed in for 12 hours, the longest a session lasts" in html
    with app.app_context():
        (entry,) = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "auth.signed_out")).all()
        assert entry.data["reason"] == "expired"


def test_the_absolute_lifetime_is_a_setting(app, forms, practitioner):
    start = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
    app.config.update(NOW=start, STAFF_SESSION_MAX_HOURS=1)
    sign_in(forms)
    for minutes in (25, 50, 59):
        app.config["NOW"] = start + dt.timedelta(minutes=minutes)
        assert forms.client.get("/staff/queue").status_code == 200
    app.config["NOW"] = start + dt.timedelta(minutes=61)
    assert forms.client.get("/staff/queue").status_code == 302


def test_signing_out_in_one_browser_keeps_the_others_signed_in(app, forms, practitioner):
    other = FormClient(app.test_client())
    sign_in(forms)
    sign_in(other)
    forms.post("/staff/sign-out", {}, page="/staff/")
    assert forms.client.get("/staff/queue").status_code == 302
    assert other.client.get("/staff/queue").status_code == 200

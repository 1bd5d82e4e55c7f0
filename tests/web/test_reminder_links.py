"""The links in a patient's reminder, on both backends: the continue link (signed, scoped to an intake and a
page, dated; its page changes nothing, its button issues the new link, audited; a bad, expired or closed one
says how to get another) and the stop link's one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import delete, select, update

from intake.extensions import db
from intake.models import AuditEntry, Intake
from intake.reminders.service import Purpose, continue_token, stop_token
from intake.review.service import invite_patient
from tests.support.html import parse
from tests.support.patient import text
from tests.support.review import actions

APPOINTMENT = dt.date(2026, 12, 9)
UNTIL = APPOINTMENT + dt.timedelta(days=1)


def invite(app, language: str = "") -> tuple[int, str]:
    """An invited patient (appointment 9 December) and their private link's token."""
    with app.app_context():
        intake, token = invite_patient("Ruth Ellis", "ruth@example.org", APPOINTMENT, "staff:1", language=language)
        return intake.id, token


def continue_url(app, intake_id: int, purpose: str = Purpose.FORM, until: dt.date = UNTIL) -> str:
    with app.app_context():
        return f"/reminders/continue/{continue_token(intake_id, purpose, until)}"


def stored(app, intake_id: int) -> tuple[str, str | None, int]:
    """The intake's private link hash, status link hash and version."""
    with app.app_context():
        intake = db.session.get_one(Intake, intake_id)
        return intake.token_hash, intake.status_token_hash, intake.version


def set_intake(app, intake_id: int, **values) -> None:
    with app.app_context():
        db.session.execute(update(Intake).where(Intake.id == intake_id).values(**values))
        db.session.commit()


# --- the continue link ---------------------------------------------------------------------------------------


def test_opening_the_continue_link_changes_nothing_and_its_button_issues_the_new_link(app, forms):
    intake_id, private = invite(app)
    url = continue_url(app, intake_id)
    before = stored(app, intake_id)
    audit_before = actions(app, intake_id)
    page = forms.client.get(url)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert parse(page.get_data(as_text=True)).h1.get_text(strip=True) == "Continue your consultation form"
    assert "Continue my form" in text(page) and "works until Thursday 10 December 2026" in text(page)
    assert "Ruth" not in page.get_data(as_text=True)  # the page names no one: the link may have been forwarded
    forms.client.get(url)  # a mail app's scanner opening it again
    assert stored(app, intake_id) == before and actions(app, intake_id) == audit_before
    assert forms.client.get(f"/i/{private}").status_code == 302  # the patient's open form still works

    response = forms.post(url, {})
    assert response.status_code == 302
    token = re.fullmatch(r"/i/([\w-]+)", response.location).group(1)
    assert forms.client.get(f"/i/{token}").status_code == 302 and forms.client.get(f"/i/{private}").status_code == 404
    assert stored(app, intake_id)[2] == before[2]  # a new link is not a change to the intake: no conflict for staff
    assert actions(app, intake_id)[len(audit_before):] == ["link.issued"]
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
        assert entry.actor == "patient" and "reminder" in entry.summary


def test_pressing_the_button_needs_the_pages_csrf_token(app, forms):
    intake_id, _private = invite(app)
    url = continue_url(app, intake_id)
    before = stored(app, intake_id)
    assert forms.client.post(url, data={}).status_code == 400
    assert stored(app, intake_id) == before


@pytest.mark.parametrize(("purpose", "pattern"), [
    (Purpose.CHECK_IN, r"/i/[\w-]+/check-in"),
    (Purpose.STATUS, r"/s/[\w-]+"),
])
def test_each_purpose_leads_to_its_page(app, forms, purpose, pattern):
    intake_id, private = invite(app)
    set_intake(app, intake_id, status="submitted", review_status="approved")
    url = continue_url(app, intake_id, purpose)
    heading = {Purpose.CHECK_IN: "Check in before your appointment", Purpose.STATUS: "Your page at the clinic"}
    assert parse(forms.client.get(url).get_data(as_text=True)).h1.get_text(strip=True) == heading[purpose]
    before = stored(app, intake_id)
    response = forms.post(url, {})
    assert response.status_code == 302 and re.fullmatch(pattern, response.location), response.location
    after = stored(app, intake_id)
    if purpose == Purpose.STATUS:  # the read-only link is the one renewed; the private link is untouched
        assert after[0] == before[0] and after[1] != before[1]
        assert actions(app, intake_id)[-1] == "link.status_issued"
        assert forms.client.get(f"/i/{private}").status_code == 200
    else:
        assert after[0] != before[0] and actions(app, intake_id)[-1] == "link.issued"


@pytest.mark.parametrize("tamper", [
    lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
    lambda token: "WzEsImZvcm0iLCIyMDk5LTAxLTAxIl0." + token.split(".", 1)[1],  # another payload, the same signature
    lambda token: "not-a-token",
    lambda token: "x" * 300,
])
def test_a_changed_continue_link_is_refused_with_how_to_get_a_new_one(app, forms, tamper):
    intake_id, _private = invite(app)
    url = continue_url(app, intake_id)
    bad = url.rsplit("/", 1)[0] + "/" + tamper(url.rsplit("/", 1)[1])
    before = stored(app, intake_id)
    response = forms.client.get(bad)
    assert response.status_code == 400
    assert "This link does not work" in text(response) and "contact the clinic for a new link" in text(response)
    assert forms.post(bad, {}, page=url).status_code == 400
    assert stored(app, intake_id) == before


def test_a_stop_link_or_a_link_signed_for_something_else_does_not_continue(app, forms):
    intake_id, _private = invite(app)
    with app.app_context():
        from itsdangerous import URLSafeSerializer

        other = URLSafeSerializer(app.config["SECRET_KEY"], salt="something-else").dumps(
            [intake_id, "form", "2099-01-01"])
        stop = stop_token(intake_id)
    assert forms.client.get(f"/reminders/continue/{other}").status_code == 400
    assert forms.client.get(f"/reminders/continue/{stop}").status_code == 400


def test_an_expired_continue_link_says_so_and_issues_nothing(app, forms):
    intake_id, _private = invite(app)
    today = app.config["TODAY"]
    assert forms.client.get(continue_url(app, intake_id, until=today)).status_code == 200  # its last day
    url = continue_url(app, intake_id, until=today - dt.timedelta(days=1))
    before = stored(app, intake_id)
    response = forms.client.get(url)
    assert response.status_code == 410 and "This link has expired" in text(response)
    assert "please contact the clinic" in text(response)
    assert forms.post(url, {}, page=continue_url(app, intake_id)).status_code == 410
    assert stored(app, intake_id) == before


@pytest.mark.parametrize("close", ["revoked", "not_suitable", "erased"])
def test_a_closed_intake_can_no_longer_be_continued(app, forms, close):
    intake_id, _private = invite(app)
    url = continue_url(app, intake_id)
    if close == "revoked":
        set_intake(app, intake_id, link_revoked_at=dt.datetime(2026, 11, 24, tzinfo=dt.UTC))
    elif close == "not_suitable":
        set_intake(app, intake_id, status="submitted", review_status="not_suitable")
    else:
        with app.app_context():
            db.session.execute(delete(Intake).where(Intake.id == intake_id))
            db.session.commit()
    response = forms.client.get(url)
    assert response.status_code == 410 and "This form can no longer be continued" in text(response)
    assert "Ruth" not in response.get_data(as_text=True)
    if close != "erased":
        before = stored(app, intake_id)
        assert forms.post(url, {}, page="/").status_code == 410  # with a CSRF token (the start page's)
        assert stored(app, intake_id) == before


def test_a_link_revoked_while_the_page_was_open_issues_nothing(app, forms, monkeypatch):
    """The intake is read again under the lock when the button is pressed."""
    from intake.reminders import service

    intake_id, _private = invite(app)
    url = continue_url(app, intake_id)
    real = service.lock_chain

    def revoke_first(connection):
        connection.execute(update(Intake).where(Intake.id == intake_id)
                           .values(link_revoked_at=dt.datetime(2026, 11, 24, tzinfo=dt.UTC)))
        real(connection)

    monkeypatch.setattr(service, "lock_chain", revoke_first)
    before = stored(app, intake_id)
    assert forms.post(url, {}).status_code == 410
    assert stored(app, intake_id) == before


def test_the_continue_page_is_in_the_intakes_language(app, forms):
    app.config["LANGUAGES"] = ["en", "fr", "es", "ar"]
    intake_id, _private = invite(app, language="fr")
    page = forms.client.get(continue_url(app, intake_id))
    assert "Continuer votre formulaire" in text(page)


def test_the_links_are_rate_limited_per_address(app, forms):
    app.config["REMINDER_LINK_RATE_LIMIT"] = "3 per minute"
    intake_id, _private = invite(app)
    url = continue_url(app, intake_id)
    assert [forms.client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    assert forms.client.get(url).status_code == 429
    assert forms.client.get(url, environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200


# --- one-click unsubscribe (RFC 8058) -------------------------------------------------------------------------


def stopped_at(app, intake_id: int):
    with app.app_context():
        return db.session.get_one(Intake, intake_id).reminders_stopped_at


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_mail_apps_one_click_unsubscribe_stops_reminders_without_a_token_or_a_page(app, client, content_type):
    intake_id, _private = invite(app)
    with app.app_context():
        url = f"/reminders/stop/{stop_token(intake_id)}"
    assert client.get(url).status_code == 200 and stopped_at(app, intake_id) is None  # GET still only asks
    response = client.post(url, data={"List-Unsubscribe": "One-Click"}, content_type=content_type)
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    assert stopped_at(app, intake_id) is not None
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200  # again: nothing more
    assert actions(app, intake_id).count("reminders.stopped") == 1
    assert "Reminders stopped" in text(client.get(url))


def test_a_post_that_is_not_one_click_still_needs_the_csrf_token(app, client):
    intake_id, _private = invite(app)
    with app.app_context():
        url = f"/reminders/stop/{stop_token(intake_id)}"
    assert client.post(url, data={}).status_code == 400
    assert client.post(url, data={"List-Unsubscribe": "Yes"}).status_code == 400
    assert stopped_at(app, intake_id) is None


def test_one_click_with_a_changed_link_stops_nothing(app, client):
    intake_id, _private = invite(app)
    with app.app_context():
        token = stop_token(intake_id)
    response = client.post(f"/reminders/stop/{token[:-2]}xx", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 404 and stopped_at(app, intake_id) is None

"""Reminders in headless Chromium (issue 18): the patient continues their form from a reminder while it is
open in another tab (which keeps working until they press the button), stops reminders from the link in an
email (the page asks, one button, no JavaScript needed), the record shows each reminder sent or skipped, and
staff switch them back on. axe-core checks each page."""

from __future__ import annotations

import datetime as dt
import os
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from intake.auth import service as accounts
from intake.extensions import db
from intake.models import Intake
from intake.reminders.send import send_due_reminders
from intake.review.service import invite_patient
from tests.support.browser import assert_accessible, heading, shot, watch_console
from tests.support.settings import TODAY

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
STAFF = "reminders.reader@demo.clinic"
APPOINTMENT = TODAY + dt.timedelta(days=10)
LONDON = ZoneInfo("Europe/London")


def a_pass(app, day: dt.date, base: str):
    """One sending pass at 10:00 on ``day``, its links on the live server (the setting put back after)."""
    saved = app.config.get("PUBLIC_URL")
    app.config["PUBLIC_URL"] = base
    try:
        with app.app_context():
            return send_due_reminders(dt.datetime.combine(day, dt.time(10), LONDON))
    finally:
        app.config["PUBLIC_URL"] = saved


def email_to(app, address: str) -> str:
    """The latest email's body to ``address``."""
    with app.app_context():
        return [m for m in app.extensions["mailman"].outbox if m.to == [address]][-1].body


def test_a_patient_continues_from_a_reminder_and_their_open_tab_works_until_they_do(live_server, chromium):
    app = live_server.app
    with app.app_context():
        intake, token = invite_patient("Iris Lund", "iris.reminded@example.org", APPOINTMENT, "staff:1")
        db.session.execute(update(Intake).where(Intake.id == intake.id).values(
            invited_at=dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)))
        db.session.commit()
    errors: list[str] = []
    page: Page = chromium.new_page(viewport={"width": 390, "height": 844})
    watch_console(page, errors)
    page.goto(f"{live_server.url}/i/{token}")  # the form open in a tab, from the invitation
    expect(heading(page)).to_contain_text("About you")
    form_url = page.url
    assert a_pass(app, APPOINTMENT - dt.timedelta(days=3), live_server.url).sent >= 1
    found = re.search(r"(http://127\.0\.0\.1:\d+/reminders/continue/\S+)", email_to(app, "iris.reminded@example.org"))
    assert found
    tab = chromium.new_page(viewport={"width": 390, "height": 844})
    watch_console(tab, errors)
    tab.goto(found.group(1))
    expect(heading(tab)).to_have_text("Continue your consultation form")
    expect(tab.get_by_text("If your form is open already, carry on there instead.")).to_be_visible()
    assert_accessible(tab)
    shot(tab, "reminders-continue")
    page.reload()  # the reminder, and opening its link, left the open tab working
    expect(heading(page)).to_contain_text("About you")
    tab.get_by_role("button", name="Continue my form").click()
    expect(heading(tab)).to_contain_text("About you")
    assert "/i/" in tab.url and tab.url != form_url
    page.goto(form_url)  # the patient chose the new link: the old one ends
    expect(heading(page)).not_to_contain_text("About you")
    tab.goto(found.group(1)[:-3] + "xyz")
    expect(heading(tab)).to_have_text("This link does not work")
    assert_accessible(tab)
    shot(tab, "reminders-continue-invalid")
    page.close()
    tab.close()
    assert [error for error in errors if "404" not in error and "400" not in error] == []


@pytest.fixture
def reminded(live_server) -> tuple[int, str]:
    """An invited patient reminded three days before; the stop link from the email."""
    app = live_server.app
    with app.app_context():
        if accounts.find_user(STAFF) is None:
            accounts.create_user(STAFF, "Rhea Reader", "practitioner", PASSWORD)
        intake, _token = invite_patient("Nora Quinn", "nora@example.org", APPOINTMENT, "staff:1")
        db.session.execute(update(Intake).where(Intake.id == intake.id).values(
            invited_at=dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)))
        db.session.commit()
        intake_id = intake.id
    assert a_pass(app, APPOINTMENT - dt.timedelta(days=3), live_server.url).sent >= 1
    with app.app_context():
        message = [m for m in app.extensions["mailman"].outbox if m.to == ["nora@example.org"]][-1]
    found = re.search(r"(http://127\.0\.0\.1:\d+/reminders/stop/\S+)", message.body)
    assert found, message.body
    return intake_id, found.group(1)


def test_a_patient_stops_reminders_and_staff_switch_them_back_on(live_server, chromium, reminded):
    intake_id, stop = reminded
    errors: list[str] = []
    patient: Page = chromium.new_page(viewport={"width": 390, "height": 844})
    watch_console(patient, errors)
    patient.goto(stop)
    expect(heading(patient)).to_have_text("Stop reminders")
    assert_accessible(patient)
    shot(patient, "reminders-stop")
    patient.get_by_role("button", name="Stop reminders").click()
    expect(heading(patient)).to_have_text("Reminders stopped")
    assert_accessible(patient)
    shot(patient, "reminders-stopped")
    patient.goto(stop)  # again, from the same email: the same page, nothing changes
    expect(heading(patient)).to_have_text("Reminders stopped")
    patient.goto(stop[:-3] + "xyz")
    expect(heading(patient)).to_have_text("This link does not work")
    patient.close()
    assert a_pass(live_server.app, APPOINTMENT - dt.timedelta(days=1), live_server.url).skipped >= 1

    staff: Page = chromium.new_page(viewport={"width": 1366, "height": 900})
    watch_console(staff, errors)
    staff.goto(f"{live_server.url}/staff/sign-in")
    staff.get_by_label("Email address").fill(STAFF)
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    staff.goto(f"{live_server.url}/staff/intakes/{intake_id}#reminders")
    block = staff.get_by_role("region", name="Reminders")
    expect(block).to_contain_text("Skipped")
    expect(block).to_contain_text("The patient stopped reminders.")
    expect(block).to_contain_text("Sent")
    expect(staff.get_by_text("The patient stopped reminders on")).to_be_visible()
    assert_accessible(staff)
    side = staff.locator(".record-side")
    if folder := os.environ.get("MESO_SHOTS"):  # the record's side column alone (shot() takes the page)
        side.screenshot(path=f"{folder}/reminders-record-block.png")
    staff.get_by_role("button", name="Send reminders again").click()
    expect(staff.get_by_text("Reminders to the patient are on again.")).to_be_visible()
    expect(staff.get_by_text("The patient stopped reminders on")).to_have_count(0)
    staff.close()
    assert [error for error in errors if "404" not in error] == []

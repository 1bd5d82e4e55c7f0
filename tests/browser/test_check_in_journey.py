"""The appointment-day check-in in headless Chromium (issue 16): the day before the appointment the
patient, on a phone, opens their page, checks in and reports a drink last night; the practitioner's
record and queue show the new precaution. axe-core checks every page."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from intake.auth import service as accounts
from intake.extensions import db, limiter
from intake.models import Intake
from intake.patient import service as patient
from intake.rulesets.active import active_ruleset
from tests.support.browser import PHONE, assert_accessible, choose, open_flag, shot, watch_console
from tests.support.patient import seed
from tests.support.settings import TODAY

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
PRACTITIONER = "checkin.pat@demo.clinic"
SHOTS = os.environ.get("MESO_SHOTS")
#: Tomorrow: the check-in is open today, and the live server's clock stays where every test expects it.
APPOINTMENT_TOMORROW = (TODAY + dt.timedelta(days=1)).isoformat()



@pytest.fixture
def the_day_before(live_server) -> Iterator[tuple[int, str]]:
    """A submitted intake (four drinks a week) whose appointment is tomorrow."""
    app = live_server.app
    with app.app_context():
        if accounts.find_user(PRACTITIONER) is None:
            accounts.create_user(PRACTITIONER, "Casey Checker", "practitioner", PASSWORD)
        _intake, token = patient.start_intake({"full_name": "Cara Checkin"})
    seed(app, token, overrides={"about": {"full_name": "Cara Checkin", "email": "cara@example.org",
                                          "appointment_date": APPOINTMENT_TOMORROW},
                                "consent": {"signature": "Cara Checkin"}})
    with app.test_request_context():
        intake = db.session.scalar(db.select(Intake).order_by(Intake.id.desc()).limit(1))
        patient.submit_intake(intake, active_ruleset(), TODAY)
        intake_id = intake.id
    yield intake_id, token


@pytest.fixture
def phone(chromium) -> Iterator[Page]:
    limiter.reset()
    errors: list[str] = []
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    watch_console(page, errors)
    yield page
    context.close()
    assert errors == [], "the browser console reported errors"


def test_a_drink_last_night_reaches_the_practitioner_before_the_session(
        chromium, phone: Page, live_server, the_day_before) -> None:
    intake_id, token = the_day_before
    phone.goto(f"{live_server.url}/i/{token}")
    expect(phone.get_by_role("region", name="Appointment-day check-in")).to_be_visible()
    assert_accessible(phone)
    phone.get_by_role("link", name="Check in now").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Check in for your appointment")
    assert_accessible(phone)
    shot(phone, "check-in-form")

    choose(phone, "When did you last drink alcohol?", "Yesterday")
    for question in ("Have you started a new medicine since you filled in the form?",
                     "Do you have a cold sore now, or feel one starting?",
                     "Do you have spots, a rash, an infection or a wound where you will be treated?",
                     "Are you unwell, or have you had a fever, since you filled in the form?",
                     "Are you pregnant, or could you be?"):
        choose(phone, question, "No")
    phone.get_by_role("group", name="In the last 7 days, have you taken a painkiller").get_by_label(
        "No", exact=True).check()
    phone.get_by_role("group", name="Since you filled in the form, have you had a filler").get_by_label(
        "No", exact=True).check()
    phone.get_by_role("button", name="Send my check-in").click()
    expect(phone.get_by_role("status")).to_contain_text("Thank you: your check-in was sent")
    assert_accessible(phone)
    shot(phone, "check-in-sent")

    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    staff = context.new_page()
    staff.goto(f"{live_server.url}/staff/intakes/{intake_id}")
    staff.get_by_label("Email address").fill(PRACTITIONER)
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    expect(staff.locator("#check-in")).to_contain_text("Alcohol within 48 hours of the appointment")
    open_flag(staff, "#flag-alcohol-close-to-appointment")
    expect(staff.locator("#flag-alcohol-close-to-appointment")).to_contain_text("the rule looks for")
    assert_accessible(staff)
    shot(staff, "check-in-record")
    staff.goto(f"{live_server.url}/staff/queue")
    expect(staff.get_by_role("row", name="Cara Checkin")).to_contain_text("New flag at check-in")
    assert_accessible(staff)
    context.close()

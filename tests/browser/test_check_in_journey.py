"""The appointment-day check-in in headless Chromium (issue 16): the patient, on a phone, says they
only know the month they stopped a supplement and submits; the day before the appointment they open
their page, check in and report a drink last night; the practitioner's record shows the uncertain
date as the patient said it and the new precaution, and the queue the new flag. axe-core checks every
page."""

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
    """A complete intake, not yet submitted (four drinks a week), whose appointment is tomorrow."""
    app = live_server.app
    with app.app_context():
        if accounts.find_user(PRACTITIONER) is None:
            accounts.create_user(PRACTITIONER, "Casey Checker", "practitioner", PASSWORD)
        _intake, token = patient.start_intake({"full_name": "Cara Checkin"})
    seed(app, token, overrides={"about": {"full_name": "Cara Checkin", "email": "cara@example.org",
                                          "appointment_date": APPOINTMENT_TOMORROW},
                                "medications": {"items-1-stopped_on_precision": None},
                                "consent": {"signature": "Cara Checkin"}})
    with app.app_context():
        intake_id = db.session.scalar(db.select(Intake.id).order_by(Intake.id.desc()).limit(1))
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
    # Not sure of the day they stopped the fish oil: only the month.
    phone.goto(f"{live_server.url}/i/{token}/medications")
    fish_oil = phone.get_by_role("group", name="Medicine or supplement 2", exact=True)
    expect(fish_oil.get_by_label("Date you stopped")).to_have_value("2026-11-01")
    choose(fish_oil, "How sure are you of this date?", "I only know the month")
    assert_accessible(phone)
    shot(phone, "approximate-date-question")
    phone.get_by_role("button", name="Continue", exact=True).click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Allergies")
    phone.goto(f"{live_server.url}/i/{token}/review")
    expect(phone.get_by_text("around November 2026 (not sure of the day)")).to_be_visible()
    assert_accessible(phone)
    phone.get_by_role("button", name="Submit my answers").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Your answers have been sent")

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
    # The answers (folded on the record) say the stop date as the patient did.
    expect(staff.locator("dd", has_text="around November 2026").last).to_have_text(
        "around November 2026 (not sure of the day)")
    open_flag(staff, "#flag-alcohol-close-to-appointment")
    expect(staff.locator("#flag-alcohol-close-to-appointment")).to_contain_text("the rule looks for")
    assert_accessible(staff)
    shot(staff, "check-in-record")
    staff.goto(f"{live_server.url}/staff/queue")
    expect(staff.get_by_role("row", name="Cara Checkin")).to_contain_text("New flag at check-in")
    assert_accessible(staff)
    context.close()

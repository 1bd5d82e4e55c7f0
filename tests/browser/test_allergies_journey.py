"""A patient names allergies with their reaction on a phone, and a practitioner reads them on the
record as the allergen lexicon understood them; in real Chromium, axe on every page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from intake.auth import service
from intake.extensions import db, limiter
from intake.models import Intake
from tests.browser.test_patient_journey import fill_goals, fill_health, fill_skin
from tests.support.browser import (
    PHONE,
    assert_accessible,
    choose,
    expect,
    fill_about,
    group,
    heading,
    press,
    shot,
    watch_console,
)

pytestmark = pytest.mark.browser

READER = "allergy.reader@demo.clinic"
PASSWORD = "correct horse battery"
NAMES_ALLERGIES = "Are you allergic to anything else, such as a medicine, an insect sting, latex, plasters or a food?"
REACTION = "What happened when you reacted?"


def test_a_patient_names_allergies_and_the_practitioner_reads_them(chromium, live_server):
    limiter.reset()
    with live_server.app.app_context():
        if service.find_user(READER) is None:
            service.create_user(READER, "Alex Allergy", "practitioner", PASSWORD)
    errors: list[str] = []
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    watch_console(page, errors)

    page.goto(live_server.url + "/")
    page.get_by_role("button", name="Start now").click()
    fill_about(page, email="ana@example.com")
    press(page, "Continue", "Your goals")
    fill_goals(page)
    fill_skin(page)
    fill_health(page)
    press(page, "Continue", "Medicines and supplements")
    choose(page, "Do you take any medicines or supplements, or have you stopped any in the last 6 months?", "No")
    press(page, "Continue", "Allergies")

    for question in ("Have you ever had an allergic reaction to a local anaesthetic?",
                     "Have you ever had a severe allergic reaction (anaphylaxis)?",
                     "Have you reacted badly to an injection or a skincare product before?"):
        choose(page, question, "No")
    choose(page, NAMES_ALLERGIES, "Yes")
    first = group(page, "Allergy 1")
    first.get_by_label("What are you allergic to?").fill("Xylocaine at the dentist")
    page.get_by_role("button", name="Add another").click()
    second = group(page, "Allergy 2")
    second.get_by_label("What are you allergic to?").fill("cats")
    choose(second, REACTION, "Rash, itching or hives")
    assert_accessible(page)
    shot(page, "allergies-section")

    # The reaction of the first is missing: the summary says so and leads to it, the names stay.
    press(page, "Continue", "Allergies")
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Select what happened when you reacted.")
    assert_accessible(page)
    shot(page, "allergies-section-error")
    summary.get_by_role("link", name="Select what happened when you reacted.").click()
    expect(group(page, "Allergy 1").get_by_label("What are you allergic to?")).to_have_value(
        "Xylocaine at the dentist")
    expect(group(page, "Allergy 2").get_by_label("What are you allergic to?")).to_have_value("cats")
    choose(group(page, "Allergy 1"), REACTION, "Swelling of the face, lips, tongue or eyes")
    press(page, "Continue", "Lifestyle")

    page.get_by_label("How many alcoholic drinks do you have in a typical week?").fill("0")
    choose(page, "Do you smoke or vape?", "Never")
    group(page, "In the last 2 weeks, have you been sunburnt, used a sunbed or spent long in strong sun "
                "without protection?").get_by_label("No", exact=True).check()
    press(page, "Continue", "Previous treatments")
    choose(page, "Have you had mesotherapy before?", "No")
    choose(page, "Have you had any cosmetic or dental treatment in the last 6 months?", "No")
    press(page, "Continue", "Upcoming events")
    choose(page, "Do you have an important event coming up, such as a wedding, a holiday or photos?", "No")
    press(page, "Continue", "Consent")
    for agreement in ("I have read what mesotherapy involves", "I understand the usual after-effects",
                      "My answers are accurate", "I agree that the clinic may store"):
        page.get_by_label(agreement).check()
    page.get_by_label("Type your full name to sign").fill("Ana Pereira")
    press(page, "Continue to check your answers", "Check your answers before you submit")
    expect(page.get_by_text("Xylocaine at the dentist")).to_be_visible()
    expect(page.get_by_text("Swelling of the face, lips, tongue or eyes")).to_be_visible()
    press(page, "Submit my answers", "Your answers have been sent")
    context.close()
    with live_server.app.app_context():
        intake_id = db.session.scalar(select(func.max(Intake.id)))

    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    watch_console(page, errors)
    page.goto(live_server.url + "/staff/")
    page.get_by_label("Email address").fill(READER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/staff/intakes/{intake_id}")
    expect(heading(page)).to_contain_text("Ana Pereira")
    table = page.get_by_role("region", name="Allergies as understood")
    expect(table).to_contain_text("Xylocaine at the dentist")
    expect(table).to_contain_text("Local anaesthetics")
    expect(table).to_contain_text("Not recognised")
    assert_accessible(page)
    shot(page, "record-allergies")
    context.close()
    assert errors == [], errors

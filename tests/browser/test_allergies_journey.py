"""A patient names allergies with their reaction on a phone, and a practitioner reads them on the
record as the allergen lexicon understood them; in real Chromium, axe on every page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from intake.auth import service
from intake.extensions import db, limiter
from intake.models import Intake
from tests.support.browser import (
    PHONE,
    assert_accessible,
    choose,
    expect,
    group,
    heading,
    press,
    shot,
    watch_console,
)
from tests.support.patient import seed

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
    expect(heading(page)).to_contain_text("About you")
    token = page.url.split("/i/")[1].split("/")[0]
    seed(live_server.app, token, until="allergies")  # the sections before, as the forms save them
    page.goto(f"{live_server.url}/i/{token}/allergies")
    expect(heading(page)).to_contain_text("Allergies")

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

    # The sections after, as the forms save them (this one as the patient saved it).
    seed(live_server.app, token, overrides={"allergies": {
        "has_allergies": "yes", "items-0-name": "Xylocaine at the dentist", "items-0-reaction": "swelling",
        "items-1-name": "cats", "items-1-reaction": "rash"}})
    page.goto(f"{live_server.url}/i/{token}/review")
    expect(heading(page)).to_contain_text("Check your answers before you submit")
    assert_accessible(page)
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

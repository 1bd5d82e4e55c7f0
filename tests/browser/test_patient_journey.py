"""A patient on a 360-px phone, in real Chromium: the whole intake, with axe on every page."""

from __future__ import annotations

from pathlib import Path

import pytest
from icalendar import Calendar

from tests.support.browser import (
    PHONE,
    assert_accessible,
    choose,
    expect,
    fill_about,
    group,
    heading,
    press,
    tick,
    watch_console,
)

pytestmark = pytest.mark.browser


TAKES_MEDICINES = "Do you take any medicines or supplements, or have you stopped any in the last 6 months?"


def fill_goals(page) -> None:
    tick(page, "Hydration", "Fine lines and wrinkles", "Whole face")
    press(page, "Continue", "Your skin")


def fill_skin(page) -> None:
    choose(page, "Which best describes your skin in the sun?",
           "Type III: medium, sometimes burns, tans gradually")
    for question in ("Is your skin sensitive or easily irritated?",
                     "Do you have spots, an infection, a rash or a wound where you want treatment?",
                     "Do you have a cold sore now, or feel one starting?",
                     "Do you get raised or thick scars (keloid scars)?"):
        choose(page, question, "No")
    choose(page, "Have you ever had cold sores?", "Yes")
    press(page, "Continue", "Your health")


def fill_health(page) -> None:
    weeks = page.get_by_label("How many weeks pregnant are you?")
    expect(weeks).to_be_hidden()
    choose(page, "Are you pregnant?", "Yes")
    expect(weeks).to_be_visible()
    choose(page, "Are you pregnant?", "No")
    expect(weeks).to_be_hidden()
    for question in ("Are you trying to get pregnant?", "Are you breastfeeding?",
                     "Have you given birth in the last 12 months?",
                     "Have you been unwell or had a fever in the last 2 weeks?",
                     "Have you taken antibiotics in the last 2 weeks?"):
        choose(page, question, "No")
    choose(page, "Do you use hormonal contraception or hormone therapy? (optional)", "Yes")
    tick(page, "None of these")


def fill_medicine(row, name: str, stopped_on: str | None, prescribed: str) -> None:
    row.get_by_label("Name of the medicine or supplement").fill(name)
    choose(row, "Are you still taking it?", "Stopped" if stopped_on else "Still taking")
    if stopped_on:
        row.get_by_label("Date you stopped").fill(stopped_on)
    choose(row, "Was it prescribed by a doctor?", prescribed)


def test_a_patient_completes_the_intake_on_a_phone(chromium, live_server):
    errors: list[str] = []
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    watch_console(page, errors)

    page.goto(live_server.url + "/")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert_accessible(page)
    page.get_by_role("button", name="Start now").click()
    expect(heading(page)).to_contain_text("About you")
    expect(page).to_have_title("About you (step 1 of 10) — Demo Mesotherapy Clinic")
    assert_accessible(page)

    # A mistake: the summary says what is wrong and takes the patient to the field.
    fill_about(page, email="ana-at-example")
    press(page, "Continue", "About you")
    expect(page).to_have_title("Error: About you (step 1 of 10) — Demo Mesotherapy Clinic")
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_be_focused()
    assert_accessible(page)
    summary.get_by_role("link", name="Enter an email address like name@example.com.").click()
    email = page.get_by_label("Email address")
    expect(email).to_be_focused()
    expect(page.get_by_label("Full name")).to_have_value("Ana Pereira")
    email.fill("ana@example.com")
    press(page, "Continue", "Your goals")
    assert_accessible(page)

    fill_goals(page)
    assert_accessible(page)
    fill_skin(page)
    assert_accessible(page)
    fill_health(page)
    press(page, "Continue", "Medicines and supplements")
    assert_accessible(page)

    # Two medicines, the second added in the page by JavaScript (no reload).
    page.evaluate("window.samePage = true")
    choose(page, TAKES_MEDICINES, "Yes")
    fill_medicine(group(page, "Medicine or supplement 1"), "Ibuprofen 200mg", None, "No")
    page.get_by_role("button", name="Add another").click()
    second = group(page, "Medicine or supplement 2")
    expect(second.get_by_label("Name of the medicine or supplement")).to_be_focused()
    fill_medicine(second, "Fish oil", "2026-11-01", "No")
    page.get_by_role("button", name="Add another").click()
    third = group(page, "Medicine or supplement 3")
    third.get_by_role("button", name="Remove Medicine or supplement 3").click()
    expect(group(page, "Medicine or supplement 3")).to_have_count(0)
    assert page.evaluate("window.samePage") is True
    assert_accessible(page)
    press(page, "Continue", "Allergies")
    assert_accessible(page)

    for question in ("Have you ever had an allergic reaction to a local anaesthetic?",
                     "Have you ever had a severe allergic reaction (anaphylaxis)?",
                     "Have you reacted badly to an injection or a skincare product before?"):
        choose(page, question, "No")
    press(page, "Continue", "Lifestyle")
    assert_accessible(page)
    page.get_by_label("How many alcoholic drinks do you have in a typical week?").fill("4")
    choose(page, "Do you smoke or vape?", "Never")
    group(page, "In the last 2 weeks, have you been sunburnt, used a sunbed or spent long in strong sun "
                "without protection?").get_by_label("No", exact=True).check()

    # Stop here, and come back later through the private link in another browser.
    press(page, "Save and finish later", "Your answers are saved")
    assert_accessible(page)
    link = page.get_by_label("Your private link").input_value()
    assert link.startswith(live_server.url + "/i/")
    context.close()

    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    watch_console(page, errors)
    page.goto(link)
    expect(heading(page)).to_contain_text("Previous treatments")
    expect(heading(page)).to_contain_text("Step 8 of 10")
    assert_accessible(page)
    choose(page, "Have you had mesotherapy before?", "No")
    choose(page, "Have you had any cosmetic or dental treatment in the last 6 months?", "No")
    press(page, "Continue", "Upcoming events")
    assert_accessible(page)
    choose(page, "Do you have an important event coming up, such as a wedding, a holiday or photos?", "No")
    press(page, "Continue", "Consent")
    assert_accessible(page)
    for agreement in ("I have read what mesotherapy involves", "I understand the usual after-effects",
                      "My answers are accurate", "I agree that the clinic may store"):
        page.get_by_label(agreement).check()
    page.get_by_label("Type your full name to sign").fill("Ana Pereira")
    press(page, "Continue to check your answers", "Check your answers before you submit")
    assert_accessible(page)
    expect(page.get_by_text("Ibuprofen 200mg")).to_be_visible()
    expect(page.get_by_text("Fish oil")).to_be_visible()

    press(page, "Submit my answers", "Your answers have been sent")
    assert_accessible(page)
    expect(page.get_by_role("heading", name="What happens next")).to_be_visible()
    expect(page.get_by_role("heading", name="Before your appointment")).to_be_visible()
    assert page.locator(".checklist__item").count() >= 1, "the rules give this patient instructions"
    expect(page.get_by_text("To be confirmed by your practitioner")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Add these dates to your calendar").click()
    events = Calendar.from_ical(Path(download.value.path()).read_bytes()).walk("VEVENT")
    sessions = [event for event in events if str(event["summary"]).startswith("Mesotherapy session")]
    assert len(sessions) == page.locator(".schedule li").count() > 0
    # The dated instructions come along as reminders on their days.
    assert len([event for event in events if event.walk("VALARM")]) == page.locator(".checklist time").count()
    context.close()
    assert errors == [], errors


def test_without_javascript_medicines_are_added_by_posting_back(chromium, live_server):
    # No axe here: it is JavaScript, and page.evaluate never returns in a context without it.
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.get_by_role("button", name="Start now").click()
    expect(heading(page)).to_contain_text("About you")
    # Follow-up questions are simply there, introduced by "If yes…".
    expect(page.get_by_label("Date of your appointment")).to_be_visible()
    expect(page.get_by_text("If yes…")).to_be_visible()
    fill_about(page, email="ana@example.com")
    press(page, "Continue", "Your goals")
    fill_goals(page)
    fill_skin(page)
    for question in ("Are you pregnant?", "Are you trying to get pregnant?", "Are you breastfeeding?",
                     "Have you given birth in the last 12 months?",
                     "Have you been unwell or had a fever in the last 2 weeks?",
                     "Have you taken antibiotics in the last 2 weeks?"):
        choose(page, question, "No")
    tick(page, "None of these")
    press(page, "Continue", "Medicines and supplements")

    choose(page, TAKES_MEDICINES, "Yes")
    fill_medicine(group(page, "Medicine or supplement 1"), "Roaccutane", "2026-10-01", "Yes")
    page.get_by_role("button", name="Add another").click()
    second = group(page, "Medicine or supplement 2")
    expect(second).to_be_visible()
    first = group(page, "Medicine or supplement 1")
    expect(first.get_by_label("Name of the medicine or supplement")).to_have_value("Roaccutane")
    expect(first.get_by_label("Date you stopped")).to_have_value("2026-10-01")
    expect(page.get_by_role("alert")).to_have_count(0)
    fill_medicine(second, "Vitamin E", None, "No")
    # Enter in a text box submits with Continue, never with the first row's Remove.
    second.get_by_label("Name of the medicine or supplement").press("Enter")
    expect(heading(page)).to_contain_text("Allergies")
    context.close()

"""A practitioner works the review queue in headless Chromium: filter, open a flagged intake,
override a flag with a reason, edit the plan, approve, print. axe-core checks every page."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from intake.auth import service
from intake.demo.intakes import seed_intakes
from intake.extensions import db
from intake.models import Intake
from intake.protection.search import matching_search
from tests.support.browser import assert_accessible, open_flag, shot, watch_console
from tests.support.settings import TODAY

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
PRACTITIONER = "review.pat@demo.clinic"
#: Where screenshots and the printed PDF go when MESO_SHOTS is set (for looking at them).
SHOTS = os.environ.get("MESO_SHOTS")


@pytest.fixture(scope="module")
def review_site(live_server) -> str:
    """The live server with the demo intakes and a practitioner to sign in as."""
    with live_server.app.app_context():
        if service.find_user(PRACTITIONER) is None:
            service.create_user(PRACTITIONER, "Robin Reviewer", "practitioner", PASSWORD)
        if db.session.scalar(select(Intake).where(matching_search("Chloé Martin"))) is None:
            seed_intakes(TODAY)
    return live_server.url


def expect_refusal(console_errors: list[str]) -> None:
    """A form was refused with 422 on purpose; Chromium logs that status as an error."""
    console_errors.remove("Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)")



def test_review_an_intake_from_queue_to_print(page: Page, review_site: str, console_errors: list[str]) -> None:
    page.goto(f"{review_site}/staff/queue")
    page.get_by_label("Email address").fill(PRACTITIONER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review queue")
    expect(page.get_by_role("table")).to_contain_text("Margaret Doyle")
    assert_accessible(page)
    shot(page, "queue")

    page.get_by_label("Highest severity").select_option("precaution")
    page.get_by_label("Name or email (a word or its first letters)").fill("chloe")
    page.get_by_role("button", name="Show intakes").click()
    table = page.get_by_role("table")
    expect(table.get_by_role("row")).to_have_count(2)  # the header and Chloé
    expect(page.get_by_label("Name or email (a word or its first letters)")).to_have_value("chloe")
    assert_accessible(page)

    table.get_by_role("link", name="Chloé Martin").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Chloé Martin")
    expect(page.locator("#flag-cold-sore-history")).to_contain_text("precautions/")
    assert_accessible(page)
    shot(page, "record")

    open_flag(page, "#flag-cold-sore-history")
    flag = page.locator("#flag-cold-sore-history")
    flag.get_by_role("button", name="Override with this reason").click()
    expect(page.get_by_role("alert")).to_contain_text("Write why this flag may be overridden.")
    expect_refusal(console_errors)
    assert_accessible(page)
    page.locator("#flag-cold-sore-history").get_by_label("Reason for overriding").fill(
        "Last cold sore six years ago; antiviral cover discussed.")
    page.locator("#flag-cold-sore-history").get_by_role("button", name="Override with this reason").click()
    expect(page.locator("#flag-cold-sore-history")).to_contain_text(
        "Reason: Last cold sore six years ago; antiviral cover discussed.")
    assert_accessible(page)

    page.locator("details.plan-edit > summary").click()  # the plan editor is folded until wanted
    page.get_by_label("Sessions", exact=True).fill("9")
    page.get_by_role("button", name="Save the plan").click()
    expect(page.get_by_role("alert")).to_contain_text("Sessions must be from 3 to 5")
    expect(page.get_by_label("Sessions", exact=True)).to_have_value("9")
    expect_refusal(console_errors)
    assert_accessible(page)
    page.get_by_label("Sessions", exact=True).fill("5")
    page.get_by_label("Days between sessions").fill("21")
    page.get_by_role("button", name="Save the plan").click()
    expect(page.get_by_role("status")).to_contain_text("Plan saved beside the suggestion.")
    expect(page.locator(".plan-table")).to_contain_text("Edited")
    assert_accessible(page)

    # The ladder: every precaution still listed as blocking is acknowledged before approving.
    blocking = page.locator("#blocking li a")
    expect(blocking.first).to_be_visible()
    for target in [blocking.nth(i).get_attribute("href") for i in range(blocking.count())]:
        open_flag(page, target)
        page.locator(target).get_by_role("button", name="Acknowledge").click()
        expect(page.get_by_role("status")).to_contain_text("acknowledged")
    expect(page.locator("#blocking")).to_have_count(0)
    page.get_by_label("Approved", exact=True).check()
    page.get_by_label("Note for the record").fill("Plan agreed with the patient.")
    page.get_by_role("button", name="Sign and record the decision").click()
    expect(page.get_by_role("status")).to_contain_text("Decision recorded and signed.")
    expect(page.locator(".decision")).to_contain_text("Robin Reviewer")
    shot(page, "record-top", full_page=False)
    page.locator("#plan").scroll_into_view_if_needed()
    shot(page, "record-plan", full_page=False)
    page.locator("#history + details > summary").click()
    expect(page.get_by_role("table", name="Everything done to this intake, newest first")).to_contain_text(
        "Decision: approved")
    assert_accessible(page)

    page.get_by_role("link", name="Print view").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Consultation record: Chloé Martin")
    assert_accessible(page)
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(page.locator(".decision")).to_contain_text("Robin Reviewer")
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    if SHOTS:
        Path(f"{SHOTS}/record.pdf").write_bytes(pdf)
        shot(page, "print")


def sign_in_as_practitioner(page: Page, review_site: str) -> None:
    page.goto(f"{review_site}/staff/queue")
    page.get_by_label("Email address").fill(PRACTITIONER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review queue")


def test_invite_a_patient_and_ask_for_more_information(chromium, page: Page, review_site: str,
                                                        console_errors: list[str]) -> None:
    sign_in_as_practitioner(page, review_site)

    # Invite a booked patient from the staff navigation.
    page.get_by_role("navigation", name="Staff").get_by_role("link", name="Invite a patient").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invite a patient")
    assert_accessible(page)
    page.get_by_label("Patient's full name").fill("Iris Novak")
    page.get_by_label("Patient's email").fill("iris@example.org")
    page.get_by_label("Appointment date").fill("2026-12-20")
    page.get_by_role("button", name="Create the invitation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Private link for Iris Novak")
    expect(page.get_by_role("status")).to_contain_text("The link was emailed to iris@example.org.")
    assert page.get_by_label("Private link (shown only now: the clinic keeps no copy)").input_value().startswith(
        f"{review_site}/i/")
    assert_accessible(page)
    page.get_by_role("link", name="Back to the queue").click()
    page.get_by_label("Status", exact=True).select_option("invited")
    page.get_by_role("button", name="Show intakes").click()
    expect(page.get_by_role("table")).to_contain_text("Iris Novak")
    assert_accessible(page)

    # Ask a patient a question, reopening one section.
    page.get_by_label("Status", exact=True).select_option("awaiting_review")
    page.get_by_label("Name or email (a word or its first letters)").fill("nina")
    page.get_by_role("button", name="Show intakes").click()
    page.get_by_role("table").get_by_role("link", name="Nina Petrova").click()
    page.get_by_label("More information needed (ask the patient a question)").check()
    page.get_by_label("Question for the patient").fill("Have you had a cold sore this year?")
    page.get_by_role("group", name="Sections the patient should answer again").get_by_label("Your skin").check()
    page.get_by_role("button", name="Sign and record the decision").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Private link for Nina Petrova")
    assert_accessible(page)
    link = page.get_by_label("Private link (shown only now: the clinic keeps no copy)").input_value()

    # The patient answers through the new link, in a browser of their own.
    context = chromium.new_context(viewport={"width": 400, "height": 850})
    patient = context.new_page()
    watch_console(patient, console_errors)
    patient.goto(link)
    expect(patient.get_by_role("heading", level=1)).to_have_text("The clinic needs more information")
    expect(patient.get_by_role("region", name="The practitioner's question")).to_contain_text(
        "Have you had a cold sore this year?")
    expect(patient.get_by_role("link", name="Change Your goals")).to_have_count(0)
    assert_accessible(patient)
    patient.get_by_role("link", name="Change Your skin").click()
    assert_accessible(patient)
    patient.get_by_role("button", name="Continue").click()
    expect(patient.get_by_role("heading", level=1)).to_have_text("The clinic needs more information")
    patient.get_by_role("button", name="Send my answers again").click()
    expect(patient.get_by_role("heading", level=1)).not_to_have_text("The clinic needs more information")
    context.close()

    # Back in the queue, awaiting review, with the earlier assessment kept on the record.
    page.goto(f"{review_site}/staff/queue?q=nina")
    expect(page.get_by_role("table")).to_contain_text("Nina Petrova")
    page.get_by_role("table").get_by_role("link", name="Nina Petrova").click()
    expect(page.get_by_role("heading", name="Earlier assessments")).to_be_visible()
    page.locator("#history + details > summary").click()
    expect(page.get_by_role("table", name="Everything done to this intake, newest first")).to_contain_text(
        "Resubmitted with more information")
    assert_accessible(page)

    page.get_by_role("navigation", name="Staff").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Overrides per rule")
    assert_accessible(page)

"""A practitioner works the review queue in headless Chromium: filter, open a flagged intake,
override a flag with a reason, edit the plan, approve, print. axe-core checks every page."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from intake.auth import service
from intake.demo_intakes import seed_intakes
from intake.extensions import db, limiter
from intake.models import Intake
from tests.browser.conftest import assert_accessible, watch_console
from tests.conftest import TODAY

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
        if db.session.scalar(select(Intake).where(Intake.full_name == "Chloé Martin")) is None:
            seed_intakes(TODAY)
    return live_server.url


@pytest.fixture
def console_errors() -> list[str]:
    """What the browser console reported as errors; the test removes those it caused on purpose."""
    return []


@pytest.fixture
def page(chromium, console_errors: list[str]) -> Iterator[Page]:
    limiter.reset()
    errors = console_errors
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    watch_console(page, errors)
    yield page
    context.close()
    assert errors == [], "the browser console reported errors"


def expect_refusal(console_errors: list[str]) -> None:
    """A form was refused with 422 on purpose; Chromium logs that status as an error."""
    console_errors.remove("Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)")


def shot(page: Page, name: str, full_page: bool = True) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=full_page)


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

    page.get_by_label("Approved", exact=True).check()
    page.get_by_label("Note for the record").fill("Plan agreed with the patient.")
    page.get_by_role("button", name="Sign and record the decision").click()
    expect(page.get_by_role("status")).to_contain_text("Decision recorded and signed.")
    expect(page.locator(".decision")).to_contain_text("Robin Reviewer")
    shot(page, "record-top", full_page=False)
    page.locator("#plan").scroll_into_view_if_needed()
    shot(page, "record-plan", full_page=False)
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

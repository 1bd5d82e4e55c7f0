"""The intake record a practitioner reads in one minute (issue 15), in headless Chromium at 1366×900:
typical records fit two screens and the demo's busiest is measured; its flags open one at a
time, the raw condition is one click away; axe-core checks each page."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from intake.auth import service
from intake.demo.intakes import seed_intakes
from intake.extensions import db, limiter
from intake.models import Intake
from intake.protection.search import matching_search
from tests.support.browser import assert_accessible, watch_console
from tests.support.settings import TODAY

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
READER = "record.reader@demo.clinic"
LAPTOP = {"width": 1366, "height": 900}
#: The issue's goal is two laptop screens; the record measures about 2.6 (see the printed figures and
#: the issue note). This bound keeps it from growing back towards the 10 screens it was.
MOST = 3 * LAPTOP["height"]
SHOTS = os.environ.get("MESO_SHOTS")


@pytest.fixture(scope="module")
def demo(live_server) -> tuple[str, dict[str, int]]:
    """The live server with the demo clinic's intakes (by name) and a practitioner."""
    with live_server.app.app_context():
        if service.find_user(READER) is None:
            service.create_user(READER, "Rory Reader", "practitioner", PASSWORD)
        if db.session.scalar(select(Intake).where(matching_search("Margaret Doyle"))) is None:
            seed_intakes(TODAY)
        ids = {name: db.session.scalar(select(Intake.id).where(matching_search(name)))
               for name in ("Margaret Doyle", "Grace Okafor", "Chloé Martin")}
        return live_server.url, ids


def sign_in(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_label("Email address").fill(READER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def height_of(page: Page, name: str) -> int:
    height = page.evaluate("document.documentElement.scrollHeight")
    print(f"\nrecord of {name} at 1366x900: {height} px")  # the figures quoted in the issue note
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/record-{name.split()[0].lower()}.png", full_page=True)
    return height


@pytest.fixture
def page(chromium) -> Iterator[Page]:
    limiter.reset()
    errors: list[str] = []
    context = chromium.new_context(viewport=LAPTOP)
    page = context.new_page()
    watch_console(page, errors)
    yield page
    context.close()
    assert errors == [], "the browser console reported errors"


def test_a_typical_record_stays_short(page: Page, demo: tuple[str, dict[str, int]]) -> None:
    site, ids = demo
    sign_in(page, f"{site}/staff/intakes/{ids['Grace Okafor']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Grace Okafor")
    assert_accessible(page)
    assert height_of(page, "Grace Okafor") <= MOST
    page.goto(f"{site}/staff/intakes/{ids['Chloé Martin']}")  # three precautions, three info items
    assert height_of(page, "Chloé Martin") <= MOST


def test_the_busiest_record_reads_flag_by_flag(page: Page, demo: tuple[str, dict[str, int]]) -> None:
    site, ids = demo
    sign_in(page, f"{site}/staff/intakes/{ids['Margaret Doyle']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Margaret Doyle")
    assert_accessible(page)
    # A contraindication, a precaution, four info items, two medicines: the longest demo record.
    assert height_of(page, "Margaret Doyle") <= MOST

    # One line per flag; the details open on demand, the raw condition one click further.
    precaution = page.locator("#flag-ssri-snri")
    expect(precaution.locator(".flag__message")).to_be_hidden()
    precaution.locator("summary").first.click()
    expect(precaution.locator(".flag__message")).to_be_visible()
    expect(precaution).to_contain_text("the rule looks for")
    raw = precaution.locator("details.raw-condition")
    expect(raw.locator("code").first).to_be_hidden()
    raw.locator("summary").click()
    expect(raw.locator("code").first).to_contain_text("medications.taking")
    expect(page.locator("table.understood")).to_contain_text("apixaban")
    assert_accessible(page)

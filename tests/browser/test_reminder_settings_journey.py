"""An admin finds the reminders page from the clinic settings, makes a mistake, follows the error summary to the
field, and saves, in headless Chromium; axe-core checks the page as first shown and with its errors."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from intake.auth import service
from intake.extensions import db
from intake.models import SavedReminderSettings
from tests.support.browser import assert_accessible, expect_console_error, heading, shot

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
ADMIN = "reminders.admin@demo.clinic"


@pytest.fixture(scope="module")
def reminders_site(live_server) -> str:
    with live_server.app.app_context():
        if service.find_user(ADMIN) is None:
            service.create_user(ADMIN, "Ada Reminders", "admin", PASSWORD)
    return live_server.url


def test_an_admin_times_the_reminders(page: Page, reminders_site: str, live_server,
                                      console_errors: list[str]) -> None:
    page.goto(f"{reminders_site}/staff/sign-in")
    page.get_by_label("Email address").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Staff").get_by_role("link", name="Clinic settings").click()
    expect(heading(page)).to_have_text("Clinic details")
    shot(page, "clinic-details", full_page=False)
    page.get_by_role("navigation", name="Clinic settings").get_by_role("link", name="Reminders").click()
    expect(heading(page)).to_have_text("Reminders")
    shot(page, "reminder-settings")
    assert_accessible(page)

    day_before = page.get_by_role("group", name="Day before")
    day_before.get_by_label("Time of the day-before reminder").select_option("18")
    day_before.get_by_label("What to bring").fill("A list of your medicines")
    form_not_sent = page.get_by_role("group", name="Form not sent")
    form_not_sent.get_by_label("Days before the appointment").fill("3, 0")
    page.get_by_role("group", name="Morning digest for staff").get_by_label(
        "Send staff a morning digest of intakes awaiting review").uncheck()
    page.get_by_role("button", name="Save the reminder settings").click()

    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Enter days from 1 to 30")
    expect_console_error(console_errors, 422)
    shot(page, "reminder-settings-error")
    assert_accessible(page)
    # What was typed and chosen is all still there.
    expect(day_before.get_by_label("Time of the day-before reminder")).to_have_value("18")
    expect(day_before.get_by_label("What to bring")).to_have_value("A list of your medicines")
    expect(page.get_by_label("Send staff a morning digest of intakes awaiting review")).not_to_be_checked()
    summary.get_by_role("link", name="Enter days from 1 to 30, separated by commas, e.g. 3, 1.").click()
    expect(form_not_sent.get_by_label("Days before the appointment")).to_be_focused()

    form_not_sent.get_by_label("Days before the appointment").fill("3, 1")
    page.get_by_role("button", name="Save the reminder settings").click()
    expect(page.get_by_role("status")).to_contain_text("Reminder settings saved")
    expect(day_before.get_by_label("Time of the day-before reminder")).to_have_value("18")
    assert_accessible(page)
    with live_server.app.app_context():
        saved = db.session.get(SavedReminderSettings, 1)
        assert saved is not None and (saved.day_before_hour, saved.digest) == (18, False)

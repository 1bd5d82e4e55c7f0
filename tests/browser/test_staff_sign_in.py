"""A member of staff signs in, sees the staff home page and signs out, in headless Chromium.

Every page on the way is checked with axe-core.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from intake.auth import service
from intake.extensions import limiter
from tests.support.browser import assert_accessible, expect_console_error, watch_console

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
PRACTITIONER = "browser.pat@demo.clinic"
ADMIN = "browser.ada@demo.clinic"


@pytest.fixture(scope="module")
def staff_site(live_server) -> str:
    """The live server's URL, with a practitioner and an admin to sign in as."""
    with live_server.app.app_context():
        for email, name, role in (
            (PRACTITIONER, "Pat Practitioner", "practitioner"),
            (ADMIN, "Ada Admin", "admin"),
        ):
            if service.find_user(email) is None:
                service.create_user(email, name, role, PASSWORD)
    return live_server.url


@pytest.fixture
def page(chromium, console_errors: list[str]) -> Iterator[Page]:
    limiter.reset()
    context = chromium.new_context()
    page = context.new_page()
    watch_console(page, console_errors)
    yield page
    context.close()
    limiter.reset()
    assert console_errors == [], "the browser console reported errors"


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_see_home_sign_out(page: Page, staff_site: str) -> None:
    page.goto(f"{staff_site}/staff/")
    expect(page).to_have_url(f"{staff_site}/staff/sign-in?next=/staff/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff sign-in")
    assert_accessible(page)

    sign_in(page, PRACTITIONER, "not the password")
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Email or password is not right")
    expect(page.get_by_label("Email address")).to_have_value(PRACTITIONER)
    expect(page.get_by_label("Password")).to_have_value("")
    assert_accessible(page)
    summary.get_by_role("link", name="Email or password is not right").click()
    expect(page.get_by_label("Email address")).to_be_focused()

    sign_in(page, PRACTITIONER)
    expect(page).to_have_url(f"{staff_site}/staff/")
    expect(page.get_by_role("banner")).to_contain_text("Signed in as Pat Practitioner")
    expect(page.get_by_role("main")).to_contain_text("Signed in as Pat Practitioner")
    assert_accessible(page)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{staff_site}/staff/sign-in")
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    assert_accessible(page)

    page.goto(f"{staff_site}/staff/")
    expect(page).to_have_url(f"{staff_site}/staff/sign-in?next=/staff/")


def test_admin_and_refusal_pages_are_accessible(
    page: Page, staff_site: str, console_errors: list[str]
) -> None:
    page.goto(f"{staff_site}/staff/accounts")
    sign_in(page, PRACTITIONER)
    expect(page.get_by_role("heading", level=1)).to_have_text("You cannot open this page")
    expect_console_error(console_errors, 403)
    assert_accessible(page)
    page.get_by_role("button", name="Sign out").click()

    page.goto(f"{staff_site}/staff/sign-in?next=/staff/accounts")
    sign_in(page, ADMIN)
    expect(page).to_have_url(f"{staff_site}/staff/accounts")
    expect(page.get_by_role("table")).to_contain_text(PRACTITIONER)
    assert_accessible(page)


def test_the_throttled_sign_in_page_is_accessible(
    live_server, page: Page, staff_site: str, console_errors: list[str]
) -> None:
    config = live_server.app.config
    saved = config["SIGN_IN_RATE_LIMIT"]
    config["SIGN_IN_RATE_LIMIT"] = "1 per minute"
    try:
        page.goto(f"{staff_site}/staff/sign-in")
        sign_in(page, "nobody@demo.clinic")
        sign_in(page, "nobody@demo.clinic")
        expect(page.get_by_role("heading", level=1)).to_have_text("Too many sign-in attempts")
        expect_console_error(console_errors, 429)
        assert_accessible(page)
    finally:
        config["SIGN_IN_RATE_LIMIT"] = saved

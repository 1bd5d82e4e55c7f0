"""An admin makes an API token, copies it, reads the API documentation and revokes the token, in headless
Chromium; axe-core checks every page, the interactive reference opened too, and nothing loads from elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from intake.auth import service
from intake.extensions import limiter
from tests.support.browser import assert_accessible, expect_console_error, heading, watch_console

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
ADMIN = "tokens.admin@demo.clinic"
TOKEN_NAME = "Browser booking system"


@pytest.fixture(scope="module")
def tokens_site(live_server) -> str:
    with live_server.app.app_context():
        if service.find_user(ADMIN) is None:
            service.create_user(ADMIN, "Ada Tokens", "admin", PASSWORD)
    return live_server.url


@pytest.fixture
def page(chromium, tokens_site: str, console_errors: list[str]) -> Iterator[Page]:
    limiter.reset()
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=tokens_site)
    page = context.new_page()
    watch_console(page, console_errors)
    elsewhere: list[str] = []
    page.on("request", lambda request: None if request.url.startswith((tokens_site, "data:"))
            else elsewhere.append(request.url))
    yield page
    context.close()
    assert elsewhere == [], "the pages asked another site for something"
    assert console_errors == [], "the browser console reported errors (a CSP refusal would show here)"


def test_make_copy_document_and_revoke_a_token(page: Page, tokens_site: str, console_errors: list[str],
                                               tmp_path: Path) -> None:
    page.goto(f"{tokens_site}/staff/sign-in")
    page.get_by_label("Email address").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Staff").get_by_role("link", name="API tokens").click()
    expect(heading(page)).to_have_text("API tokens")
    assert_accessible(page)

    # A mistake first: the summary names it, what was typed stays.
    page.get_by_role("group", name="What the token may do").get_by_label(
        "Write: read, and also create intakes (a booking system)").check()
    page.get_by_label("Expires after (days)").fill("30")
    page.get_by_role("button", name="Create the token").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Enter a name for the token")
    expect_console_error(console_errors, 422)
    expect(page.get_by_label("Expires after (days)")).to_have_value("30")
    assert_accessible(page)
    summary.get_by_role("link", name="Enter a name for the token, such as Booking system.").click()
    expect(page.get_by_label("Name", exact=True)).to_be_focused()

    page.get_by_label("Name", exact=True).fill(TOKEN_NAME)
    page.get_by_role("button", name="Create the token").click()
    expect(heading(page)).to_have_text("API token created")
    expect(page.get_by_role("status")).to_contain_text("it will not be shown again")
    secret = page.locator("code#api-token-secret").inner_text().strip()
    assert secret.startswith("meso_")
    assert_accessible(page)
    page.screenshot(path=str(tmp_path / "api-token-created.png"), full_page=True)
    page.get_by_role("button", name="Copy the token").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret

    # The documentation, from the staff navigation: the server's list, then the interactive reference.
    page.get_by_role("navigation", name="Staff").get_by_role("link", name="API documentation").click()
    expect(heading(page)).to_have_text("API documentation")
    expect(page.locator("#endpoints ~ .endpoint h3")).to_have_text(
        ["GET /api/v1/intakes", "POST /api/v1/intakes", "GET /api/v1/intakes/{intake_id}"])
    viewer = page.locator("#api-viewer")
    expect(viewer.locator(".opblock")).to_have_count(3)
    assert_accessible(page)
    page.screenshot(path=str(tmp_path / "api-docs.png"), full_page=True)
    # Opened, with "Try it out" sent unauthorised (a 401 on purpose), and the Authorize dialog.
    viewer.locator(".opblock-get .opblock-summary-control").first.click()
    viewer.get_by_role("button", name="Try it out").click()
    viewer.get_by_role("button", name="Execute").click()
    expect(viewer.locator(".live-responses-table")).to_contain_text("401")
    expect_console_error(console_errors, 401)
    expect(viewer.locator(".opblock-post .try-out__btn")).to_have_count(0)  # reading only
    assert_accessible(page)
    viewer.locator(".btn.authorize").first.click()
    expect(viewer.locator(".modal-ux")).to_contain_text("bearerAuth")
    assert_accessible(page)
    page.screenshot(path=str(tmp_path / "api-docs-open.png"), full_page=True)
    close = viewer.locator(".modal-ux .close-modal")
    expect(close).to_have_accessible_name("Close")  # named by api-docs.js
    close.click()
    expect(viewer.locator(".modal-ux")).to_have_count(0)

    # Revoke: the list asks first.
    page.get_by_role("navigation", name="Staff").get_by_role("link", name="API tokens").click()
    expect(page.locator("body")).not_to_contain_text(secret)
    page.get_by_role("button", name=f"Revoke {TOKEN_NAME}").click()
    expect(heading(page)).to_have_text(f"Revoke the token “{TOKEN_NAME}”?")
    assert_accessible(page)
    page.get_by_role("button", name=f"Yes, revoke “{TOKEN_NAME}”").click()
    expect(page.get_by_role("status")).to_contain_text("is revoked")
    expect(page.get_by_role("row", name=TOKEN_NAME)).to_contain_text("Revoked on")
    assert_accessible(page)

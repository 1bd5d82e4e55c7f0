"""The error pages a patient can meet — 404, 413, 429 and the 503 of a database outage — in headless Chromium,
each clear and clean under axe-core."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from intake.extensions import db, limiter
from tests.support.browser import assert_accessible, expect_console_error, fill_about, watch_console

pytestmark = pytest.mark.browser


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


@contextlib.contextmanager
def setting(app, name: str, value) -> Iterator[None]:
    saved = app.config[name]
    app.config[name] = value
    try:
        yield
    finally:
        app.config[name] = saved


@contextlib.contextmanager
def database_down(app, writes_only: bool = False) -> Iterator[None]:
    """Every statement (or every write) fails as when PostgreSQL has gone away."""

    def fail(_conn, _cursor, statement, *_args):
        if not writes_only or statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            raise sa.exc.OperationalError(statement, {}, ConnectionError("server closed the connection"))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", fail)
    try:
        yield
    finally:
        sa.event.remove(engine, "before_cursor_execute", fail)


def start(page: Page, url: str) -> None:
    page.goto(url + "/")
    page.get_by_role("button", name="Start now").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("About you")


def test_the_404_page(page: Page, live_server, console_errors) -> None:
    page.goto(live_server.url + "/i/not-a-real-link")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_role("main")).to_contain_text("use the link the clinic sent you")
    expect_console_error(console_errors, 404)
    assert_accessible(page)


def test_the_413_page(page: Page, live_server, console_errors) -> None:
    start(page, live_server.url)
    with setting(live_server.app, "MAX_CONTENT_LENGTH", 2000):
        # More than the page would let one type (maxlength): what a script or a paste-bomb could send.
        page.get_by_label("Full name").evaluate(
            "(input, text) => { input.removeAttribute('maxlength'); input.value = text; }", "A" * 3000)
        page.get_by_role("button", name="Continue", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("That was too much to send at once")
    expect(page.get_by_role("main")).to_contain_text("Nothing was saved.")
    expect_console_error(console_errors, 413)
    assert_accessible(page)


def test_the_429_page(page: Page, live_server, console_errors) -> None:
    with setting(live_server.app, "INTAKE_START_RATE_LIMIT", "1 per hour"):
        start(page, live_server.url)
        page.goto(live_server.url + "/")
        page.get_by_role("button", name="Start now").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Too many requests from your network")
    expect(page.get_by_role("main")).to_contain_text("then try again")
    expect_console_error(console_errors, 429)
    assert_accessible(page)


def test_the_503_pages_keep_what_the_patient_typed(page: Page, live_server, console_errors) -> None:
    start(page, live_server.url)
    fill_about(page, "ana.outage@example.com")
    page.get_by_label("Full name").fill("Ana Outage")
    page.get_by_label("Phone number (optional)").fill("07700 900999")
    with database_down(live_server.app, writes_only=True):
        page.get_by_role("button", name="Continue", exact=True).click()
        expect(page.get_by_role("alert")).to_contain_text("our records are unavailable for a moment")
    expect(page.get_by_label("Full name")).to_have_value("Ana Outage")
    expect(page.get_by_label("Phone number (optional)")).to_have_value("07700 900999")
    expect_console_error(console_errors, 503)
    assert_accessible(page)

    with database_down(live_server.app):
        page.goto(page.url)  # a GET of the section: the 503 page of any other request
        expect(page.get_by_role("heading", level=1)).to_have_text("The service is unavailable for a moment")
    expect_console_error(console_errors, 503)
    assert_accessible(page)
    page.get_by_role("link", name="Try again").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("About you")

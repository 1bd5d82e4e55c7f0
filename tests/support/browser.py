"""Driving headless Chromium in the tests: its settings, the accessibility check, form helpers."""

from __future__ import annotations

import os
from http import HTTPStatus
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 360, "height": 740}


def assert_accessible(page) -> None:
    """axe-core finds no violation on the page; otherwise say which, where and why."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    if results.violations_count:
        lines = [f"axe: {results.violations_count} violation(s) on {page.url}"]
        for violation in results.response["violations"]:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
            for node in violation["nodes"][:5]:
                why = node["failureSummary"].splitlines()[-1].strip()
                lines.append(f"    {' '.join(node['target'])}: {why}")
        pytest.fail("\n".join(lines), pytrace=False)


def watch_console(page, errors: list[str]) -> None:
    """Record console errors (CSP refusals, script errors) of ``page`` into ``errors``."""
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))


def expect_console_error(console_errors: list[str], status: int) -> None:
    """The page was answered with ``status`` on purpose; Chromium logs that as an error."""
    console_errors.remove(
        f"Failed to load resource: the server responded with a status of {status} "
        f"({HTTPStatus(status).phrase.upper()})"
    )


def expect(target):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def group(scope, legend: str):
    return scope.get_by_role("group", name=legend, exact=True)


def choose(scope, legend: str, option: str) -> None:
    group(scope, legend).get_by_label(option, exact=True).check()


def tick(scope, *labels: str) -> None:
    for label in labels:
        scope.get_by_label(label, exact=True).check()


def heading(page):
    return page.get_by_role("heading", level=1)


def press(page, button: str, then: str) -> None:
    """Press a form button and wait for the page whose heading contains ``then``."""
    page.get_by_role("button", name=button, exact=True).click()
    expect(heading(page)).to_contain_text(then)


def fill_about(page, email: str) -> None:
    page.get_by_label("Full name").fill("Ana Pereira")
    page.get_by_label("Date of birth").fill("1988-04-12")
    choose(page, "Sex recorded at birth", "Female")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Phone number (optional)").fill("07700 900123")
    appointment = page.get_by_label("Date of your appointment")
    choose(page, "Have you booked your appointment?", "Yes")
    expect(appointment).to_be_visible()
    appointment.fill("2026-12-09")


def open_flag(page, target: str) -> None:
    """Unfold one flag of the record (``#flag-<rule id>``): each is one line until opened."""
    details = page.locator(f"{target} > details")
    if details.get_attribute("open") is None:
        details.locator("> summary").click()


def shot(page, name: str, full_page: bool = True) -> None:
    """A screenshot as ``$MESO_SHOTS/<name>.png`` when MESO_SHOTS names a folder (for looking at the pages)."""
    folder = os.environ.get("MESO_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}.png", full_page=full_page)

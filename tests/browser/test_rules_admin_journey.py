"""A clinic admin changes the rules in headless Chromium: upload a clinic rule file, see it checked,
preview it on past intakes, activate it with a note, then roll back. axe-core checks every page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from intake.auth import service
from intake.demo.intakes import seed_intakes
from intake.extensions import db, limiter
from intake.models import Intake, RulesetVersion
from intake.protection.search import matching_search
from intake.rulesets import active
from intake.rulesets.reassess import open_intake_ids
from tests.support.browser import assert_accessible, watch_console
from tests.support.settings import TODAY

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
ADMIN = "rules.admin@demo.clinic"

SMOKING = """\
- id: current-smoker
  title: Current smoker
  severity: info
  when: {field: lifestyle.smoking, equals: current}
  message: Smoking slows healing.
  source: [rule-default]
"""

BROKEN = SMOKING.replace("severity: info", "severity: awful")


@pytest.fixture(scope="module")
def rules_site(live_server) -> Iterator[str]:
    app = live_server.app
    saved = {key: app.config.get(key) for key in ("REASSESS_IN_BACKGROUND",)}
    app.config.update(REASSESS_IN_BACKGROUND=False)
    with app.app_context():
        if service.find_user(ADMIN) is None:
            service.create_user(ADMIN, "Ada Rules", "admin", PASSWORD)
        if db.session.scalar(select(Intake).where(matching_search("Tom Becker"))) is None:
            seed_intakes(TODAY)
    yield live_server.url
    with app.app_context():  # the other browser tests run on the rules folders again
        db.session.execute(update(RulesetVersion).values(active=False))
        db.session.commit()
        active.refresh(app, force=True)
    app.config.update(saved)


@pytest.fixture
def page(chromium) -> Iterator[Page]:
    limiter.reset()
    errors: list[str] = []
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    watch_console(page, errors)
    yield page
    context.close()
    # Refusals (422) are on purpose; nothing else may be reported.
    assert [e for e in errors if "422" not in e] == []


def test_upload_preview_activate_roll_back(page: Page, rules_site: str, live_server, tmp_path: Path) -> None:
    live_app = live_server.app
    page.goto(f"{rules_site}/staff/rules/")
    page.get_by_label("Email address").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Active rules")
    expect(page.get_by_role("table")).to_contain_text("allergies → local anaesthetic allergy is yes")
    assert_accessible(page)

    # A broken file is explained, with its file, line and rule; nothing is saved.
    page.get_by_role("link", name="Change the rules").click()
    broken = tmp_path / "ours.yaml"
    broken.write_text(BROKEN)
    page.get_by_label("Rule file (.yaml) or a zip of your whole rules folder").set_input_files(str(broken))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("alert")).to_contain_text("clinic/precautions/ours.yaml, line 3, rule current-smoker")
    assert_accessible(page)

    good = tmp_path / "smoking.yaml"
    good.write_text(SMOKING)
    page.get_by_label("Rule file (.yaml) or a zip of your whole rules folder").set_input_files(str(good))
    page.get_by_label("Note (optional)").fill("Smoking advice")
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Rules version")
    first_url = page.url
    expect(page.locator("#checks")).to_contain_text("Rule tests pass")
    expect(page.locator("pre.diff")).to_contain_text("+  message: Smoking slows healing.")
    assert_accessible(page)

    page.get_by_label("The last N intakes").fill("50")
    page.get_by_role("button", name="Preview").click()
    # Other browser tests may have added intakes to the shared server: the demo ones are there.
    expect(page.locator("#preview-summary")).to_contain_text(re.compile(r"1[2-9] intakes assessed"))
    expect(page.locator("#preview-summary")).to_contain_text("1 change, 0 of them in outcome")
    expect(page.get_by_role("table").nth(1)).to_contain_text("Tom Becker")
    assert_accessible(page)

    page.goto(first_url)
    page.get_by_role("button", name="Activate this version").click()
    expect(page.get_by_role("alert")).to_contain_text("Say why this version goes live")
    page.get_by_label("Why it goes live (kept in the history)").fill("Clinic smoking advice")
    # Other browser tests may have decided some demo intakes on the shared server: count the open ones now.
    with live_app.app_context():
        still_open = len(list(open_intake_ids()))
    page.get_by_role("button", name="Activate this version").click()
    expect(page.get_by_role("status").last).to_contain_text(f"Done: {still_open} open intakes re-assessed")
    assert_accessible(page)

    # A second version, edited in the browser, then activated.
    page.goto(f"{rules_site}/staff/rules/change")
    page.get_by_role("link", name="precautions/smoking.yaml").click()
    text = page.get_by_label("Content (YAML)")
    text.fill(SMOKING.replace("slows healing", "delays healing"))
    page.get_by_role("button", name="Save as a new version and check").click()
    expect(page.locator("#checks")).to_contain_text("Rule tests pass")
    page.get_by_label("Why it goes live (kept in the history)").fill("Wording")
    page.get_by_role("button", name="Activate this version").click()
    expect(page.get_by_role("status").last).to_contain_text("Done")

    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rules history")
    assert_accessible(page)
    page.get_by_role("button", name="Roll back to version").first.click()
    expect(page.get_by_role("status").last).to_contain_text("Done")
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("list").last).to_contain_text("rolled back to version")
    assert_accessible(page)
    page.get_by_role("link", name="Active rules").click()
    expect(page.get_by_role("table")).to_contain_text("Smoking slows healing.")

"""A clinic admin previews a large range in headless Chromium: the preview page offers chunks, the run page
shows the progress while the chunks wait for a worker, then the result; another run is cancelled. axe-core
checks every page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from intake.auth import service
from intake.demo.intakes import seed_intakes
from intake.extensions import db
from intake.models import Intake
from intake.protection.search import matching_search
from intake.rulesets import parallel_preview
from tests.support.browser import assert_accessible, shot
from tests.support.rules_admin import GOOD as SMOKING
from tests.support.settings import TODAY

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
ADMIN = "preview.admin@demo.clinic"



@pytest.fixture
def preview_site(live_server) -> Iterator[str]:
    """Previews of more than 5 intakes go in 2 chunks (the demo has 12 submitted intakes)."""
    app = live_server.app
    saved = {key: app.config.get(key) for key in ("PREVIEW_INLINE_LIMIT", "PREVIEW_CHUNKS")}
    app.config.update(PREVIEW_INLINE_LIMIT=5, PREVIEW_CHUNKS=2)
    with app.app_context():
        if service.find_user(ADMIN) is None:
            service.create_user(ADMIN, "Ada Preview", "admin", PASSWORD)
        if db.session.scalar(select(Intake).where(matching_search("Tom Becker"))) is None:
            seed_intakes(TODAY)
    yield live_server.url
    app.config.update(saved)


@pytest.fixture
def queued(monkeypatch) -> list[tuple[Any, ...]]:
    """The chunks sent to the queue, for the test to run as a worker would (none runs in the request)."""
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(parallel_preview.jobs, "dispatch", lambda *args, **kwargs: sent.append(args))
    return sent


def test_a_large_preview_runs_in_chunks_with_its_progress(page: Page, preview_site: str, live_server, queued,
                                                         tmp_path: Path) -> None:
    page.goto(f"{preview_site}/staff/rules/change")
    page.get_by_label("Email address").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    rules = tmp_path / "smoking.yaml"
    rules.write_text(SMOKING)
    page.get_by_label("Rule file (.yaml) or a zip of your whole rules folder").set_input_files(str(rules))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Rules version")

    page.get_by_label("The last N intakes").fill("200")
    page.get_by_role("button", name="Preview").click()
    # Other browser tests may have added intakes to the shared server: the demo ones are there.
    expect(page.locator("#preview-chunked")).to_contain_text(re.compile(r"This range holds 1[2-9] intakes"))
    expect(page.locator("#preview-summary")).to_have_count(0)
    assert_accessible(page)
    shot(page, "preview-offer")
    offer_url = page.url

    page.get_by_role("button", name="Start the preview in chunks").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("in chunks")
    expect(page.get_by_role("status").last).to_contain_text(re.compile(r"^0 of 1[2-9] intakes previewed"))
    expect(page.get_by_role("progressbar")).to_have_attribute("value", "0")
    expect(page.get_by_role("button", name="Cancel the preview")).to_be_visible()
    assert_accessible(page)
    shot(page, "preview-run-progress")
    run_url = page.url

    with live_server.app.app_context():  # a worker takes the chunks
        assert [parallel_preview.run_chunk(*args[1:]) for args in queued] == ["done", "done"]
    page.get_by_role("link", name="Reload to follow").click()
    expect(page.get_by_role("status").last).to_contain_text(re.compile(r"^Done: 1[2-9] intakes previewed\.$"))
    expect(page.locator("#preview-summary")).to_contain_text("1 change, 0 of them in outcome")
    expect(page.get_by_role("table").nth(1)).to_contain_text("Tom Becker")
    expect(page.get_by_role("button", name="Cancel the preview")).to_have_count(0)
    assert_accessible(page)
    shot(page, "preview-run-result")

    # Another run, cancelled before a worker takes it.
    page.goto(offer_url)
    # The preview page links to the runs it keeps.
    expect(page.get_by_role("link", name=re.compile(r"^Started .*: 1[2-9] intakes$"))).to_have_attribute(
        "href", run_url.removeprefix(preview_site))
    assert_accessible(page)
    shot(page, "preview-offer-with-runs")
    page.get_by_role("button", name="Start the preview in chunks").click()
    expect(page.get_by_role("status").last).to_contain_text(re.compile(r"^0 of 1[2-9] intakes previewed"))
    assert page.url != run_url
    page.get_by_role("button", name="Cancel the preview").click()
    expect(page.get_by_role("status").last).to_contain_text(re.compile(r"^Cancelled after 0 of 1[2-9] intakes"))
    expect(page.get_by_role("button", name="Cancel the preview")).to_have_count(0)
    assert_accessible(page)
    shot(page, "preview-run-cancelled")

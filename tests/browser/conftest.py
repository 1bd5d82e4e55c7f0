"""Real headless Chromium against the app served on a random local port.

Debian's chromium is driven by Python playwright (never `playwright install`); the app
runs in a thread on a SQLite file with TODAY pinned, so dates on the pages are fixed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from werkzeug.serving import make_server

from intake import create_app
from intake.extensions import db, limiter
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, watch_console
from tests.support.settings import TODAY


@dataclass
class LiveServer:
    url: str
    app: object


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on http://127.0.0.1:<free port>, for the whole browser session."""
    database = tmp_path_factory.mktemp("live") / "browser.sqlite"
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "browser-test-secret-key-0123456789-abcdefghij",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "TODAY": TODAY,
        "MAIL_BACKEND": "locmem",
    })
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    """One headless Chromium for the session; each test opens its own contexts."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def console_errors() -> list[str]:
    """What the browser console reported as errors; a test removes those it caused on purpose."""
    return []


@pytest.fixture
def page(chromium, console_errors: list[str]) -> Iterator:
    """A staff-sized page (1200 × 900) with the rate limits reset; its console must stay clean.

    A module whose pages differ (a laptop's width, refusals on purpose) defines its own ``page``.
    """
    limiter.reset()
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    watch_console(page, console_errors)
    yield page
    context.close()
    assert console_errors == [], "the browser console reported errors"

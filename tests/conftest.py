"""Shared fixtures: one app per database backend, a clean database for every test.

Route tests run once on SQLite and once on PostgreSQL (``MESO_TEST_DATABASES`` can narrow
it locally, e.g. ``MESO_TEST_DATABASES=sqlite``; CI runs both). PostgreSQL that does not
answer fails the run: a silent skip would hide half the suite.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from intake import create_app
from intake.extensions import db

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The date every route test runs on, so dates in answers and rules are deterministic.
TODAY = dt.date(2026, 11, 25)
POSTGRES_URL = os.environ.get(
    "MESO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = os.environ.get("MESO_TEST_DATABASES", "sqlite postgresql").split()


def _postgres_url() -> str:
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}: {error}", pytrace=False)
    finally:
        engine.dispose()
    return POSTGRES_URL


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of an empty test database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    return _postgres_url()


@pytest.fixture(scope="session")
def _session_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TODAY": TODAY,
            "SERVER_NAME": "localhost",
            "MAIL_BACKEND": "locmem",
            "AUDIT_CHECKPOINT_FILE": str(tmp_path_factory.mktemp("audit") / "checkpoints.jsonl"),
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def app(_session_app):
    """The app, on a database emptied after the test, with fresh rate limits."""
    from intake.extensions import limiter

    saved_config = dict(_session_app.config)
    limiter.reset()
    yield _session_app
    _session_app.config.clear()
    _session_app.config.update(saved_config)
    Path(saved_config["AUDIT_CHECKPOINT_FILE"]).unlink(missing_ok=True)
    with _session_app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                if table.name == "audit_entry" and connection.dialect.name == "postgresql":
                    # Its triggers refuse DELETE and TRUNCATE (the log is append-only): as the table's
                    # owner, switch them off for this transaction only.
                    connection.execute(sa.text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
                    connection.execute(sa.text("TRUNCATE audit_entry"))
                    connection.execute(sa.text("ALTER TABLE audit_entry ENABLE TRIGGER USER"))
                else:
                    connection.execute(table.delete())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page, as a browser would send it."""
    match = CSRF_INPUT.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1) or match.group(2)


class FormClient:
    """Submits forms the way a browser does: GET the page, send its CSRF token back."""

    def __init__(self, client):
        self.client = client

    def post(self, url: str, data: dict | list, follow_redirects: bool = False, page: str | None = None):
        """POST ``data`` to ``url`` with the CSRF token of ``page`` (default: ``url``)."""
        html = self.client.get(page or url).get_data(as_text=True)
        token = csrf_token(html)
        if isinstance(data, dict):
            data = list(data.items())
        fields = [("csrf_token", token), *data]
        from werkzeug.datastructures import MultiDict

        return self.client.post(url, data=MultiDict(fields), follow_redirects=follow_redirects)


@pytest.fixture
def forms(client) -> FormClient:
    return FormClient(client)

"""Shared fixtures: one app per database backend, a clean database for every test.

Route tests run once on SQLite and once on PostgreSQL (``MESO_TEST_DATABASES`` can narrow
it locally, e.g. ``MESO_TEST_DATABASES=sqlite``; CI runs both). PostgreSQL that does not
answer fails the run: a silent skip would hide half the suite.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from intake import create_app
from intake.demo.intakes import seed_intakes
from intake.extensions import db, limiter
from intake.models import Intake
from intake.rulesets import active
from intake.web import clinic
from tests.support.forms import FormClient
from tests.support.settings import BACKENDS, POSTGRES_URL, TODAY
from tests.support.staff import make_user, sign_in


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
    """The app, on a database emptied after the test, with fresh rate limits and its own rules."""
    saved_config = dict(_session_app.config)
    # A test that activates a ruleset version must not leave it in force for the next test,
    # whose database no longer holds that version.
    saved_rules = active.snapshot(_session_app)
    limiter.reset()
    yield _session_app
    _session_app.config.clear()
    _session_app.config.update(saved_config)
    Path(saved_config["AUDIT_CHECKPOINT_FILE"]).unlink(missing_ok=True)
    active.restore(_session_app, saved_rules)
    clinic.forget(_session_app)
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


@pytest.fixture
def forms(client) -> FormClient:
    return FormClient(client)


@pytest.fixture
def fresh_rate_limits(app):
    """The throttles count per address across requests: none counted before the test, none left after."""
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def demo_intakes(app) -> dict[str, int]:
    """The demo clinic's intakes (twelve submitted, one draft), by patient name."""
    with app.app_context():
        seed_intakes(TODAY)
        return {intake.full_name: intake.id for intake in db.session.scalars(sa.select(Intake))}


@pytest.fixture
def practitioner(app) -> int:
    """A practitioner's account (pat@demo.clinic); its id."""
    return make_user(app)


@pytest.fixture
def admin(app) -> int:
    """A clinic admin's account (ada@demo.clinic); its id."""
    return make_user(app, "ada@demo.clinic", "admin", "Ada Admin")


@pytest.fixture
def signed_in(forms, practitioner) -> FormClient:
    """A browser-like client signed in as the practitioner."""
    sign_in(forms)
    return forms


@pytest.fixture
def as_admin(forms, admin) -> FormClient:
    """A browser-like client signed in as the admin."""
    sign_in(forms, email="ada@demo.clinic")
    return forms


@pytest.fixture
def rules_app(app):
    """The app with activated rules versions picked up at once and re-assessment within the request.

    (The ``app`` fixture puts the folders' ruleset back afterwards.)
    """
    app.config.update(RULES_REFRESH_SECONDS=0, REASSESS_IN_BACKGROUND=False)
    return app


@pytest.fixture
def admin_forms(rules_app, as_admin):
    """Signed in as an admin, with the rules settings of rules_app."""
    return as_admin


@pytest.fixture
def outbox(app):
    """The messages sent (MAIL_BACKEND=locmem in tests)."""
    with app.app_context():
        state = app.extensions["mailman"]
    state.outbox = []
    return state.outbox

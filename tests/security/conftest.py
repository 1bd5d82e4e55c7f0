"""Fixtures of the security suite: staff of each role, a clinic of intakes, a patient mid-way.

Every test here runs on SQLite and PostgreSQL (the ``app`` fixture of tests/conftest.py).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from intake.demo.intakes import seed_intakes
from intake.extensions import db, limiter
from intake.models import Assessment, AuditEntry, Intake
from tests.conftest import TODAY
from tests.web.test_auth import make_user, sign_in


@pytest.fixture(autouse=True)
def fresh_rate_limits(app):
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def practitioner(app) -> int:
    return make_user(app)


@pytest.fixture
def admin(app) -> int:
    return make_user(app, "ada@demo.clinic", "admin", "Ada Admin")


@pytest.fixture
def clinic(app) -> dict[str, int]:
    """The demo clinic's intakes (twelve submitted, one draft), by patient name."""
    with app.app_context():
        seed_intakes(TODAY)
        return {intake.full_name: intake.id for intake in db.session.scalars(sa.select(Intake))}


@pytest.fixture
def as_practitioner(forms, practitioner):
    sign_in(forms)
    return forms


@pytest.fixture
def as_admin(forms, admin):
    sign_in(forms, email="ada@demo.clinic")
    return forms


def snapshot(app) -> dict[str, int]:
    """How many rows each table that a request could write to holds."""
    with app.app_context():
        return {model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
                for model in (Intake, Assessment, AuditEntry)}


def stored_answers(app) -> list[dict]:
    with app.app_context():
        return [intake.answers for intake in db.session.scalars(sa.select(Intake).order_by(Intake.id))]


def data_rows(app) -> dict[str, int]:
    """``snapshot`` without the audit log (reading exports and the API is audited, as it should be)."""
    counts = snapshot(app)
    counts.pop(AuditEntry.__tablename__)
    return counts

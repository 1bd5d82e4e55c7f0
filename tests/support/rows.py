"""Counting what requests stored, to show that a refused one stored nothing."""

from __future__ import annotations

import sqlalchemy as sa

from intake.extensions import db
from intake.models import Assessment, AuditEntry, Intake


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

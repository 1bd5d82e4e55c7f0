"""Storing what the rules found: an assessment row per run, and the per-rule tally of flags."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..assessment import Assessment as AssessmentResult
from ..extensions import db
from ..models import Assessment, Intake, RuleTally


def store_assessment(intake: Intake, result: AssessmentResult, ruleset_version_id: int | None = None) -> Assessment:
    """Add the core's assessment of an intake to the current transaction (``ruleset_version_id``: its DB version)."""
    document = result.to_dict()
    stored = Assessment(
        ruleset_version_id=ruleset_version_id,
        intake_id=intake.id,
        assessed_on=result.on,
        ruleset_version=result.ruleset_version,
        outcome=result.outcome,
        defer_until=result.defer_until,
        document=document,
        flag_count=len(document.get("flags") or []),
    )
    db.session.add(stored)
    tally_flags({flag["rule_id"] for flag in document.get("flags") or []})
    return stored


def tally_flags(rule_ids: Iterable[str]) -> None:
    """Count one more assessment flagging each of ``rule_ids`` (in the current transaction)."""
    # Sorted: concurrent submissions lock the tally rows in the same order, so they never deadlock.
    rows = [{"rule_id": rule_id, "flagged": 1} for rule_id in sorted(rule_ids)]
    if not rows:
        return
    upsert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = upsert(RuleTally).values(rows)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=[RuleTally.rule_id], set_={"flagged": RuleTally.flagged + statement.excluded.flagged}))

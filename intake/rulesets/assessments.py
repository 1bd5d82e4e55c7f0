"""Storing what the rules found: an assessment row per run, what carries over from the
previous one's review, and the per-rule tally of flags."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..assessment import Assessment as AssessmentResult
from ..assessment.carryover import compare_flags
from ..assessment.plan import Protocols
from ..assessment.plan.edit import carry_plan_edit, plan_differences, plan_values
from ..assessment.preview import flag_summary
from ..audit import record
from ..clock import utcnow
from ..extensions import db
from ..models import Assessment, CheckIn, FlagReview, Intake, PlanEdit, RuleTally


def flags_to_review(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The flags a practitioner reviews: every flag but the info items (shown apart, never open)."""
    return [flag for flag in document.get("flags") or [] if flag.get("severity") != "info"]


def store_assessment(intake: Intake, result: AssessmentResult, ruleset_version_id: int | None = None,
                     answers: Mapping[str, Any] | None = None) -> Assessment:
    """Add the core's assessment of an intake to the current transaction.

    ``ruleset_version_id``: the database version that produced it; ``answers``: the answers
    document it was made from (kept, so what the patient changed between submissions shows).
    """
    document = result.to_dict()
    stored = Assessment(
        ruleset_version_id=ruleset_version_id,
        intake_id=intake.id,
        assessed_on=result.on,
        ruleset_version=result.ruleset_version,
        outcome=result.outcome,
        defer_until=result.defer_until,
        document=document,
        flag_count=len(flags_to_review(document)),
        flag_summary=flag_summary(result.flags),
        answers=dict(answers) if answers is not None else None,
    )
    db.session.add(stored)
    tally_flags({flag["rule_id"] for flag in document.get("flags") or []})
    return stored


def decided_on(decision_assessment_id: int, assessment_id: int) -> bool:
    """Whether a decision made on one assessment still stands on a later one: the same one, or
    reached from it only through check-ins that raised nothing new (the patient's answers
    moved on, but nothing the practitioner has not seen)."""
    current: int | None = assessment_id
    while current is not None and current != decision_assessment_id:
        check_in = db.session.scalar(select(CheckIn).where(CheckIn.assessment_id == current))
        if check_in is None or check_in.raised:
            return False
        current = check_in.previous_assessment_id
    return current == decision_assessment_id


def latest_reviews(assessment_id: int) -> dict[str, FlagReview]:
    """The latest review of each flag of an assessment, by rule id."""
    reviews: dict[str, FlagReview] = {}
    for review in db.session.scalars(
        select(FlagReview).where(FlagReview.assessment_id == assessment_id).order_by(FlagReview.id)
    ):
        reviews[review.rule_id] = review
    return reviews


def latest_plan_edit(assessment_id: int) -> PlanEdit | None:
    return db.session.scalar(
        select(PlanEdit).where(PlanEdit.assessment_id == assessment_id).order_by(PlanEdit.id.desc()).limit(1))


def carry_over(intake: Intake, previous: Assessment | None, stored: Assessment, protocols: Protocols | None,
               actor: str) -> dict[str, Any] | None:
    """Carry the previous assessment's review onto ``stored`` (flushed), and note what happened on it.

    A flag whose rule fired on the same answers keeps its acknowledgement or override (a
    copy pointing at the review it repeats); a flag whose answers changed is open again;
    a flag the new answers no longer raise is listed as resolved. The practitioner's plan
    edit is applied to the new suggestion when it stays within its bounds, else dropped
    with the reason. Nothing to carry (no previous review, no edit): None.
    """
    if previous is None:
        return None
    reviews = latest_reviews(previous.id)
    edit = latest_plan_edit(previous.id)
    comparison = compare_flags(flags_to_review(previous.document), flags_to_review(stored.document))
    carried: dict[str, Any] = {
        "from_assessment_id": previous.id,
        "from_assessed_on": previous.assessed_on.isoformat(),
        "kept": [], "reopened": [], "added": [flag["rule_id"] for flag in comparison.added],
        "resolved": [{"rule_id": flag["rule_id"], "title": flag.get("title") or flag["rule_id"],
                      "severity": flag.get("severity")} for flag in comparison.gone],
        "plan": None,
    }
    for before, _after in comparison.unchanged:
        review = reviews.get(before["rule_id"])
        if review is None:
            continue
        db.session.add(FlagReview(intake_id=intake.id, assessment_id=stored.id, rule_id=review.rule_id,
                                  action=review.action, reason=review.reason, staff_user_id=review.staff_user_id,
                                  at=review.at, carried_from_id=review.carried_from_id or review.id))
        carried["kept"].append(review.rule_id)
    carried["reopened"] = [before["rule_id"] for before, _after in comparison.changed if before["rule_id"] in reviews]
    if edit is not None:
        plan, problems = carry_plan_edit(edit.plan, stored.document.get("plan"), protocols)
        if plan is not None:
            changes = plan_differences(plan_values(stored.document["plan"]), plan_values(plan))
            db.session.add(PlanEdit(intake_id=intake.id, assessment_id=stored.id, plan=plan, changes=changes,
                                    staff_user_id=edit.staff_user_id, at=edit.at,
                                    carried_from_id=edit.carried_from_id or edit.id))
        carried["plan"] = {"carried": plan is not None, "dropped_because": problems}
    if not reviews and edit is None:
        return None
    stored.carried = carried
    record(actor, "review.carried_over", intake,
           f"Review carried over from the assessment of {previous.assessed_on.isoformat()}: "
           f"{len(carried['kept'])} kept, {len(carried['reopened'])} reopened, {len(carried['resolved'])} resolved"
           + ("" if carried["plan"] is None else
              ", plan edit kept" if carried["plan"]["carried"] else ", plan edit dropped"),
           assessment_id=stored.id, kept=carried["kept"], reopened=carried["reopened"],
           resolved=[item["rule_id"] for item in carried["resolved"]], plan=carried["plan"], at=utcnow().isoformat())
    return carried


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

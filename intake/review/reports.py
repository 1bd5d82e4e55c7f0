"""Reports for staff: how often each rule's flags are acknowledged or overridden."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask import Response, render_template
from sqlalchemy import func, select

from ..extensions import db
from ..models import RuleTally
from ..operations import record
from . import blueprint
from .models import FlagAction, FlagReview


@dataclass
class RuleOverrides:
    rule_id: str
    flagged: int = 0
    acknowledged: int = 0
    overridden: int = 0

    @property
    def override_rate(self) -> float | None:
        """Overridden out of reviewed flags (None when none was reviewed yet)."""
        reviewed = self.acknowledged + self.overridden
        return self.overridden / reviewed if reviewed else None


def override_report() -> list[RuleOverrides]:
    """Per rule id: how many assessments flagged it, and how its latest review per assessment ended."""
    rows: dict[str, RuleOverrides] = {}
    # The flags live in the encrypted assessment documents: their counts are kept apart (RuleTally).
    for rule_id, number in db.session.execute(select(RuleTally.rule_id, RuleTally.flagged)):
        rows[rule_id] = RuleOverrides(rule_id, flagged=number)
    # The latest review of each flag of each assessment counts (a practitioner may change their mind).
    latest = (select(func.max(FlagReview.id)).group_by(FlagReview.assessment_id, FlagReview.rule_id))
    counted = (select(FlagReview.rule_id, FlagReview.action, func.count())
               .where(FlagReview.id.in_(latest)).group_by(FlagReview.rule_id, FlagReview.action))
    for rule_id, action, number in db.session.execute(counted):
        row = rows.setdefault(rule_id, RuleOverrides(rule_id))
        if action == FlagAction.OVERRIDDEN:
            row.overridden += number
        else:
            row.acknowledged += number
    return sorted(rows.values(), key=lambda row: (-(row.override_rate or 0), -row.flagged, row.rule_id))


@blueprint.get("/reports/overrides")
def show_override_report() -> str:
    """Per rule: times flagged, acknowledged, overridden and the override rate."""
    return render_template("review/overrides.html", rows=override_report())


@blueprint.get("/reports/overrides.csv")
def export_override_report() -> Response:
    """The override report as CSV (one row per rule)."""
    from flask_login import current_user

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["rule_id", "flagged", "acknowledged", "overridden", "override_rate"])
    for row in override_report():
        rate = "" if row.override_rate is None else f"{row.override_rate:.3f}"
        writer.writerow([row.rule_id, row.flagged, row.acknowledged, row.overridden, rate])
    record(current_user.actor, "report.exported", None, "Override report exported as CSV")
    db.session.commit()
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="override-report.csv"'})

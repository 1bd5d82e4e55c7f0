"""Reading and changing an intake under review, for the tests."""

from __future__ import annotations

from sqlalchemy import select

from intake.extensions import db
from intake.models import AuditEntry, Intake

from .html import row_headers


def names(html: str) -> list[str]:
    """The patients listed in the queue table, in order."""
    return row_headers(html)


def version(app, intake_id: int) -> int:
    with app.app_context():
        return db.session.get(Intake, intake_id).version


def actions(app, intake_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.intake_id == intake_id).order_by(AuditEntry.id)))


def record_url(intake_id: int) -> str:
    return f"/staff/intakes/{intake_id}"


def review_flag(forms, app, intake_id: int, rule_id: str, action: str = "acknowledge", reason: str | None = None,
                at_version: int | None = None):
    """Post one flag's form as the record page renders it (its fields are prefixed by the rule id)."""
    fields = {f"flag-{rule_id}-version": version(app, intake_id) if at_version is None else at_version,
              "action": action}
    if reason is not None:
        fields[f"flag-{rule_id}-reason"] = reason
    return forms.post(f"{record_url(intake_id)}/flags/{rule_id}", fields, page=record_url(intake_id))


def flags_of(app, intake_id: int, severity: str | None = None) -> list[str]:
    """The rule ids of the latest assessment's flags to review (not info items), or of one severity."""
    with app.app_context():
        flags = db.session.get(Intake, intake_id).latest_assessment.document["flags"]
        if severity is None:
            return [f["rule_id"] for f in flags if f["severity"] != "info"]
        return [f["rule_id"] for f in flags if f["severity"] == severity]


def decide(forms, app, intake_id: int, outcome: str, **more):
    """Post the record's decision form."""
    return forms.post(f"{record_url(intake_id)}/decision", {"version": version(app, intake_id), "outcome": outcome,
                                                            **more}, page=record_url(intake_id))


def acknowledge_all(forms, app, intake_id: int) -> None:
    """Acknowledge every precaution of the latest assessment, as a practitioner would before approving."""
    for rule_id in flags_of(app, intake_id, "precaution"):
        assert review_flag(forms, app, intake_id, rule_id).status_code == 302

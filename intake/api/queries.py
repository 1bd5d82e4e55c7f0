"""The intakes matching the queue's filters, in queue order (for the API list and the CSV export).

A small query of our own until the review queue's lands; same filters, same order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, select

from ..assessment.model import OUTCOMES
from ..extensions import db
from ..models import Assessment, Intake
from ..protection import matching_search

#: Latest assessment id of each intake (assessments only ever get added).
_latest = select(Assessment.intake_id, func.max(Assessment.id).label("assessment_id")).group_by(
    Assessment.intake_id
).subquery()


@dataclass(frozen=True)
class Page:
    items: list[tuple[Intake, Assessment | None]]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def filtered_intakes(filters: Mapping[str, Any]) -> Select:
    """(Intake, latest Assessment or None) rows matching ``filters``, most severe and soonest first.

    ``filters``: status, outcome, appointment_from, appointment_to (dates), q (name or email).
    """
    statement = (
        select(Intake, Assessment)
        .outerjoin(_latest, _latest.c.intake_id == Intake.id)
        .outerjoin(Assessment, Assessment.id == _latest.c.assessment_id)
    )
    if filters.get("status"):
        statement = statement.where(Intake.status == filters["status"])
    if filters.get("outcome"):
        statement = statement.where(Assessment.outcome == filters["outcome"])
    appointment_from: dt.date | None = filters.get("appointment_from")
    appointment_to: dt.date | None = filters.get("appointment_to")
    if appointment_from:
        statement = statement.where(Intake.appointment_date >= appointment_from)
    if appointment_to:
        statement = statement.where(Intake.appointment_date <= appointment_to)
    if filters.get("q"):
        statement = statement.where(matching_search(filters["q"]))
    severity = case({outcome: rank for rank, outcome in enumerate(OUTCOMES)}, value=Assessment.outcome, else_=-1)
    return statement.order_by(severity.desc(), Intake.appointment_date.asc().nulls_last(), Intake.id)


def page_of(statement: Select, page: int, per_page: int) -> Page:
    """One page of a filtered_intakes() query, with the total count."""
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    rows = db.session.execute(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=[(intake, assessment) for intake, assessment in rows], page=page, per_page=per_page,
                total=total)

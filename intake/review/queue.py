"""The review queue: one SQL query for a page of rows, one for the counts per status.

Nothing here loads every intake: filters, sort and the open-flag count are SQL over indexed
columns (the latest assessment and decision per intake are grouped subqueries).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, case, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..extensions import db
from ..models import Assessment, Intake, IntakeStatus
from .models import Decision, FlagReview

PER_PAGE = 25
#: Review statuses in the order the queue lists them; "awaiting_review" is where work waits.
STATUSES = ("awaiting_review", "invited", "draft", "more_information_needed", "deferred", "approved",
            "approved_with_precautions", "not_suitable")
SEVERITIES = ("contraindicated", "defer", "precaution", "suitable")
SORTS = ("severity", "appointment", "submitted", "name")
SEVERITY_RANK = {"suitable": 0, "precaution": 1, "defer": 2, "contraindicated": 3}


class FlagsInDocument(FunctionElement[int]):
    """How many flags an assessment document holds (JSON functions differ per database)."""

    type = Integer()
    inherit_cache = True


@compiles(FlagsInDocument)
def _flags_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"json_array_length({compiler.process(element.clauses, **kw)}, '$.flags')"


@compiles(FlagsInDocument, "postgresql")
def _flags_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    return f"json_array_length(CAST({compiler.process(element.clauses, **kw)} AS json) -> 'flags')"


@dataclass
class QueueFilter:
    """What the queue's filter form asks for (already checked by the form)."""

    status: str = "awaiting_review"
    severity: str = ""
    appointment_from: dt.date | None = None
    appointment_to: dt.date | None = None
    search: str = ""
    sort: str = "severity"
    page: int = 1


@dataclass
class QueueRow:
    intake_id: int
    full_name: str | None
    email: str | None
    appointment_date: dt.date | None
    submitted_at: dt.datetime | None
    status: str
    outcome: str | None
    open_flags: int


@dataclass
class QueuePage:
    rows: list[QueueRow]
    total: int
    page: int
    pages: int
    counts: dict[str, int] = field(default_factory=dict)


def _joined(columns: list[Any]) -> tuple[Select[Any], ColumnElement[str]]:
    latest = (select(Assessment.intake_id, func.max(Assessment.id).label("assessment_id"))
              .group_by(Assessment.intake_id).subquery("latest_assessment"))
    decided = (select(Decision.intake_id, func.max(Decision.id).label("decision_id"))
               .group_by(Decision.intake_id).subquery("latest_decision"))
    status = case(
        (and_(Intake.status == IntakeStatus.DRAFT, Intake.invited_at.is_not(None), Intake.started_at.is_(None)),
         "invited"),
        (Intake.status == IntakeStatus.DRAFT, "draft"),
        # A decision on an earlier assessment does not cover a resubmitted intake.
        (or_(Decision.id.is_(None), Decision.assessment_id != Assessment.id), "awaiting_review"),
        else_=Decision.outcome,
    )
    query = (
        select(*columns, status.label("review_status"))
        .select_from(Intake)
        .outerjoin(latest, latest.c.intake_id == Intake.id)
        .outerjoin(Assessment, Assessment.id == latest.c.assessment_id)
        .outerjoin(decided, decided.c.intake_id == Intake.id)
        .outerjoin(Decision, Decision.id == decided.c.decision_id)
    )
    return query, status


def _filtered(query: Select[Any], wanted: QueueFilter) -> Select[Any]:
    if wanted.severity:
        query = query.where(Assessment.outcome == wanted.severity)
    if wanted.appointment_from:
        query = query.where(Intake.appointment_date >= wanted.appointment_from)
    if wanted.appointment_to:
        query = query.where(Intake.appointment_date <= wanted.appointment_to)
    search = wanted.search.strip().lower()
    if search:
        query = query.where(or_(
            func.lower(Intake.full_name).contains(search, autoescape=True),
            func.lower(Intake.email).contains(search, autoescape=True),
        ))
    return query


def _order(sort: str) -> list[Any]:
    rank = case(SEVERITY_RANK, value=Assessment.outcome, else_=-1)
    no_date_last = Intake.appointment_date.is_(None)
    orders = {
        "severity": [rank.desc(), no_date_last, Intake.appointment_date],
        "appointment": [no_date_last, Intake.appointment_date, rank.desc()],
        "submitted": [Intake.submitted_at.is_(None), Intake.submitted_at],
        "name": [func.lower(Intake.full_name)],
    }
    return [*orders.get(sort, orders["severity"]), Intake.id]


def queue_page(wanted: QueueFilter) -> QueuePage:
    """One page of the queue with its total and the count of every status under the same filters."""
    reviewed = (select(func.count(func.distinct(FlagReview.rule_id)))
                .where(FlagReview.assessment_id == Assessment.id).correlate(Assessment).scalar_subquery())
    open_flags = func.coalesce(FlagsInDocument(Assessment.document), 0) - reviewed
    query, status = _joined([Intake.id, Intake.full_name, Intake.email, Intake.appointment_date,
                             Intake.submitted_at, Assessment.outcome, open_flags.label("open_flags")])
    query = _filtered(query, wanted)

    counted, counted_status = _joined([func.count().label("n")])
    counts = {name: 0 for name in STATUSES}
    for name, number in db.session.execute(
        _filtered(counted, wanted).with_only_columns(counted_status, func.count()).group_by(counted_status)
    ):
        counts[name] = number

    if wanted.status in STATUSES:
        query = query.where(status == wanted.status)
        total = counts[wanted.status]
    else:
        total = sum(counts.values())
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(1, wanted.page), pages)
    rows = [
        QueueRow(row.id, row.full_name, row.email, row.appointment_date, row.submitted_at, row.review_status,
                 row.outcome, max(0, row.open_flags or 0))
        for row in db.session.execute(query.order_by(*_order(wanted.sort)).limit(PER_PAGE)
                                      .offset((page - 1) * PER_PAGE))
    ]
    return QueuePage(rows, total, page, pages, counts)

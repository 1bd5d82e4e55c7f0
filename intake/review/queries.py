"""The review queue: one SQL query for a page of rows, one for the counts per status.

Nothing here loads every intake. Filters and the default sort read only the intake table:
its review_status, latest_outcome and queue_sort columns are kept by the operations
(intake/operations.py, intake/review/service.py), and the composite index
ix_intake_queue (review_status, queue_sort, appointment_date, id) serves the first page in
index order. The open-flag count is computed for the rows of the page only.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select

from ..extensions import db
from ..models import SEVERITY_RANK, Assessment, Intake
from ..protection import matching_search
from .models import FlagReview

PER_PAGE = 25
#: Review statuses in the order the queue lists them; "awaiting_review" is where work waits.
STATUSES = ("awaiting_review", "invited", "draft", "more_information_needed", "deferred", "approved",
            "approved_with_precautions", "not_suitable")
SEVERITIES = ("contraindicated", "defer", "precaution", "suitable")
#: No sort by name: names are encrypted at rest (intake.protection), the database cannot order them.
SORTS = ("severity", "appointment", "submitted")


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


def _filtered(query: Select[Any], wanted: QueueFilter) -> Select[Any]:
    if wanted.severity in SEVERITY_RANK:
        # The same rows as latest_outcome == severity, as a range of the queue index.
        low = (3 - SEVERITY_RANK[wanted.severity]) * 2
        query = query.where(Intake.queue_sort.between(low, low + 1))
    if wanted.appointment_from:
        query = query.where(Intake.appointment_date >= wanted.appointment_from)
    if wanted.appointment_to:
        query = query.where(Intake.appointment_date <= wanted.appointment_to)
    if wanted.search.strip():
        query = query.where(matching_search(wanted.search))
    return query


def _order(sort: str) -> list[Any]:
    no_date_last = Intake.appointment_date.is_(None)
    orders = {
        # queue_sort: most severe first, then booked before not booked (see models.queue_sort_key).
        "severity": [Intake.queue_sort, Intake.appointment_date],
        "appointment": [no_date_last, Intake.appointment_date, Intake.queue_sort],
        "submitted": [Intake.submitted_at.is_(None), Intake.submitted_at],
    }
    return [*orders.get(sort, orders["severity"]), Intake.id]


def _open_flags(intake_ids: list[int]) -> dict[int, int]:
    """Flags of the latest assessment not yet acknowledged or overridden, per intake (one page's rows)."""
    if not intake_ids:
        return {}
    latest = (select(func.max(Assessment.id)).where(Assessment.intake_id.in_(intake_ids))
              .group_by(Assessment.intake_id))
    reviewed = (select(func.count(func.distinct(FlagReview.rule_id)))
                .where(FlagReview.assessment_id == Assessment.id).correlate(Assessment).scalar_subquery())
    open_flags = func.coalesce(Assessment.flag_count, 0) - reviewed
    return {intake_id: max(0, number or 0) for intake_id, number in db.session.execute(
        select(Assessment.intake_id, open_flags).where(Assessment.id.in_(latest)))}


def queue_page(wanted: QueueFilter) -> QueuePage:
    """One page of the queue with its total and the count of every status under the same filters."""
    counts = {name: 0 for name in STATUSES}
    counted = _filtered(select(Intake.review_status, func.count()).select_from(Intake), wanted)
    for name, number in db.session.execute(counted.group_by(Intake.review_status)):
        counts[name] = number

    query = _filtered(select(Intake.id, Intake.full_name, Intake.email, Intake.appointment_date,
                             Intake.submitted_at, Intake.review_status, Intake.latest_outcome), wanted)
    if wanted.status in STATUSES:
        query = query.where(Intake.review_status == wanted.status)
        total = counts[wanted.status]
    else:
        total = sum(counts.values())
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(1, wanted.page), pages)
    found = db.session.execute(query.order_by(*_order(wanted.sort)).limit(PER_PAGE)
                               .offset((page - 1) * PER_PAGE)).all()
    open_flags = _open_flags([row.id for row in found])
    rows = [
        QueueRow(row.id, row.full_name, row.email, row.appointment_date, row.submitted_at, row.review_status,
                 row.latest_outcome, open_flags.get(row.id, 0))
        for row in found
    ]
    return QueuePage(rows, total, page, pages, counts)

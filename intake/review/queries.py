"""What the review pages read: the queue, an intake's review state and history, the override report.

The queue is one SQL query for a page of rows and one for the counts per status; nothing
here loads every intake. Filters and the default sort read only the intake table: its
review_status, latest_outcome and queue_sort columns are kept by the services
(intake/patient/service.py, intake/review/service.py, intake/rulesets/reassess.py), and
the composite index ix_intake_queue (review_status, queue_sort, appointment_date, id)
serves the first page in index order. The open-flag count is computed for the rows of
the page only. The API lists intakes through the same filters and order (filtered_intakes).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVarTuple

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from ..assessment import OUTCOMES
from ..extensions import db
from ..models import (
    Assessment,
    AuditEntry,
    CheckIn,
    Decision,
    FlagAction,
    FlagReview,
    Intake,
    Notification,
    PlanEdit,
    ReviewStatus,
    RuleTally,
    severity_band,
)
from ..protection.search import matching_search
from ..rulesets.assessments import decided_on, latest_plan_edit, latest_reviews

PER_PAGE = 25
#: Review statuses in the order the queue lists them; "awaiting_review" is where work waits.
STATUSES = tuple(ReviewStatus)
#: The outcomes of the rules, most severe first (the core's order).
SEVERITIES = tuple(reversed(OUTCOMES))
#: No sort by name: names are encrypted at rest (intake.protection), the database cannot order them.
SORTS = ("severity", "appointment", "submitted")


@dataclass
class QueueFilter:
    """What the queue's filter form asks for (already checked by the form)."""

    status: str = ReviewStatus.AWAITING_REVIEW
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
    checked_in: bool = False
    flagged_at_check_in: bool = False


@dataclass
class QueuePage:
    rows: list[QueueRow]
    total: int
    page: int
    pages: int
    counts: dict[str, int] = field(default_factory=dict)


_Row = TypeVarTuple("_Row")


def _filtered(query: Select[*_Row], wanted: QueueFilter) -> Select[*_Row]:
    if wanted.severity in OUTCOMES:
        # The same rows as latest_outcome == severity, as a range of the queue index.
        low = severity_band(wanted.severity) * 2
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
    orders: dict[str, list[Any]] = {
        # queue_sort: most severe first, then booked before not booked (see intake.models.queue_sort_key).
        "severity": [Intake.queue_sort, Intake.appointment_date],
        "appointment": [no_date_last, Intake.appointment_date, Intake.queue_sort],
        "submitted": [Intake.submitted_at.is_(None), Intake.submitted_at],
    }
    return [*orders.get(sort, orders["severity"]), Intake.id]


def open_flag_counts(intake_ids: list[int]) -> dict[int, int]:
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
    counts: dict[str, int] = {name: 0 for name in STATUSES}
    counted = _filtered(select(Intake.review_status, func.count()).select_from(Intake), wanted)
    for name, number in db.session.execute(counted.group_by(Intake.review_status)):
        counts[name] = number

    query = _filtered(select(Intake.id, Intake.full_name, Intake.email, Intake.appointment_date,
                             Intake.submitted_at, Intake.review_status, Intake.latest_outcome, Intake.checked_in_at,
                             Intake.flagged_at_check_in), wanted)
    if wanted.status in STATUSES:
        query = query.where(Intake.review_status == wanted.status)
        total = counts[wanted.status]
    else:
        total = sum(counts.values())
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(1, wanted.page), pages)
    found = db.session.execute(query.order_by(*_order(wanted.sort)).limit(PER_PAGE)
                               .offset((page - 1) * PER_PAGE)).all()
    open_flags = open_flag_counts([row.id for row in found])
    rows = [
        QueueRow(row.id, row.full_name, row.email, row.appointment_date, row.submitted_at, row.review_status,
                 row.latest_outcome, open_flags.get(row.id, 0), row.checked_in_at is not None,
                 bool(row.flagged_at_check_in))
        for row in found
    ]
    return QueuePage(rows, total, page, pages, counts)


# --- the API's list and the CSV export: the queue's filters and order, with the latest assessment ---


#: Latest assessment id of each intake (assessments only ever get added).
_latest = select(Assessment.intake_id, func.max(Assessment.id).label("assessment_id")).group_by(
    Assessment.intake_id
).subquery()


@dataclass(frozen=True)
class IntakePage:
    items: list[tuple[Intake, Assessment | None]]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def filtered_intakes(filters: Mapping[str, Any]) -> Select[Intake, Assessment]:
    """(Intake, latest Assessment or None) rows matching ``filters``, in the queue's default order.

    ``filters``: status (the intake's IntakeStatus), review_status (the queue's status), outcome
    (its latest assessment's), appointment_from, appointment_to (dates), q (name or email) — the
    queue's filters, as the API names them.
    """
    wanted = QueueFilter(severity=filters.get("outcome") or "", appointment_from=filters.get("appointment_from"),
                         appointment_to=filters.get("appointment_to"), search=filters.get("q") or "")
    statement = _filtered(
        select(Intake, Assessment)
        .outerjoin(_latest, _latest.c.intake_id == Intake.id)
        .outerjoin(Assessment, Assessment.id == _latest.c.assessment_id),
        wanted,
    )
    if filters.get("status"):
        statement = statement.where(Intake.status == filters["status"])
    if filters.get("review_status"):
        statement = statement.where(Intake.review_status == filters["review_status"])
    return statement.order_by(*_order("severity"))


def page_of(statement: Select[Intake, Assessment], page: int, per_page: int) -> IntakePage:
    """One page of a filtered_intakes() query, with the total count."""
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    rows = db.session.execute(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return IntakePage(items=[(intake, assessment) for intake, assessment in rows], page=page, per_page=per_page,
                      total=total)


# --- one intake under review -------------------------------------------------------------------


#: What a flag's severity asks of the practitioner before approval.
NEEDS_OVERRIDE = frozenset({"defer", "contraindicated"})


@dataclass
class FlagState:
    """One flag of the latest assessment with its latest review, if any."""

    flag: dict[str, Any]
    review: FlagReview | None = None

    @property
    def is_open(self) -> bool:
        return self.review is None

    @property
    def blocks_approval(self) -> bool:
        """Whether this flag stands in the way of approving: the severity ladder at the decision.

        A defer or a contraindication needs an override with a written reason; a precaution
        needs acknowledging (or overriding).
        """
        review = self.review
        if self.flag.get("severity") in NEEDS_OVERRIDE:
            return review is None or review.action != FlagAction.OVERRIDDEN or not review.reason
        return review is None

    @property
    def why_blocking(self) -> str:
        if self.flag.get("severity") in NEEDS_OVERRIDE:
            return "override it with a written reason, or decide to defer or not to treat"
        return "acknowledge it"


@dataclass
class ReviewState:
    """What the record page and the operations need to know about an intake under review."""

    intake: Intake
    assessment: Assessment | None
    #: The flags to review (precaution, defer, contraindicated), most severe first.
    flags: list[FlagState] = field(default_factory=list)
    #: Info items: shown apart, never open, never reviewed.
    info: list[dict[str, Any]] = field(default_factory=list)
    plan_edit: PlanEdit | None = None
    #: Every decision on the intake, newest first (an amendment supersedes the one it names).
    decisions: list[Decision] = field(default_factory=list)

    @property
    def decision(self) -> Decision | None:
        """The decision in force: the latest signed."""
        return self.decisions[0] if self.decisions else None

    @property
    def suggested_plan(self) -> dict[str, Any] | None:
        return (self.assessment.document.get("plan") if self.assessment else None) or None

    @property
    def current_plan(self) -> dict[str, Any] | None:
        """The practitioner's edit when there is one, else the suggestion."""
        return self.plan_edit.plan if self.plan_edit else self.suggested_plan

    @property
    def signed(self) -> bool:
        """A decision was signed on the latest assessment: the record stays as it is until amended."""
        decision = self.decision
        return decision is not None and self.assessment is not None and decided_on(decision.assessment_id,
                                                                                    self.assessment.id)

    @property
    def amending(self) -> bool:
        """A practitioner opened the signed decision for amendment (with a reason): the record may change."""
        decision = self.decision
        return self.signed and decision is not None and self.intake.amending_decision_id == decision.id

    @property
    def locked(self) -> bool:
        """Nothing on the record may change: signed and not being amended."""
        return self.signed and not self.amending

    @property
    def blocking(self) -> list[FlagState]:
        """The flags that stand in the way of approval, most severe first."""
        return [state for state in self.flags if state.blocks_approval]

    @property
    def open_count(self) -> int:
        return sum(1 for state in self.flags if state.is_open)

    def flag(self, rule_id: str) -> FlagState | None:
        return next((state for state in self.flags if state.flag["rule_id"] == rule_id), None)

    def superseded_by(self, decision: Decision) -> Decision | None:
        """The amendment that replaced ``decision``, if any."""
        return next((later for later in self.decisions if later.supersedes_id == decision.id), None)


def review_state(intake: Intake) -> ReviewState:
    """The latest assessment of ``intake`` with its flag reviews, plan edit and decisions."""
    assessment = intake.latest_assessment
    state = ReviewState(intake, assessment)
    state.decisions = list(db.session.scalars(
        select(Decision).where(Decision.intake_id == intake.id).order_by(Decision.id.desc())))
    if assessment is None:
        return state
    reviews = latest_reviews(assessment.id)
    flags = assessment.document.get("flags") or []
    state.flags = [FlagState(flag, reviews.get(flag["rule_id"])) for flag in flags if flag.get("severity") != "info"]
    state.info = [flag for flag in flags if flag.get("severity") == "info"]
    state.plan_edit = latest_plan_edit(assessment.id)
    return state


def previous_assessment(intake: Intake) -> Assessment | None:
    """The assessment before the latest, if any."""
    return intake.assessments[-2] if len(intake.assessments) > 1 else None


def check_ins(intake: Intake) -> list[CheckIn]:
    """The intake's appointment-day check-ins, newest first."""
    return list(db.session.scalars(select(CheckIn).where(CheckIn.intake_id == intake.id).order_by(CheckIn.id.desc())))


def notifications(intake: Intake) -> list[Notification]:
    """The messages sent (or not) to the patient, newest first."""
    return list(db.session.scalars(
        select(Notification).where(Notification.intake_id == intake.id).order_by(Notification.id.desc())))


def history(intake: Intake) -> list[AuditEntry]:
    """Every audit entry of the intake, newest first."""
    return list(db.session.scalars(
        select(AuditEntry).where(AuditEntry.intake_id == intake.id).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    ))


def changes_since(intake: Intake, version: int) -> list[AuditEntry]:
    """The staff changes made after the intake was at ``version``, oldest first."""
    return [
        entry for entry in reversed(history(intake))
        if isinstance(entry.data, Mapping) and isinstance(entry.data.get("version"), int)
        and entry.data["version"] > version
    ]


# --- reports -------------------------------------------------------------------------------------


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
    # A review counts when no later review of the same flag exists: an anti-join on
    # ix_flag_review_latest, where grouping every review by flag sorted them all first.
    later = aliased(FlagReview)
    superseded = (select(later.id).where(later.assessment_id == FlagReview.assessment_id,
                                         later.rule_id == FlagReview.rule_id, later.id > FlagReview.id).exists())
    counted = (select(FlagReview.rule_id, FlagReview.action, func.count())
               .where(~superseded).group_by(FlagReview.rule_id, FlagReview.action))
    for rule_id, action, number in db.session.execute(counted):
        row = rows.setdefault(rule_id, RuleOverrides(rule_id))
        if action == FlagAction.OVERRIDDEN:
            row.overridden += number
        else:
            row.acknowledged += number
    return sorted(rows.values(), key=lambda row: (-(row.override_rate or 0), -row.flagged, row.rule_id))

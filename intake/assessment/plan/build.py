"""Building a session plan: protocols per goal, adjusted by the answers, combined into one dated series.

``protocols.build(facts, flags, outcome, defer_until, on)`` turns one intake's facts and
flags into a :class:`~.model.Plan`: the protocols its goals call for, the adjustments its
answers trigger, one combined series, and a dated schedule. Everything is deterministic:
dates come from the facts and the ``on`` passed in, never from the clock. The rules for
combining and scheduling are documented in docs/rules.md, "Protocols and plan"; the code
follows that text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import MISSING as MISSING_FIELD
from dataclasses import fields as dataclass_fields
from operator import attrgetter
from typing import Any, Final

from ...answers.areas import within
from ..dates import long_date
from ..facts import MISSING, Catalogue, Facts
from ..fastpath import batch_test
from ..model import Flag, construct
from .model import (
    AREA_ORDER,
    DEFAULT_EVENT_WINDOW_DAYS,
    Active,
    Adjustment,
    AppliedAdjustment,
    AreaDepth,
    ExcludedActive,
    Plan,
    PlannedActive,
    PlannedProtocol,
    Protocol,
    Session,
    TraceEntry,
    plain_number,
)

# --- building a plan --------------------------------------------------------------------------


class _Draft:
    """One protocol while adjustments change it; every change is recorded for the trace."""

    __slots__ = ("protocol", "position", "goals", "areas", "actives", "sessions", "sessions_steps", "sessions_by",
                 "interval_min", "interval_min_by", "interval_default", "depth_max", "depth_by",
                 "first_max", "first_by", "excluded")

    def __init__(self, protocol: Protocol, position: int, goals: tuple[str, ...], areas: list[str],
                 first_step: str):
        """The protocol as written, for the goals and areas of this patient."""
        self.protocol = protocol
        #: Where the protocol is in Protocols.protocols.
        self.position = position
        self.goals = goals
        self.areas = areas
        self.actives: list[Active] = list(protocol.actives)
        self.sessions: int = protocol.sessions_default
        self.sessions_steps = [first_step]
        self.sessions_by = [protocol.id]
        self.interval_min: int = protocol.interval_min
        self.interval_min_by: str = protocol.id
        self.interval_default: int = protocol.interval_default
        self.depth_max: float = protocol.depth_max
        self.depth_by = [protocol.id]
        self.first_max: float | None = None
        self.first_by: str | None = None
        self.excluded: list[ExcludedActive] = []


def _first_step(protocol: Protocol) -> str:
    return f"{protocol.id} default {protocol.sessions_default}"


#: The facts build() reads, in the order Protocols._read returns them.
_READ: Final = ("about.appointment_date", "goals.goals", "goals.areas", "goals.other_goal", "events.next_on")
_by_sessions = attrgetter("sessions")
_by_interval_default = attrgetter("interval_default")
_by_interval_min = attrgetter("interval_min")


class Protocols:
    """The compiled protocol file: protocols in priority order, adjustments in file order."""

    def __init__(
        self,
        protocols: Iterable[Protocol],
        adjustments: Iterable[Adjustment] = (),
        *,
        event_window_days: int = DEFAULT_EVENT_WINDOW_DAYS,
        flags_index: int | None = None,
        file: str = "",
    ):
        self.protocols: tuple[Protocol, ...] = tuple(protocols)
        self.adjustments: tuple[Adjustment, ...] = tuple(adjustments)
        self.event_window_days = event_window_days
        #: Where the fired rule ids go in the values adjustments are tested on.
        self.flags_index = flags_index
        self.file = file
        self._by_id = {p.id: p for p in self.protocols}
        # Worked out once per file rather than once per plan: each protocol with its goals as
        # a set and the areas it treats in AREA_ORDER; its first trace step; the trace entries
        # that name its own numbers; each goal's protocol (the first in priority order, as
        # for_goal says); each adjustment's protocols as a set.
        named = frozenset(a for p in self.protocols for a in p.areas)
        self._choices = tuple(
            (position, p, frozenset(p.goals), tuple(a for a in AREA_ORDER if _treats(p.areas, a, named)))
            for position, p in enumerate(self.protocols)
        )
        self._choices_steps = tuple(_first_step(p) for p in self.protocols)
        self._fixed_trace = tuple(_ProtocolTrace(p) for p in self.protocols)
        #: Adjusted protocols by (position, goals, areas, adjustments applied), and series by
        #: their adjusted protocols (see _adjust and _combine).
        self._adjusted: dict[tuple[Any, ...], _Adjusted] = {}
        self._series: dict[tuple[_Adjusted, ...], _Series] = {}
        self._goal_protocol: dict[str, Protocol] = {}
        for p in self.protocols:
            for goal in p.goals:
                self._goal_protocol.setdefault(goal, p)
        self._scopes = tuple((a, frozenset(a.protocols)) for a in self.adjustments)
        #: Plans before their dates, by (goals, areas, other goal, what the adjustments decided).
        self._courses: dict[tuple[Any, ...], _Course] = {}
        #: The fast path of the adjustments' conditions (see _decide).
        self._batch = batch_test(
            [a.when for a in self.adjustments], range(len(self.adjustments)),
            [None if a.if_unanswered == "skip" else -1 - number for number, a in enumerate(self.adjustments)],
        )
        #: (catalogue, indexes of _READ in it): facts from another catalogue look them up again.
        self._read_in: tuple[Catalogue, tuple[int | None, ...]] | None = None

    def __repr__(self) -> str:
        return f"<Protocols {len(self.protocols)} protocols, {len(self.adjustments)} adjustments>"

    def protocol(self, protocol_id: str) -> Protocol:
        """The protocol called ``protocol_id``; KeyError if there is none."""
        return self._by_id[protocol_id]

    def for_goal(self, goal: str) -> Protocol | None:
        """The protocol that serves ``goal``, if any."""
        return next((p for p in self.protocols if goal in p.goals), None)

    def _read(self, facts: Facts) -> list[Any]:
        """``[facts.get(name) for name in _READ]``, with the indexes looked up once per catalogue."""
        catalogue = facts.catalogue
        known = self._read_in
        if known is None or known[0] is not catalogue:
            specs = [catalogue.get(name) for name in _READ]
            known = self._read_in = (catalogue, tuple(None if s is None else s.index for s in specs))
        values = facts.values
        size = len(values)
        return [MISSING if index is None or index >= size else values[index] for index in known[1]]

    def build(
        self,
        facts: Facts,
        flags: Sequence[Flag],
        outcome: str,
        defer_until: dt.date | None,
        on: dt.date,
        *,
        events: Iterable[dt.date] | None = None,
        fast: bool = True,
    ) -> Plan:
        """The suggested plan for one intake (``events``: every event date, else the next one).

        ``fast=False`` builds it the plain way: every adjustment through the evaluator,
        nothing taken from the memos (what the fast path is tested equal to).
        """
        appointment, goals, areas, other_goal, next_event = self._read(facts)
        booked = isinstance(appointment, dt.date)
        reference = appointment if booked else on
        if outcome == "contraindicated":
            blocking = [f.rule_id for f in flags if f.severity == "contraindicated"]
            return _plan(
                status="no_schedule", reference_date=reference,
                reason=f"contraindicated ({', '.join(blocking)}): practitioner to discuss",
                notes=("Practitioner to discuss: no plan or schedule is suggested.",),
                first_session_reason="no schedule: contraindicated, practitioner to discuss",
            )
        goals, areas = _strings(goals), _strings(areas)
        # The course depends on the goals and areas as sets; only the notes about goals no
        # protocol serves and areas none treats follow the patient's order (see _notes).
        key = (frozenset(goals), frozenset(areas), self._decide(facts, flags, fast))
        course = self._courses.get(key) if fast else None
        if course is None:
            course = self._course(*key, fast=fast)
            if fast:
                _remember(self._courses, key, course, COURSE_MEMO_LIMIT)
        other = other_goal.strip() if isinstance(other_goal, str) and other_goal.strip() else None
        notes = course.notes_for(goals, areas, other)
        series = course.series
        if series is None:
            return _plan(
                status="no_schedule", reference_date=reference,
                reason="no protocol fits the goals and areas chosen: practitioner to plan",
                first_session_reason="no schedule: no protocol fits, practitioner to plan",
                notes=notes, adjustments=course.applied, no_numbing_cream=course.no_numbing,
                excluded_actives=course.excluded,
            )
        if events is not None:
            event_dates = sorted(set(events))
        else:
            event_dates = [next_event] if isinstance(next_event, dt.date) else []
        return self._schedule(series, course, notes, reference, booked, flags, outcome, defer_until, event_dates)

    def _course(
        self, goals: frozenset[str], areas: frozenset[str], decided: tuple[Any, ...], *, fast: bool,
    ) -> _Course:
        """Everything of a plan before it is dated: it depends only on the goals and areas chosen
        and what the adjustments decided, so the fast path remembers it by them."""
        head: list[str] = []
        picks = self._choose(goals, areas, head)
        middle: list[str] = []
        drafts, applied, no_numbing = self._adjust(picks, decided, middle, fast=fast)
        # Reported even for a protocol that drops out: it explains why it did.
        excluded = tuple(e for d in drafts for e in d.excluded)
        kept = self._drop_empty(drafts, middle)
        series = None
        if kept:
            series = self._series.get(kept) if fast else None
            if series is None:
                series = self._combine(kept)
                if fast:
                    _remember(self._series, kept, series)
        unserved = frozenset(goal for goal in goals if goal not in self._goal_protocol)
        treated = frozenset(area for d in kept for area in d.areas)
        return _Course(tuple(head), tuple(middle), series, unserved, treated, tuple(applied), no_numbing, excluded)

    # -- choosing protocols -----------------------------------------------------------------

    def _choose(
        self, goals: frozenset[str], areas: frozenset[str], notes: list[str]
    ) -> list[tuple[int, tuple[str, ...], tuple[str, ...]]]:
        """The protocols for these goals and areas: (position, goals served, areas treated)."""
        picks = []
        for position, protocol, serves, treatable in self._choices:  # file order is the priority order
            if serves.isdisjoint(goals):
                continue
            served = tuple(g for g in protocol.goals if g in goals)
            treated = tuple(a for a in treatable if a in areas)
            if not treated:
                notes.append(
                    f"Goal {', '.join(served)} ({protocol.id}) treats {', '.join(protocol.areas)}, "
                    "and none of these areas was chosen: practitioner to confirm the areas."
                )
                continue
            picks.append((position, served, treated))
        return picks

    # -- adjustments ------------------------------------------------------------------------
    #
    # What adjustments do to one protocol depends only on that protocol, the goals it serves,
    # the areas it treats and which adjustments are applied to it; the
    # adjusted protocols (_Adjusted, with the notes each adjustment wrote about it) are
    # remembered by exactly that, and shared by the plans that have them (they are never
    # changed once made). The notes are put back in adjustment order, each adjustment's protocols in priority order.

    def _values(self, facts: Facts, flags: Sequence[Flag]) -> list[Any]:
        """The facts' values with the ids of the rules that fired in the ``flags.fired`` slot."""
        values = facts.values
        index = self.flags_index
        if index is None:
            return values
        # A question ("not answered, ask") is not a rule that fired.
        fired = tuple([f.rule_id for f in flags if not f.unanswered])  # not f.is_question
        if len(values) == index:
            return [*values, fired]
        values = list(values)
        values.extend([MISSING] * (index + 1 - len(values)))
        values[index] = fired
        return values

    def _decide(self, facts: Facts, flags: Sequence[Flag], fast: bool) -> tuple[Any, ...]:
        """What each adjustment decides, for the ones that do something, in file order:
        ``(number, True)`` (its condition holds) or ``(number, (if_unanswered, the unanswered
        facts))`` (unknown, and ask or fire)."""
        values = self._values(facts, flags)
        adjustments = self.adjustments
        if fast:
            results = self._batch(values)
        else:
            results = []
            for number, adjustment in enumerate(adjustments):
                result = adjustment.when.evaluate(values)
                if result is None:
                    if adjustment.if_unanswered != "skip":
                        results.append((-1 - number, None))
                elif result is not False:
                    results.append((number, result))
        decided: list[Any] = []
        for tag, _result in results:
            if tag >= 0:
                decided.append((tag, True))
                continue
            adjustment = adjustments[-1 - tag]
            condition = adjustment.when
            missing = ", ".join(condition.unanswered(condition.trace(values)))
            decided.append((-1 - tag, (adjustment.if_unanswered, missing)))
        return tuple(decided)

    def _adjust(
        self, picks: list[tuple[int, tuple[str, ...], tuple[str, ...]]], decisions: tuple[Any, ...],
        notes: list[str], *, fast: bool,
    ) -> tuple[list[_Adjusted], list[AppliedAdjustment], bool]:
        ids = [self.protocols[position].id for position, _, _ in picks]
        # Per adjustment that applies to a protocol of this plan: the positions in picks it applies to.
        decided: list[tuple[int, Adjustment, list[int], Any]] = []
        for number, decision in decisions:
            adjustment, only = self._scopes[number]
            scope = [i for i, pid in enumerate(ids) if pid in only] if only else list(range(len(ids)))
            if scope:
                decided.append((number, adjustment, scope, decision))
        drafts = []
        for i, (position, served, treated) in enumerate(picks):
            # The adjustments applied to it ("ask" ones are not; "fire" ones are).
            applying = tuple(number for number, _, scope, decision in decided
                             if i in scope and (decision is True or decision[0] == "fire"))
            key = (position, served, treated, applying)
            draft = self._adjusted.get(key) if fast else None
            if draft is None:
                draft = self._make_adjusted(key)
                if fast:
                    _remember(self._adjusted, key, draft)
            drafts.append(draft)
        applied: list[AppliedAdjustment] = []
        no_numbing = False
        for number, adjustment, scope, decision in decided:
            if decision is not True:
                answer, missing = decision
                if answer == "ask":
                    notes.append(f"Not answered ({missing}), so not applied: {adjustment.reason} "
                                 f"Ask the patient [{adjustment.id}].")
                    continue
                # fire: applied on the safe side; say so, or its note would read as a fact.
                notes.append(f"Not answered ({missing}), so applied to be safe: {adjustment.reason} "
                             f"Ask the patient [{adjustment.id}].")
            for i in scope:
                notes += drafts[i].notes.get(number, ())
            if adjustment.effects.note:
                notes.append(f"{adjustment.effects.note.strip()} [{adjustment.id}]")
            no_numbing = no_numbing or adjustment.effects.no_numbing_cream
            applied.append(AppliedAdjustment(adjustment.id, adjustment.reason, adjustment.source,
                                             tuple(ids[i] for i in scope)))
        return drafts, applied, no_numbing

    def _make_adjusted(self, key: tuple[Any, ...]) -> _Adjusted:
        position, served, treated, applying = key
        protocol = self.protocols[position]
        draft = _Adjusted(protocol, position, served, list(treated), self._choices_steps[position])
        for number in applying:
            written: list[str] = []
            _apply_to(self.adjustments[number], draft, written)
            if written:
                draft.notes[number] = tuple(written)
        return draft

    @staticmethod
    def _drop_empty(drafts: list[_Adjusted], notes: list[str]) -> tuple[_Adjusted, ...]:
        kept = []
        for draft in drafts:
            if not draft.areas:
                notes.append(f"{draft.protocol.id}: every area it would treat was removed: "
                             "practitioner to plan.")
            elif not draft.actives:
                notes.append(f"{draft.protocol.id}: every active was left out: no product is suggested "
                             f"for {', '.join(draft.areas)}; practitioner to choose.")
            else:
                kept.append(draft)
        return tuple(kept)

    # -- combining --------------------------------------------------------------------------
    #
    # One series from the adjusted protocols, before any date: it depends only on them, so
    # it is remembered by them (the very objects: an _Adjusted is equal only to itself, and
    # the memo key keeps it alive) and shared by every plan with the same protocols.

    def _combine(self, drafts: tuple[_Adjusted, ...]) -> _Series:
        series = _Series()
        trace = series.trace
        for d in drafts:
            trace[f"sessions.{d.protocol.id}"] = TraceEntry(tuple(d.sessions_by), "; ".join(d.sessions_steps))
        # Sessions: the longest course among the protocols, each already within its own min-max.
        longest = max(drafts, key=_by_sessions)  # max() keeps the first: priority breaks ties
        series.sessions = sessions = longest.sessions
        steps = "; ".join(longest.sessions_steps)
        trace["sessions"] = TraceEntry(tuple(longest.sessions_by), f"the longest course: {steps}")
        series.interval, trace["interval_days"] = _interval(list(drafts))
        present = {a for d in drafts for a in d.areas}
        series.areas = areas = tuple(a for a in AREA_ORDER if a in present)
        fixed = self._fixed_trace
        series.depth_mm = {area: _depth(area, list(drafts), trace, fixed) for area in areas}
        maintenance = min(drafts, key=lambda d: d.protocol.maintenance_interval_days)
        series.maintenance_days = maintenance.protocol.maintenance_interval_days
        trace["maintenance_interval_days"] = fixed[maintenance.position].maintenance
        series.maintenance_on = fixed[maintenance.position].maintenance_on
        for d in drafts:
            if d.sessions < sessions:
                series.notes.append(f"{d.protocol.id} is a course of {d.sessions} sessions: "
                                    f"{', '.join(d.areas)} can stop after session {d.sessions}.")
        series.actives = _actives(list(drafts))
        series.protocols = tuple(
            PlannedProtocol(d.protocol.id, d.protocol.label, d.goals, tuple(d.areas), d.sessions, d.protocol.source)
            for d in drafts
        )
        series.downtime = _unique(d.protocol.downtime for d in drafts)
        series.after_effects = _unique(e for d in drafts for e in d.protocol.after_effects)
        series.counselling = _unique(c for d in drafts for c in d.protocol.counselling)
        # Session n treats the areas of the protocols whose course has n sessions or more.
        # That changes only after a protocol's last session: worked out once per course length
        # (up to the shortest course, every protocol is in: those are all the ``areas``).
        lengths = sorted({d.sessions for d in drafts})
        series.session_areas.append((lengths[0], areas))
        for length in lengths[1:]:
            still = {a for d in drafts if d.sessions >= length for a in d.areas}
            series.session_areas.append((length, tuple(a for a in AREA_ORDER if a in still)))
        return series

    # -- dating -----------------------------------------------------------------------------

    def _schedule(
        self,
        series: _Series,
        course: _Course,
        all_notes: tuple[str, ...],
        reference: dt.date,
        booked: bool,
        flags: Sequence[Flag],
        outcome: str,
        defer_until: dt.date | None,
        events: list[dt.date],
    ) -> Plan:
        trace = dict(series.trace)  # every plan its own mappings: a Plan's dicts are its own
        first, constraint, why, first_by = _first_date(reference, booked, flags, outcome, defer_until, events,
                                                       self.event_window_days)
        schedule: tuple[Session, ...] = ()
        maintenance_on = None
        notes = course.unique_notes(all_notes)
        if first is not None:
            trace["first_session_on"] = TraceEntry(first_by, why)
            clashes: list[str] = []
            schedule = self._sessions(first, series, events, clashes)
            if clashes:
                notes = _unique((*all_notes, *clashes))
            maintenance_on = schedule[-1].on + dt.timedelta(days=series.maintenance_days)
            if series.maintenance_on is not None:
                trace["maintenance_on"] = series.maintenance_on
        return _plan(
            status="proposed",
            reference_date=reference,
            protocols=series.protocols,
            actives=series.actives,
            excluded_actives=course.excluded,
            sessions=series.sessions,
            interval_days=series.interval,
            areas=series.areas,
            depth_mm=dict(series.depth_mm),
            maintenance_interval_days=series.maintenance_days,
            maintenance_on=maintenance_on,
            downtime=series.downtime,
            after_effects=series.after_effects,
            counselling=series.counselling,
            no_numbing_cream=course.no_numbing,
            notes=notes,
            adjustments=course.applied,
            schedule=schedule,
            first_session_reason=why,
            first_session_constraint=constraint,
            trace=trace,
        )

    def _sessions(
        self, first: dt.date, series: _Series, events: list[dt.date], notes: list[str]
    ) -> tuple[Session, ...]:
        window = self.event_window_days
        found = []
        every = dt.timedelta(days=series.interval)
        day = first
        lengths = iter(series.session_areas)
        length, areas = next(lengths)
        for number in range(1, series.sessions + 1):
            while length < number:
                length, areas = next(lengths)
            if number > 1:
                day += every  # first + interval * (number - 1) days
            warning = None
            # Only session 1 is moved; later ones keep the fixed interval and carry a warning.
            clash = next((e for e in events if 0 <= (e - day).days < window), None) if events else None
            if clash is not None:
                warning = (f"{(clash - day).days} days before the event on {long_date(clash)}: bruising may "
                           "still show; the practitioner may move this session.")
                notes.append(f"Session {number} falls within {window} days before the event "
                             f"on {long_date(clash)}.")
            found.append(construct(Session, number=number, on=day, areas=areas, warning=warning))
        return tuple(found)


#: At most this many adjusted protocols (and series) are remembered per protocol file; a
#: full memo keeps what it has and remembers nothing more (see rules.MEMO_LIMIT).
PLAN_MEMO_LIMIT: Final = 2048


#: Plans before their dates are remembered by goals, areas and adjustments decided: more
#: combinations than adjusted protocols, each small (its tuples are shared).
COURSE_MEMO_LIMIT: Final = 8192


def _remember(memo: dict[Any, Any], key: Any, value: Any, limit: int = PLAN_MEMO_LIMIT) -> Any:
    if len(memo) < limit:
        memo[key] = value
    return value


class _Adjusted(_Draft):
    """A protocol once adjusted, with the notes each adjustment wrote about it (by its number)."""

    __slots__ = ("notes",)

    def __init__(self, protocol: Protocol, position: int, goals: tuple[str, ...], areas: list[str],
                 first_step: str):
        super().__init__(protocol, position, goals, areas, first_step)
        self.notes: dict[int, tuple[str, ...]] = {}


class _Course:
    """A plan before it is dated: its notes, adjustments applied, actives left out, the series (or None).

    The notes come in the order docs/rules.md gives: the protocols' (``head``), then one
    per goal no protocol serves and the patient's other goal, then the adjustments'
    (``middle``), then one per chosen area no protocol treats, then the series' notes.
    The two in the patient's order are made per plan by ``notes_for``.
    """

    __slots__ = ("head", "middle", "series", "unserved", "treated", "applied", "no_numbing", "excluded",
                 "_plain", "_plain_unique")

    def __init__(self, head: tuple[str, ...], middle: tuple[str, ...], series: _Series | None,
                 unserved: frozenset[str], treated: frozenset[str], applied: tuple[AppliedAdjustment, ...],
                 no_numbing: bool, excluded: tuple[ExcludedActive, ...]):
        self.head = head
        self.middle = middle
        self.series = series
        self.unserved = unserved
        self.treated = treated
        self.applied = applied
        self.no_numbing = no_numbing
        self.excluded = excluded
        #: The notes when every goal is served, every area treated and no other goal given.
        self._plain = (*head, *middle, *(series.notes if series is not None else ()))
        self._plain_unique = _unique(self._plain)

    def notes_for(self, goals: tuple[str, ...], areas: tuple[str, ...], other: str | None) -> tuple[str, ...]:
        """The notes of a plan with these goals and areas (in the patient's order) and other goal."""
        unserved = [f"No protocol serves the goal {goal}: practitioner to plan."
                    for goal in goals if goal in self.unserved] if self.unserved else []
        if other is not None:
            unserved.append(f"Other goal in the patient's words: \u201c{other}\u201d: practitioner to plan.")
        treated = self.treated
        untreated = [f"Area {area} was chosen but no protocol in the plan treats it: practitioner to plan."
                     for area in areas if area not in treated]
        if not unserved and not untreated:
            return self._plain
        tail = self.series.notes if self.series is not None else ()
        return (*self.head, *unserved, *self.middle, *untreated, *tail)

    def unique_notes(self, notes: tuple[str, ...]) -> tuple[str, ...]:
        """``notes`` (from notes_for) without repeats."""
        return self._plain_unique if notes is self._plain else _unique(notes)


class _Series:
    """The combined series of a plan before any date (shared: read only once made)."""

    __slots__ = ("trace", "sessions", "interval", "areas", "depth_mm", "maintenance_days", "maintenance_on",
                 "notes", "actives", "protocols", "downtime", "after_effects", "counselling", "session_areas")

    def __init__(self) -> None:
        self.trace: dict[str, TraceEntry] = {}
        self.sessions = 0
        self.interval = 0
        self.areas: tuple[str, ...] = ()
        self.depth_mm: dict[str, AreaDepth] = {}
        self.maintenance_days = 0
        #: The trace entry of the maintenance date.
        self.maintenance_on: TraceEntry | None = None
        #: Notes of the combination (after those of the adjustments).
        self.notes: list[str] = []
        self.actives: tuple[PlannedActive, ...] = ()
        self.protocols: tuple[PlannedProtocol, ...] = ()
        self.downtime: tuple[str, ...] = ()
        self.after_effects: tuple[str, ...] = ()
        self.counselling: tuple[str, ...] = ()
        #: (course length, the areas of the sessions up to it), shortest first.
        self.session_areas: list[tuple[int, tuple[str, ...]]] = []


def _plan_defaults() -> dict[str, Any]:
    defaults = {}
    for item in dataclass_fields(Plan):
        if item.default is not MISSING_FIELD:
            defaults[item.name] = item.default
    return defaults


#: Plan's defaults (its two dict fields are made fresh by _plan).
_PLAN_DEFAULTS: Final = _plan_defaults()


_PLAN_FIELDS: Final = frozenset(item.name for item in dataclass_fields(Plan))


def _plan(**given: Any) -> Plan:
    """``Plan(**given)``, built as model.construct builds: a Plan has 22 fields, each one
    ``object.__setattr__`` call in the dataclass's own ``__init__``."""
    if not _PLAN_FIELDS.issuperset(given):
        raise TypeError(f"Plan has no field {sorted(set(given) - _PLAN_FIELDS)}")
    plan = object.__new__(Plan)
    data = plan.__dict__
    data.update(_PLAN_DEFAULTS)
    data["depth_mm"], data["trace"] = {}, {}  # its default_factory fields
    data.update(given)
    return plan


def _strings(value: Any) -> tuple[str, ...]:
    """A list fact as a tuple of strings (unanswered: empty)."""
    if value is MISSING or value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    return tuple(map(str, value))


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for item in items if item))


def _apply_to(adjustment: Adjustment, draft: _Draft, notes: list[str]) -> None:
    """Change the draft as the adjustment says; each number remembers who changed it."""
    effects, tag = adjustment.effects, adjustment.id
    protocol = draft.protocol
    if effects.sessions_default is not None:
        wanted = effects.sessions_default
        target = {"min": protocol.sessions_min, "max": protocol.sessions_max}.get(str(wanted), wanted)
        _set_sessions(draft, int(target), f"{tag} sets {wanted}", tag)
    if effects.sessions is not None:
        _set_sessions(draft, draft.sessions + effects.sessions, f"{tag} {effects.sessions:+d}", tag)
    if effects.interval_days_min is not None and effects.interval_days_min > draft.interval_min:
        draft.interval_min, draft.interval_min_by = effects.interval_days_min, tag
        draft.interval_default = max(draft.interval_default, draft.interval_min)
    if effects.depth_mm_max is not None and effects.depth_mm_max < draft.depth_max:
        if effects.depth_mm_max < protocol.depth_min:
            notes.append(f"{tag} asks for at most {plain_number(effects.depth_mm_max)} mm, but {protocol.id} "
                         f"starts at {plain_number(protocol.depth_min)} mm: practitioner to decide the depth.")
        # Never outside the protocol's own range: the clinic wrote that range as safe.
        draft.depth_max = max(protocol.depth_min, effects.depth_mm_max)
        draft.depth_by.append(tag)
    if effects.first_session_depth_mm_max is not None and (
        draft.first_max is None or effects.first_session_depth_mm_max < draft.first_max
    ):
        draft.first_max, draft.first_by = effects.first_session_depth_mm_max, tag
    if effects.exclude_actives:
        for active in draft.actives:
            if active.id in effects.exclude_actives:
                draft.excluded.append(ExcludedActive(active.id, active.label, protocol.id, tag,
                                                     adjustment.reason))
        draft.actives = [a for a in draft.actives if a.id not in effects.exclude_actives]
    if effects.remove_areas:
        removed = [a for a in draft.areas if within(a, effects.remove_areas)]
        draft.areas = [a for a in draft.areas if not within(a, effects.remove_areas)]
        if removed:
            notes.append(f"{', '.join(removed)} removed from {protocol.id}: {adjustment.reason} [{tag}]")


def _set_sessions(draft: _Draft, wanted: int, step: str, tag: str) -> None:
    protocol = draft.protocol
    bounded = min(max(wanted, protocol.sessions_min), protocol.sessions_max)
    if bounded != wanted:
        step += f", kept within {protocol.sessions_min}-{protocol.sessions_max}"
    draft.sessions_steps.append(f"{step} \u2192 {bounded}")
    if tag not in draft.sessions_by:
        draft.sessions_by.append(tag)
    draft.sessions = bounded


def _interval(drafts: list[_Draft]) -> tuple[int, TraceEntry]:
    """The shortest default interval, but never below any protocol's minimum."""
    shortest = min(drafts, key=_by_interval_default)
    strictest = max(drafts, key=_by_interval_min)
    if strictest.interval_min > shortest.interval_default:
        raised_by = tuple(dict.fromkeys((strictest.protocol.id, strictest.interval_min_by)))
        how = (f"shortest default {shortest.interval_default} days ({shortest.protocol.id}) raised to the "
               f"minimum {strictest.interval_min} days ({strictest.interval_min_by})")
        return strictest.interval_min, TraceEntry(raised_by, how)
    by: list[str] = [shortest.protocol.id]
    how = f"the shortest default interval: {shortest.protocol.id} {shortest.interval_default} days"
    if shortest.interval_default != shortest.protocol.interval_default:
        how += f" (raised from {shortest.protocol.interval_default} by {shortest.interval_min_by})"
        by.append(shortest.interval_min_by)
    return shortest.interval_default, TraceEntry(tuple(by), how)


def _treats(listed: Iterable[str], area: str, named: frozenset[str]) -> bool:
    """Whether a protocol listing ``listed`` treats ``area``: an area it lists, and a part of one
    (the cheeks, for a face protocol) unless some protocol lists that part by name (under_eye
    has its own protocol, so a face protocol does not treat it)."""
    return area in listed or (area not in named and within(area, listed))


def _depth(area: str, drafts: list[_Draft], trace: dict[str, TraceEntry],
           fixed: tuple[_ProtocolTrace, ...]) -> AreaDepth:
    """The depth range of the shallowest protocol treating ``area`` (ties: priority order)."""
    candidates = [d for d in drafts if area in d.areas]
    chosen = min(candidates, key=_shallowest) if len(candidates) > 1 else candidates[0]
    protocol = chosen.protocol
    trace[f"depth_mm.{area}.min"] = fixed[chosen.position].depth_min
    how = fixed[chosen.position].depth_max
    if chosen.depth_max != protocol.depth_max:
        how += f", capped to {plain_number(chosen.depth_max)} mm by {', '.join(chosen.depth_by[1:])}"
    if len(candidates) > 1:
        how += " (the shallowest of " + ", ".join(d.protocol.id for d in candidates) + ")"
    trace[f"depth_mm.{area}.max"] = TraceEntry(tuple(chosen.depth_by), how)
    first = None
    if chosen.first_max is not None and chosen.first_max < chosen.depth_max:
        first = max(protocol.depth_min, chosen.first_max)
        trace[f"depth_mm.{area}.first_session_max"] = TraceEntry(
            (chosen.first_by or protocol.id,), f"first session at most {plain_number(first)} mm ({chosen.first_by})")
    return AreaDepth(protocol.depth_min, chosen.depth_max, protocol.id, first)


def _shallowest(draft: _Draft) -> tuple[float, float]:
    return draft.depth_max, draft.protocol.depth_min


class _ProtocolTrace:
    """The trace entries (and words) about one protocol's own numbers, written once."""

    __slots__ = ("depth_min", "depth_max", "maintenance", "maintenance_on")

    def __init__(self, protocol: Protocol):
        self.depth_min = TraceEntry((protocol.id,), f"{protocol.id} minimum {plain_number(protocol.depth_min)} mm")
        self.depth_max = f"{protocol.id} maximum {plain_number(protocol.depth_max)} mm"
        days = protocol.maintenance_interval_days
        self.maintenance = TraceEntry((protocol.id,), f"the shortest maintenance interval: {protocol.id} {days} days")
        self.maintenance_on = TraceEntry((protocol.id,), f"{days} days after the last session")


def _actives(drafts: list[_Draft]) -> tuple[PlannedActive, ...]:
    """The union of the protocols' actives in protocol order, each naming its protocols."""
    kept: dict[str, PlannedActive] = {}
    for d in drafts:
        for active in d.actives:
            if active.id in kept:
                known = kept[active.id]
                kept[active.id] = PlannedActive(known.id, known.label, (*known.protocols, d.protocol.id))
            else:
                kept[active.id] = PlannedActive(active.id, active.label, (d.protocol.id,))
    return tuple(kept.values())


def _first_date(
    reference: dt.date,
    booked: bool,
    flags: Sequence[Flag],
    outcome: str,
    defer_until: dt.date | None,
    events: list[dt.date],
    window: int,
) -> tuple[dt.date | None, str, str, tuple[str, ...]]:
    """Session 1: the reference date, pushed by a deferral, then out of any event's bruising window.

    Returns (date or None, constraint word, reason in words, the ids behind it).
    """
    first = reference
    by: tuple[str, ...]
    if booked:
        constraint, why, by = "appointment", "appointment date", ("about.appointment_date",)
    else:
        constraint, why, by = "assessment_date", "not booked: from the assessment date", ("on",)
    if outcome == "defer":
        deferring = [f for f in flags if f.severity == "defer"]
        undated = [f.rule_id for f in deferring if f.lifts_on is None]
        if defer_until is None or undated:
            named = ", ".join(undated or [f.rule_id for f in deferring]) or "a deferral"
            why = f"deferral: {named} has no date it lifts: date to be set by the practitioner"
            return None, "undated", why, tuple(undated)
        if defer_until > first:
            first = defer_until
            lifting = tuple(f.rule_id for f in deferring if f.lifts_on == defer_until) or ("defer_until",)
            constraint, by = "deferral", lifting
            why = f"deferral: {', '.join(lifting)} lifts on {long_date(defer_until)}"
    for event in events:  # sorted, so moving past one event can only meet later ones
        if 0 <= (event - first).days < window:
            first = event + dt.timedelta(days=1)
            constraint, by = "event", ("events", "scheduling.event_window_days")
            why = (f"event: bruising window before the event on {long_date(event)} ({window} days): "
                   f"moved to the day after, {long_date(first)}")
    return first, constraint, why, by



"""Session plans: protocols per goal, adjusted by the answers, combined into one dated series.

``load_protocols(path, catalogue)`` reads and checks ``rules/protocols.yaml`` (every
problem at once, as :class:`RulesetInvalid` with file, line, column and id) and returns
:class:`Protocols`. ``protocols.build(facts, flags, outcome, defer_until, on)`` turns one
intake's facts and flags into a :class:`Plan`: the protocols its goals call for, the
adjustments its answers trigger, one combined series, and a dated schedule.

Everything is deterministic: dates come from the facts and the ``on`` passed in, never
from the clock. The rules for combining and scheduling are documented in docs/rules.md,
"Protocols and plan"; the code follows that text.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import MISSING as MISSING_FIELD
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from functools import lru_cache
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from ..answers import AREAS, GOALS, values
from .conditions import Condition, compile_condition
from .errors import RuleFileError, RulesetInvalid
from .facts import MISSING, Catalogue, Facts, FieldSpec, suggestion
from .model import Flag, construct
from .rules import english_date
from .source import Located, load_located_file

if TYPE_CHECKING:
    from .medications import Lexicon

#: The extra condition field of adjustments: the ids of the precaution rules that fired.
FLAGS_FIRED: Final = "flags.fired"
#: Useful mesotherapy depth is at most 4 mm; nothing here goes shallower than 1 mm.
DEPTH_LIMITS: Final = (1.0, 4.0)
DEFAULT_EVENT_WINDOW_DAYS: Final = 14
PROTOCOL_ID: Final = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")
ADJUSTMENT_ID: Final = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
#: A source is an S-number of the domain brief, or ``rule-default`` (a clinic decision).
SOURCE_REF: Final = re.compile(r"^(S[0-9]+|rule-default)$")
IF_UNANSWERED: Final = ("ask", "fire", "skip")
STATUSES: Final = ("proposed", "no_schedule")
AREA_ORDER: Final = tuple(values(AREAS))
GOAL_ORDER: Final = tuple(values(GOALS))
#: Effect keys of an adjustment; at least one must be present.
EFFECT_KEYS: Final = (
    "sessions", "sessions_default", "interval_days_min", "depth_mm_max", "first_session_depth_mm_max",
    "remove_areas", "exclude_actives", "no_numbing_cream", "note",
)


# --- the protocol file, compiled --------------------------------------------------------------


@dataclass(frozen=True)
class Active:
    """One active ingredient a protocol uses."""

    id: str
    label: str


@dataclass(frozen=True)
class Protocol:
    """The suggested course for one family of goals, as the clinic wrote it."""

    id: str
    label: str
    goals: tuple[str, ...]
    actives: tuple[Active, ...]
    sessions_min: int
    sessions_max: int
    sessions_default: int
    interval_min: int
    interval_default: int
    depth_min: float
    depth_max: float
    areas: tuple[str, ...]
    maintenance_interval_days: int
    downtime: str
    after_effects: tuple[str, ...]
    counselling: tuple[str, ...]
    source: tuple[str, ...]
    line: int = 0


@dataclass(frozen=True)
class Effects:
    """What an adjustment changes; None or empty means "leaves it alone"."""

    sessions: int | None = None  # a change: +1, -1
    sessions_default: int | str | None = None  # a number, or "min" / "max" of the protocol
    interval_days_min: int | None = None
    depth_mm_max: float | None = None
    first_session_depth_mm_max: float | None = None
    remove_areas: tuple[str, ...] = ()
    exclude_actives: tuple[str, ...] = ()
    no_numbing_cream: bool = False
    note: str | None = None


@dataclass(frozen=True)
class Adjustment:
    """A change to the plan when a condition on the answers (or fired flags) holds."""

    id: str
    when: Condition
    reason: str
    source: tuple[str, ...]
    effects: Effects
    #: Only these protocols (empty: every protocol in the plan).
    protocols: tuple[str, ...] = ()
    if_unanswered: str = "ask"
    line: int = 0


# --- the plan ---------------------------------------------------------------------------------


def _num(value: float) -> int | float:
    """Whole millimetres as ints in JSON (2, not 2.0); halves stay floats."""
    return int(value) if float(value).is_integer() else value


@dataclass(frozen=True)
class TraceEntry:
    """Where one number of the plan came from: the protocol and adjustment ids, and how."""

    by: tuple[str, ...]
    how: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {"by": list(self.by), "how": self.how}


@dataclass(frozen=True)
class PlannedProtocol:
    """A protocol in the plan: the goals it serves, the areas it treats, its own session count."""

    id: str
    label: str
    goals: tuple[str, ...]
    areas: tuple[str, ...]
    sessions: int
    source: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {"id": self.id, "label": self.label, "goals": list(self.goals), "areas": list(self.areas),
                "sessions": self.sessions, "source": list(self.source)}


@dataclass(frozen=True)
class PlannedActive:
    """An active in the plan, with the protocols that call for it."""

    id: str
    label: str
    protocols: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {"id": self.id, "label": self.label, "protocols": list(self.protocols)}


@dataclass(frozen=True)
class ExcludedActive:
    """An active a protocol would use, left out by an adjustment."""

    id: str
    label: str
    protocol: str
    by: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {"id": self.id, "label": self.label, "protocol": self.protocol, "by": self.by,
                "reason": self.reason}


@dataclass(frozen=True)
class AreaDepth:
    """The depth range for one area, from the protocol that treats it (the shallowest)."""

    min: float
    max: float
    protocol: str
    #: A lower maximum for the first session only, or None.
    first_session_max: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        first = None if self.first_session_max is None else _num(self.first_session_max)
        return {"min": _num(self.min), "max": _num(self.max), "protocol": self.protocol,
                "first_session_max": first}


@dataclass(frozen=True)
class AppliedAdjustment:
    """An adjustment that changed this plan."""

    id: str
    reason: str
    source: tuple[str, ...]
    protocols: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {"id": self.id, "reason": self.reason, "source": list(self.source),
                "protocols": list(self.protocols)}


@dataclass(frozen=True)
class Session:
    """One proposed session: its number, date, the areas treated, and any warning."""

    number: int
    on: dt.date
    areas: tuple[str, ...]
    warning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {"number": self.number, "on": self.on.isoformat(), "areas": list(self.areas),
                "warning": self.warning}


@dataclass(frozen=True)
class Plan:
    """A suggested session plan for the practitioner to review and edit."""

    status: str
    reference_date: dt.date
    #: Why there is no schedule (status no_schedule); empty otherwise.
    reason: str = ""
    protocols: tuple[PlannedProtocol, ...] = ()
    actives: tuple[PlannedActive, ...] = ()
    excluded_actives: tuple[ExcludedActive, ...] = ()
    sessions: int = 0
    interval_days: int = 0
    areas: tuple[str, ...] = ()
    depth_mm: Mapping[str, AreaDepth] = field(default_factory=dict)
    maintenance_interval_days: int | None = None
    maintenance_on: dt.date | None = None
    downtime: tuple[str, ...] = ()
    after_effects: tuple[str, ...] = ()
    counselling: tuple[str, ...] = ()
    no_numbing_cream: bool = False
    notes: tuple[str, ...] = ()
    adjustments: tuple[AppliedAdjustment, ...] = ()
    schedule: tuple[Session, ...] = ()
    #: What set the first date, in words ("appointment date", "deferral: … lifts on …").
    first_session_reason: str = ""
    #: The same, as one word: appointment | assessment_date | deferral | event | undated | none.
    first_session_constraint: str = "none"
    trace: Mapping[str, TraceEntry] = field(default_factory=dict)

    @property
    def first_session_on(self) -> dt.date | None:
        """The date of session 1, or None when nothing is dated."""
        return self.schedule[0].on if self.schedule else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (ISO dates) to store with the assessment."""
        return {
            "status": self.status,
            "reason": self.reason,
            "reference_date": self.reference_date.isoformat(),
            "protocols": [p.to_dict() for p in self.protocols],
            "actives": [a.to_dict() for a in self.actives],
            "excluded_actives": [a.to_dict() for a in self.excluded_actives],
            "sessions": self.sessions,
            "interval_days": self.interval_days,
            "areas": list(self.areas),
            "depth_mm": {area: depth.to_dict() for area, depth in self.depth_mm.items()},
            "maintenance": {
                "interval_days": self.maintenance_interval_days,
                "on": self.maintenance_on.isoformat() if self.maintenance_on else None,
            },
            "downtime": list(self.downtime),
            "after_effects": list(self.after_effects),
            "counselling": list(self.counselling),
            "no_numbing_cream": self.no_numbing_cream,
            "notes": list(self.notes),
            "adjustments": [a.to_dict() for a in self.adjustments],
            "schedule": [s.to_dict() for s in self.schedule],
            "first_session_reason": self.first_session_reason,
            "first_session_constraint": self.first_session_constraint,
            "trace": {key: entry.to_dict() for key, entry in self.trace.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        """Read back what to_dict wrote."""

        def day(value: Any) -> dt.date | None:
            return dt.date.fromisoformat(value) if value else None

        maintenance = data.get("maintenance") or {}
        return cls(
            status=data["status"],
            reason=data.get("reason", ""),
            reference_date=dt.date.fromisoformat(data["reference_date"]),
            protocols=tuple(
                PlannedProtocol(p["id"], p["label"], tuple(p["goals"]), tuple(p["areas"]), p["sessions"],
                                tuple(p["source"]))
                for p in data.get("protocols") or ()
            ),
            actives=tuple(PlannedActive(a["id"], a["label"], tuple(a["protocols"]))
                          for a in data.get("actives") or ()),
            excluded_actives=tuple(ExcludedActive(a["id"], a["label"], a["protocol"], a["by"], a["reason"])
                                   for a in data.get("excluded_actives") or ()),
            sessions=data.get("sessions", 0),
            interval_days=data.get("interval_days", 0),
            areas=tuple(data.get("areas") or ()),
            depth_mm={area: AreaDepth(d["min"], d["max"], d["protocol"], d.get("first_session_max"))
                      for area, d in (data.get("depth_mm") or {}).items()},
            maintenance_interval_days=maintenance.get("interval_days"),
            maintenance_on=day(maintenance.get("on")),
            downtime=tuple(data.get("downtime") or ()),
            after_effects=tuple(data.get("after_effects") or ()),
            counselling=tuple(data.get("counselling") or ()),
            no_numbing_cream=bool(data.get("no_numbing_cream")),
            notes=tuple(data.get("notes") or ()),
            adjustments=tuple(
                AppliedAdjustment(a["id"], a["reason"], tuple(a["source"]), tuple(a["protocols"]))
                for a in data.get("adjustments") or ()
            ),
            schedule=tuple(Session(s["number"], dt.date.fromisoformat(s["on"]), tuple(s["areas"]),
                                   s.get("warning"))
                           for s in data.get("schedule") or ()),
            first_session_reason=data.get("first_session_reason", ""),
            first_session_constraint=data.get("first_session_constraint", "none"),
            trace={key: TraceEntry(tuple(t["by"]), t["how"]) for key, t in (data.get("trace") or {}).items()},
        )


@lru_cache(maxsize=4096)
def long_date(day: dt.date) -> str:
    """'Friday 4 December 2026': plan reasons may span a year, so the year is always said."""
    # Remembered (bounded): the same few dates are named in plan after plan.
    return f"{english_date(day)} {day.year}"


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
        self._choices = tuple(
            (position, p, frozenset(p.goals), tuple(a for a in AREA_ORDER if a in p.areas))
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
    ) -> Plan:
        """The suggested plan for one intake (``events``: every event date, else the next one)."""
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
        notes: list[str] = []
        chosen_areas = _strings(areas)
        picks = self._choose(_strings(goals), chosen_areas, other_goal, notes)
        drafts, applied, no_numbing = self._adjust(picks, facts, flags, notes)
        # Reported even for a protocol that drops out: it explains why it did.
        excluded = tuple(e for d in drafts for e in d.excluded)
        drafts = self._drop_empty(drafts, notes)
        treated = {area for d in drafts for area in d.areas}
        for area in chosen_areas:
            if area not in treated:
                notes.append(f"Area {area} was chosen but no protocol in the plan treats it: "
                             "practitioner to plan.")
        if not drafts:
            return _plan(
                status="no_schedule", reference_date=reference,
                reason="no protocol fits the goals and areas chosen: practitioner to plan",
                first_session_reason="no schedule: no protocol fits, practitioner to plan",
                notes=tuple(notes), adjustments=tuple(applied), no_numbing_cream=no_numbing,
                excluded_actives=excluded,
            )
        if events is not None:
            event_dates = sorted(set(events))
        else:
            event_dates = [next_event] if isinstance(next_event, dt.date) else []
        series = self._series.get(drafts)
        if series is None:
            series = _remember(self._series, drafts, self._combine(drafts))
        notes += series.notes
        return self._schedule(series, applied, no_numbing, excluded, notes, reference, booked, flags, outcome,
                              defer_until, event_dates)

    # -- choosing protocols -----------------------------------------------------------------

    def _choose(
        self, goals: tuple[str, ...], areas: tuple[str, ...], other: Any, notes: list[str]
    ) -> list[tuple[int, tuple[str, ...], tuple[str, ...]]]:
        """The protocols for these goals and areas: (position, goals served, areas treated)."""
        picks = []
        chosen = set(goals)
        for position, protocol, serves, treatable in self._choices:  # file order is the priority order
            if serves.isdisjoint(chosen):
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
        for goal in goals:
            if goal not in self._goal_protocol:
                notes.append(f"No protocol serves the goal {goal}: practitioner to plan.")
        if isinstance(other, str) and other.strip():
            notes.append(f"Other goal in the patient's words: \u201c{other.strip()}\u201d: "
                         "practitioner to plan.")
        return picks

    # -- adjustments ------------------------------------------------------------------------
    #
    # What adjustments do to one protocol depends only on that protocol, the goals it serves,
    # the areas it treats and which adjustments are applied to it; the
    # adjusted protocols (_Adjusted, with the notes each adjustment wrote about it) are
    # remembered by exactly that, and shared by the plans that have them (they are never
    # changed once made). The notes are put back in adjustment order, each adjustment's protocols in priority order.

    def _values(self, facts: Facts, flags: Sequence[Flag]) -> list[Any]:
        values = list(facts.values)
        if self.flags_index is not None:
            values.extend([MISSING] * (self.flags_index + 1 - len(values)))
            # A question ("not answered, ask") is not a rule that fired.
            values[self.flags_index] = tuple(f.rule_id for f in flags if not f.unanswered)  # is_question
        return values

    def _adjust(
        self, picks: list[tuple[int, tuple[str, ...], tuple[str, ...]]], facts: Facts, flags: Sequence[Flag],
        notes: list[str],
    ) -> tuple[list[_Adjusted], list[AppliedAdjustment], bool]:
        values = self._values(facts, flags)
        ids = [self.protocols[position].id for position, _, _ in picks]
        # What each adjustment decided: None (nothing), or True / "fire" (applied), "ask";
        # and, per adjustment, the positions in picks it applies to.
        decided: list[tuple[int, Adjustment, list[int], Any]] = []
        for number, (adjustment, only) in enumerate(self._scopes):
            scope = [i for i, pid in enumerate(ids) if pid in only] if only else list(range(len(ids)))
            if not scope:
                continue
            result = adjustment.when.test(values)
            if result is False or (result is None and adjustment.if_unanswered == "skip"):
                continue
            if result is None:
                missing = ", ".join(adjustment.when.unanswered_in(values))
                decided.append((number, adjustment, scope, (adjustment.if_unanswered, missing)))
            else:
                decided.append((number, adjustment, scope, True))
        drafts = []
        for i, (position, served, treated) in enumerate(picks):
            # The adjustments applied to it ("ask" ones are not; "fire" ones are).
            applying = tuple(number for number, _, scope, decision in decided
                             if i in scope and (decision is True or decision[0] == "fire"))
            key = (position, served, treated, applying)
            draft = self._adjusted.get(key)
            if draft is None:
                draft = _remember(self._adjusted, key, self._make_adjusted(key))
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
        applied: list[AppliedAdjustment],
        no_numbing: bool,
        excluded: tuple[ExcludedActive, ...],
        notes: list[str],
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
        if first is not None:
            trace["first_session_on"] = TraceEntry(first_by, why)
            schedule = self._sessions(first, series, events, notes)
            maintenance_on = schedule[-1].on + dt.timedelta(days=series.maintenance_days)
            trace["maintenance_on"] = series.maintenance_on
        return _plan(
            status="proposed",
            reference_date=reference,
            protocols=series.protocols,
            actives=series.actives,
            excluded_actives=excluded,
            sessions=series.sessions,
            interval_days=series.interval,
            areas=series.areas,
            depth_mm=dict(series.depth_mm),
            maintenance_interval_days=series.maintenance_days,
            maintenance_on=maintenance_on,
            downtime=series.downtime,
            after_effects=series.after_effects,
            counselling=series.counselling,
            no_numbing_cream=no_numbing,
            notes=_unique(notes),
            adjustments=tuple(applied),
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


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> Any:
    if len(memo) < PLAN_MEMO_LIMIT:
        memo[key] = value
    return value


class _Adjusted(_Draft):
    """A protocol once adjusted, with the notes each adjustment wrote about it (by its number)."""

    __slots__ = ("notes",)

    def __init__(self, protocol: Protocol, position: int, goals: tuple[str, ...], areas: list[str],
                 first_step: str):
        super().__init__(protocol, position, goals, areas, first_step)
        self.notes: dict[int, tuple[str, ...]] = {}


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
    return tuple(str(v) for v in value)


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
            notes.append(f"{tag} asks for at most {_num(effects.depth_mm_max)} mm, but {protocol.id} "
                         f"starts at {_num(protocol.depth_min)} mm: practitioner to decide the depth.")
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
        removed = [a for a in draft.areas if a in effects.remove_areas]
        draft.areas = [a for a in draft.areas if a not in effects.remove_areas]
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
        by = tuple(dict.fromkeys((strictest.protocol.id, strictest.interval_min_by)))
        how = (f"shortest default {shortest.interval_default} days ({shortest.protocol.id}) raised to the "
               f"minimum {strictest.interval_min} days ({strictest.interval_min_by})")
        return strictest.interval_min, TraceEntry(by, how)
    by = [shortest.protocol.id]
    how = f"the shortest default interval: {shortest.protocol.id} {shortest.interval_default} days"
    if shortest.interval_default != shortest.protocol.interval_default:
        how += f" (raised from {shortest.protocol.interval_default} by {shortest.interval_min_by})"
        by.append(shortest.interval_min_by)
    return shortest.interval_default, TraceEntry(tuple(by), how)


def _depth(area: str, drafts: list[_Draft], trace: dict[str, TraceEntry],
           fixed: tuple[_ProtocolTrace, ...]) -> AreaDepth:
    """The depth range of the shallowest protocol treating ``area`` (ties: priority order)."""
    candidates = [d for d in drafts if area in d.areas]
    chosen = min(candidates, key=_shallowest) if len(candidates) > 1 else candidates[0]
    protocol = chosen.protocol
    trace[f"depth_mm.{area}.min"] = fixed[chosen.position].depth_min
    how = fixed[chosen.position].depth_max
    if chosen.depth_max != protocol.depth_max:
        how += f", capped to {_num(chosen.depth_max)} mm by {', '.join(chosen.depth_by[1:])}"
    if len(candidates) > 1:
        how += " (the shallowest of " + ", ".join(d.protocol.id for d in candidates) + ")"
    trace[f"depth_mm.{area}.max"] = TraceEntry(tuple(chosen.depth_by), how)
    first = None
    if chosen.first_max is not None and chosen.first_max < chosen.depth_max:
        first = max(protocol.depth_min, chosen.first_max)
        trace[f"depth_mm.{area}.first_session_max"] = TraceEntry(
            (chosen.first_by or protocol.id,), f"first session at most {_num(first)} mm ({chosen.first_by})")
    return AreaDepth(protocol.depth_min, chosen.depth_max, protocol.id, first)


def _shallowest(draft: _Draft) -> tuple[float, float]:
    return draft.depth_max, draft.protocol.depth_min


class _ProtocolTrace:
    """The trace entries (and words) about one protocol's own numbers, written once."""

    __slots__ = ("depth_min", "depth_max", "maintenance", "maintenance_on")

    def __init__(self, protocol: Protocol):
        self.depth_min = TraceEntry((protocol.id,), f"{protocol.id} minimum {_num(protocol.depth_min)} mm")
        self.depth_max = f"{protocol.id} maximum {_num(protocol.depth_max)} mm"
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


# --- loading and checking the file ------------------------------------------------------------


def _messages(what: str) -> dict[str, str]:
    return {"required": "missing", "null": f"needs {what}, not nothing (null)", "invalid": f"needs {what}"}


def _text(required: bool = True) -> fields.String:
    return fields.String(required=required, validate=validate.Length(min=1, error="needs some text"),
                         error_messages=_messages("text"))


def _whole(minimum: int, what: str = "a whole number", required: bool = True) -> fields.Integer:
    return fields.Integer(
        required=required, strict=True,
        validate=validate.Range(min=minimum, error=f"needs {what} of at least {minimum}"),
        error_messages=_messages(f"{what} of at least {minimum}"),
    )


def _depth_field(required: bool = True) -> fields.Float:
    low, high = DEPTH_LIMITS
    what = f"a depth in mm from {_num(low)} to {_num(high)}"
    return fields.Float(
        required=required,
        validate=validate.Range(min=low, max=high, error=f"needs {what}"),
        error_messages=_messages(what),
    )


def _choices(choices: tuple[str, ...], what: str, minimum: int = 1) -> fields.List:
    shown = ", ".join(choices)
    return fields.List(
        fields.String(
            validate=validate.OneOf(choices, error=f"{{input}} is not a known {what}; use one of: {shown}"),
            error_messages=_messages(f"a {what}"),
        ),
        validate=validate.Length(min=minimum, error=f"needs at least {minimum} {what}"),
        error_messages=_messages(f"a list of {what}s, such as [{choices[0]}]"),
    )


def _texts(required: bool = True) -> fields.List:
    return fields.List(
        fields.String(validate=validate.Length(min=1, error="needs some text"),
                      error_messages=_messages("text")),
        required=required, error_messages=_messages("a list of texts, each starting with '- '"),
    )


def _sources() -> fields.List:
    return fields.List(
        fields.String(
            validate=validate.Regexp(SOURCE_REF, error="must be an S-number such as S10, or rule-default"),
            error_messages=_messages("a source such as S10"),
        ),
        required=True,
        validate=validate.Length(min=1, error="needs at least one source, such as [S10] or [rule-default]"),
        error_messages=_messages("a list of sources, such as [S10, S22]"),
    )


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _ActiveSchema(_Strict):
    id = fields.String(required=True, validate=validate.Regexp(PROTOCOL_ID, error="must be lowercase_words"),
                       error_messages=_messages("an id such as vitamin_c"))
    label = _text()


class _SessionsSchema(_Strict):
    min = _whole(1)
    max = _whole(1)
    default = _whole(1)

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if not data["min"] <= data["default"] <= data["max"]:
            raise ValidationError("needs min <= default <= max", "default")


class _IntervalSchema(_Strict):
    min = _whole(1, "a whole number of days")
    default = _whole(1, "a whole number of days")

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if data["default"] < data["min"]:
            raise ValidationError("needs default >= min", "default")


class _DepthSchema(_Strict):
    min = _depth_field()
    max = _depth_field()

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if data["max"] < data["min"]:
            raise ValidationError("needs min <= max", "max")


class _ProtocolSchema(_Strict):
    id = fields.String(required=True,
                       validate=validate.Regexp(PROTOCOL_ID, error="must be lowercase words joined by '_', "
                                                                   "like hydration_glow"),
                       error_messages=_messages("an id such as hydration_glow"))
    label = _text()
    goals = _choices(GOAL_ORDER, "goal")
    actives = fields.List(fields.Nested(_ActiveSchema), required=True,
                          validate=validate.Length(min=1, error="needs at least one active"),
                          error_messages=_messages("a list of actives, each with id and label"))
    sessions = fields.Nested(_SessionsSchema, required=True, error_messages=_messages("{min, max, default}"))
    interval_days = fields.Nested(_IntervalSchema, required=True, error_messages=_messages("{min, default}"))
    depth_mm = fields.Nested(_DepthSchema, required=True, error_messages=_messages("{min, max}"))
    areas = _choices(AREA_ORDER, "area")
    maintenance_interval_days = _whole(1, "a whole number of days")
    downtime = _text()
    after_effects = _texts()
    counselling = _texts(required=False)
    source = _sources()


def _sessions_default(value: Any) -> None:
    if value in ("min", "max"):
        return
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return
    raise ValidationError("needs a whole number of sessions, or min or max (of each protocol)")


class _AdjustmentSchema(_Strict):
    id = fields.String(required=True,
                       validate=validate.Regexp(ADJUSTMENT_ID, error="must be lowercase words joined by '-', "
                                                                     "like sensitive-skin"),
                       error_messages=_messages("an id such as sensitive-skin"))
    protocols = fields.List(fields.String(error_messages=_messages("a protocol id")),
                            error_messages=_messages("a list of protocol ids, such as [under_eye]"))
    when = fields.Raw(required=True, error_messages=_messages("a condition"))
    if_unanswered = fields.String(
        validate=validate.OneOf(IF_UNANSWERED, error="must be one of: " + ", ".join(IF_UNANSWERED)),
        error_messages=_messages("one of: " + ", ".join(IF_UNANSWERED)))
    reason = _text()
    source = _sources()
    sessions = fields.Integer(
        strict=True,
        validate=validate.Range(min=-10, max=10, error="needs a change from -10 to +10, such as +1"),
        error_messages=_messages("a change in sessions, such as +1 or -1"))
    sessions_default = fields.Raw(validate=_sessions_default)
    interval_days_min = _whole(1, "a whole number of days", required=False)
    depth_mm_max = _depth_field(required=False)
    first_session_depth_mm_max = _depth_field(required=False)
    remove_areas = _choices(AREA_ORDER, "area")
    exclude_actives = fields.List(fields.String(error_messages=_messages("an active id")),
                                  validate=validate.Length(min=1, error="needs at least one active id"),
                                  error_messages=_messages("a list of active ids, such as [tranexamic_acid]"))
    no_numbing_cream = fields.Boolean(
        validate=validate.Equal(True, error="is true or left out"), error_messages=_messages("true"))
    note = _text(required=False)

    @validates_schema
    def _some_effect(self, data: dict[str, Any], **_: Any) -> None:
        if not any(key in data for key in EFFECT_KEYS):
            raise ValidationError("an adjustment needs at least one effect: " + ", ".join(EFFECT_KEYS))


class _SchedulingSchema(_Strict):
    event_window_days = _whole(0, "a whole number of days", required=False)
    event_window_source = _sources()


_TOP_KEYS: Final = ("scheduling", "protocols", "adjustments")


def _flatten(messages: Any, path: tuple[str | int, ...] = ()) -> Iterable[tuple[tuple[str | int, ...], str]]:
    """Marshmallow's nested messages as (path, message) pairs."""
    if isinstance(messages, Mapping):
        for key, inner in messages.items():
            yield from _flatten(inner, path if key == "_schema" else (*path, key))
    elif isinstance(messages, list):
        for message in messages:
            yield from _flatten(message, path)
    else:
        yield path, str(messages)


class _Loader:
    """Collects every problem of the file, each placed at the line and column it concerns."""

    def __init__(self, file: str, catalogue: Catalogue, rule_ids: Iterable[str] | None):
        self.file = file
        self.errors: list[RuleFileError] = []
        self.rule_ids = frozenset(rule_ids or ())
        #: Protocol id -> its active ids, as written (filled while reading the protocols).
        self.declared: dict[str, set[str]] = {}
        self.catalogue, self.flags_index = _with_flags_field(catalogue, self.rule_ids if rule_ids is not None
                                                             else None)

    def error(self, at: Located, item_id: str | None, message: str) -> None:
        self.errors.append(RuleFileError(self.file, at.line, at.column, item_id, message))

    def validate(self, schema: Schema, node: Located, item_id: str | None) -> dict[str, Any] | None:
        """Load ``node`` with ``schema``; every message is placed at the node it concerns."""
        try:
            loaded: dict[str, Any] = schema.load(node.plain())
            return loaded
        except ValidationError as invalid:
            known = list(schema.fields)
            for path, message in _flatten(invalid.messages):
                dotted = ".".join(str(p) for p in path if isinstance(p, str)) or "this entry"
                if message == "Unknown field.":
                    key = str(path[-1])
                    parent = node.locate(path[:-1])
                    hint = suggestion(key, known) or f" (known keys: {', '.join(known)})"
                    self.error(parent.key_node(key), item_id, f"unknown key '{key}'{hint}")
                elif message == "missing":
                    self.error(node.locate(path[:-1]), item_id, f"missing '{dotted}'")
                else:
                    self.error(node.locate(path), item_id, f"'{dotted}' {message}" if path else message)
            return None

    def load(self, root: Located) -> Protocols | None:
        if not root.is_mapping:
            self.error(root, None, "the protocol file is a mapping with 'protocols:' and 'adjustments:'")
            return None
        for key, _node in root.entries():
            if key not in _TOP_KEYS:
                hint = suggestion(key, list(_TOP_KEYS)) or f" (known keys: {', '.join(_TOP_KEYS)})"
                self.error(root.key_node(key), None, f"unknown key '{key}'{hint}")
        window = DEFAULT_EVENT_WINDOW_DAYS
        scheduling = root.get("scheduling")
        if scheduling is not None:
            data = self.validate(_SchedulingSchema(), scheduling, None)
            if data is not None:
                window = data.get("event_window_days", window)
        protocols = self.protocols(root.get("protocols"), root)
        adjustments = self.adjustments(root.get("adjustments"), protocols)
        if self.errors:
            return None
        return Protocols(protocols, adjustments, event_window_days=window, flags_index=self.flags_index,
                         file=self.file)

    def protocols(self, node: Located | None, root: Located) -> list[Protocol]:
        if node is None or not node.is_sequence or not node.value:
            self.error(node or root, None,
                       "'protocols' needs a list of protocols, each starting with '- id:'")
            return []
        found: list[Protocol] = []
        ids: dict[str, int] = {}
        goals: dict[str, str] = {}
        labels: dict[str, tuple[str, int]] = {}
        for item in node.items_():
            item_id = _id_of(item)
            if item_id is not None:
                actives = item.get("actives")
                self.declared[item_id] = {
                    a.get("id").value for a in (actives.items_() if actives is not None else [])
                    if a.get("id") is not None and isinstance(a.get("id").value, str)
                }
            data = self.validate(_ProtocolSchema(), item, item_id) if item.is_mapping else None
            if not item.is_mapping:
                self.error(item, None, "each protocol is a mapping that starts with 'id:'")
            if data is None:
                continue
            where = item.key_node("id")
            if data["id"] in ids:
                self.error(item["id"], item_id,
                           f"duplicate protocol id '{data['id']}' (first on line {ids[data['id']]})")
                continue
            ids[data["id"]] = where.line
            for index, goal in enumerate(data["goals"]):
                if goal in goals:
                    self.error(item["goals"][index], item_id,
                               f"goal {goal} is already served by {goals[goal]}: one protocol per goal")
                goals.setdefault(goal, data["id"])
            for index, active in enumerate(data["actives"]):
                known = labels.setdefault(active["id"], (active["label"], item["actives"][index].line))
                if known[0] != active["label"]:
                    self.error(item["actives"][index], item_id,
                               f"active {active['id']} is labelled '{known[0]}' on line {known[1]}: "
                               "use one label per active")
            found.append(_protocol(data, item.line))
        return found

    def adjustments(self, node: Located | None, protocols: list[Protocol]) -> list[Adjustment]:
        if node is None or (node.is_scalar and node.value is None):
            return []
        if not node.is_sequence:
            self.error(node, None, "'adjustments' needs a list of adjustments, each starting with '- id:'")
            return []
        # Names as written, even in protocols with errors: one mistake should not make every
        # adjustment that mentions that protocol look wrong too.
        actives_of = self.declared
        protocol_ids = list(actives_of)
        every_active = sorted(set().union(*actives_of.values())) if actives_of else []
        found: list[Adjustment] = []
        seen: dict[str, int] = {}
        for item in node.items_():
            if not item.is_mapping:
                self.error(item, None, "each adjustment is a mapping that starts with 'id:'")
                continue
            item_id = _id_of(item)
            before = len(self.errors)
            data = self.validate(_AdjustmentSchema(), item, item_id)
            condition = None
            if item.get("when") is not None:
                condition = compile_condition(item["when"], self.catalogue, file=self.file, rule_id=item_id,
                                              errors=self.errors)
            if data is None:
                continue
            if data["id"] in seen:
                self.error(item["id"], item_id, f"duplicate adjustment id '{data['id']}' (first on line "
                                                f"{seen[data['id']]})")
            seen.setdefault(data["id"], item.line)
            if data["id"] in self.rule_ids:
                self.error(item["id"], item_id,
                           f"'{data['id']}' is also a precaution rule id: choose another id")
            scope = data.get("protocols") or []
            for index, protocol_id in enumerate(scope):
                if protocol_id not in protocol_ids:
                    hint = suggestion(protocol_id, protocol_ids)
                    self.error(item["protocols"][index], item_id, f"unknown protocol '{protocol_id}'{hint}")
            usable = set().union(*(actives_of.get(p, set()) for p in (scope or protocol_ids)))
            for index, active_id in enumerate(data.get("exclude_actives") or []):
                if active_id not in every_active:
                    hint = suggestion(active_id, every_active)
                    self.error(item["exclude_actives"][index], item_id, f"unknown active '{active_id}'{hint}")
                elif active_id not in usable:
                    self.error(item["exclude_actives"][index], item_id,
                               f"no protocol this adjustment applies to uses {active_id}")
            if condition is None or len(self.errors) > before:
                continue
            found.append(_adjustment(data, condition, item.line))
        return found


def _id_of(item: Located) -> str | None:
    node = item.get("id")
    return node.value if node is not None and isinstance(node.value, str) else None


def _protocol(data: Mapping[str, Any], line: int) -> Protocol:
    return Protocol(
        id=data["id"],
        label=data["label"].strip(),
        goals=tuple(data["goals"]),
        actives=tuple(Active(a["id"], a["label"].strip()) for a in data["actives"]),
        sessions_min=data["sessions"]["min"],
        sessions_max=data["sessions"]["max"],
        sessions_default=data["sessions"]["default"],
        interval_min=data["interval_days"]["min"],
        interval_default=data["interval_days"]["default"],
        depth_min=float(data["depth_mm"]["min"]),
        depth_max=float(data["depth_mm"]["max"]),
        areas=tuple(a for a in AREA_ORDER if a in data["areas"]),
        maintenance_interval_days=data["maintenance_interval_days"],
        downtime=data["downtime"].strip(),
        after_effects=tuple(e.strip() for e in data["after_effects"]),
        counselling=tuple(c.strip() for c in data.get("counselling") or ()),
        source=tuple(data["source"]),
        line=line,
    )


def _adjustment(data: Mapping[str, Any], condition: Condition, line: int) -> Adjustment:
    depth = data.get("depth_mm_max")
    first = data.get("first_session_depth_mm_max")
    return Adjustment(
        id=data["id"],
        when=condition,
        reason=data["reason"].strip(),
        source=tuple(data["source"]),
        effects=Effects(
            sessions=data.get("sessions"),
            sessions_default=data.get("sessions_default"),
            interval_days_min=data.get("interval_days_min"),
            depth_mm_max=None if depth is None else float(depth),
            first_session_depth_mm_max=None if first is None else float(first),
            remove_areas=tuple(data.get("remove_areas") or ()),
            exclude_actives=tuple(data.get("exclude_actives") or ()),
            no_numbing_cream=bool(data.get("no_numbing_cream")),
            note=data.get("note"),
        ),
        protocols=tuple(data.get("protocols") or ()),
        if_unanswered=data.get("if_unanswered") or "ask",
        line=line,
    )


def _with_flags_field(catalogue: Catalogue, rule_ids: Iterable[str] | None) -> tuple[Catalogue, int]:
    """A copy of the catalogue with ``flags.fired`` added after every fact (the original is untouched).

    Adjustments may test which precaution rules fired; precaution rules may not (they
    decide the flags), so the field lives only in this copy.
    """
    extended = copy.copy(catalogue)
    extended.fields = dict(catalogue.fields)
    index = max((spec.index for spec in catalogue.fields.values()), default=0) + 1
    choices = tuple(sorted(rule_ids)) if rule_ids is not None else None
    extended.fields[FLAGS_FIRED] = FieldSpec(FLAGS_FIRED, "choice_list", index, choices, vocabulary="rule id",
                                             derived=True)
    return extended, index


def load_protocols(
    path: Path,
    catalogue: Catalogue,
    lexicon: Lexicon | None = None,
    *,
    rule_ids: Iterable[str] | None = None,
    display_name: str | None = None,
) -> Protocols:
    """Load and check a protocol file; RulesetInvalid lists every problem at once."""
    # The lexicon is already folded into the catalogue (medication classes); it is accepted
    # so that callers can pass what the precaution loader has, without a second signature.
    del lexicon
    name = display_name or str(path)
    root = load_located_file(Path(path), name)
    loader = _Loader(name, catalogue, rule_ids)
    protocols = loader.load(root)
    if protocols is None:
        raise RulesetInvalid(loader.errors)
    return protocols

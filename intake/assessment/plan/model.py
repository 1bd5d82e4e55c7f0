"""The session plan as data: the compiled protocol file, and the plan of one intake.

Plain frozen dataclasses. :class:`Protocol` and :class:`Adjustment` are what a protocol
file compiles to (:mod:`.load`); :class:`Plan` is what :mod:`.build` makes of one
intake, with ``to_dict()`` for storing and ``from_dict()`` for reading it back.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ...answers import AREAS, GOALS, values
from ..conditions import Condition
from ..sources import SOURCE_ID

#: The extra condition field of adjustments: the ids of the precaution rules that fired.
FLAGS_FIRED: Final = "flags.fired"
#: Useful mesotherapy depth is at most 4 mm; nothing here goes shallower than 1 mm.
DEPTH_LIMITS: Final = (1.0, 4.0)
DEFAULT_EVENT_WINDOW_DAYS: Final = 14
PROTOCOL_ID: Final = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")
ADJUSTMENT_ID: Final = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
#: A source is the id of an entry of sources.yaml, or ``rule-default`` (a clinic decision).
SOURCE_REF: Final = SOURCE_ID
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


def plain_number(value: float) -> int | float:
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
        first = None if self.first_session_max is None else plain_number(self.first_session_max)
        return {"min": plain_number(self.min), "max": plain_number(self.max), "protocol": self.protocol,
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



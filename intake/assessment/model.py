"""What an assessment is made of: flags, patient instructions and the overall outcome.

Plain frozen dataclasses; ``Assessment.to_dict()`` is what the web shell stores and
``Assessment.from_dict()`` reads a stored one back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final, TypeVar

SEVERITIES: Final = ("info", "precaution", "defer", "contraindicated")
OUTCOMES: Final = ("suitable", "precaution", "defer", "contraindicated")
SEVERITY_RANK: Final = {severity: rank for rank, severity in enumerate(SEVERITIES)}
OUTCOME_RANK: Final = {outcome: rank for rank, outcome in enumerate(OUTCOMES)}


def jsonable(value: Any) -> Any:
    """A fact value as JSON data: dates in ISO form, tuples as lists, unanswered as None."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple, frozenset, set)):
        items = sorted(value) if isinstance(value, (frozenset, set)) else value
        return [jsonable(item) for item in items]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return None  # MISSING


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


_T = TypeVar("_T")
_FIELD_COUNTS: dict[type, int] = {}


def construct(cls: type[_T], /, **values: Any) -> _T:
    """``cls(**values)`` for a frozen dataclass, every field given, at about half the cost.

    A frozen dataclass's ``__init__`` sets each field with its own ``object.__setattr__``
    call; filling the new instance's dict in one step gives the same object in half the
    time. For what the engine makes once per intake (the assessment, a plan's sessions):
    the instance keeps a dict of its own, so objects that live long are better made by
    the class itself. Defaults are not applied, so every field must be given: a field
    added to the class later fails loudly here.
    """
    count = _FIELD_COUNTS.get(cls)
    if count is None:
        count = _FIELD_COUNTS[cls] = len(fields(cls))  # type: ignore[arg-type]
    if len(values) != count:
        raise TypeError(f"construct({cls.__name__}) needs all {count} fields, got {sorted(values)}")
    instance = object.__new__(cls)
    instance.__dict__.update(values)
    return instance


@dataclass(frozen=True)
class Trigger:
    """An answer that made a rule fire: the fact, what it was, and the condition it met."""

    field: str
    value: Any
    condition: str
    #: The medicines behind a medication fact, e.g. ("Eliquis 5mg → doac (apixaban)",).
    evidence: tuple[str, ...] = ()
    #: The test's operator and operand ("at_least", 1), so pages can say the condition in words.
    operator: str = ""
    operand: Any = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {"field": self.field, "value": jsonable(self.value), "condition": self.condition,
                "evidence": list(self.evidence), "operator": self.operator, "operand": jsonable(self.operand)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trigger:
        """Read back what to_dict wrote (values stay in their JSON form; triggers stored before the
        operator was kept read it back from the condition, "field operator operand")."""
        operator = data.get("operator") or ""
        if not operator:
            parts = str(data.get("condition") or "").split(" ", 2)
            operator = parts[1] if len(parts) > 1 else ""
        return cls(data["field"], data.get("value"), data["condition"], tuple(data.get("evidence") or ()),
                   operator, data.get("operand"))


@dataclass(frozen=True)
class Instruction:
    """A dated instruction for the patient, from one rule."""

    rule_id: str
    text: str
    #: The date to start, when the appointment is booked.
    starts_on: dt.date | None
    #: Days before the appointment; None for an instruction with no timing.
    days_before: int | None
    #: The rule's text with its ``{start}`` placeholder, when it has one, so the instruction can
    #: be dated again against another session (intake.assessment.agreed.anchor_instructions).
    template: str | None = None

    def sort_key(self) -> tuple[int, dt.date, int, str]:
        """Undated first, then earliest start (or most days before), then rule id."""
        if self.days_before is None:
            return (0, dt.date.min, 0, self.rule_id)
        return (1, self.starts_on or dt.date.min, -self.days_before, self.rule_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        data: dict[str, Any] = {"rule_id": self.rule_id, "text": self.text,
                                "starts_on": self.starts_on.isoformat() if self.starts_on else None,
                                "days_before": self.days_before}
        if self.template is not None:
            data["template"] = self.template
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Instruction:
        """Read back what to_dict wrote."""
        return cls(data["rule_id"], data["text"], _date(data.get("starts_on")), data.get("days_before"),
                   data.get("template"))


@dataclass(frozen=True)
class Flag:
    """One rule that fired (or could not be decided) for one intake."""

    rule_id: str
    severity: str
    message: str
    source: tuple[str, ...]
    file: str
    line: int
    triggered_by: tuple[Trigger, ...] = ()
    #: Non-empty for an "ask the patient" flag: the facts nobody answered.
    unanswered: tuple[str, ...] = ()
    lifts_on: dt.date | None = None
    instruction: Instruction | None = None
    #: The rule's title, a short line of plain English ("Alcohol in the 48 hours before").
    title: str = ""

    @property
    def is_question(self) -> bool:
        """True for a flag raised because answers are missing (if_unanswered: ask)."""
        return bool(self.unanswered)

    def sort_key(self) -> tuple[int, str]:
        """Most severe first, then by rule id."""
        return (-SEVERITY_RANK[self.severity], self.rule_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "rule_id": self.rule_id,
            "title": self.title,
            "severity": self.severity,
            "message": self.message,
            "source": list(self.source),
            "file": self.file,
            "line": self.line,
            "triggered_by": [t.to_dict() for t in self.triggered_by],
            "unanswered": list(self.unanswered),
            "lifts_on": self.lifts_on.isoformat() if self.lifts_on else None,
            "instruction": self.instruction.to_dict() if self.instruction else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Flag:
        """Read back what to_dict wrote (a flag stored before rules had titles is titled by its rule id)."""
        instruction = data.get("instruction")
        title = data.get("title")
        return cls(
            rule_id=data["rule_id"],
            title=data["rule_id"] if title is None else title,
            severity=data["severity"],
            message=data["message"],
            source=tuple(data.get("source") or ()),
            file=data.get("file", ""),
            line=data.get("line", 0),
            triggered_by=tuple(Trigger.from_dict(t) for t in data.get("triggered_by") or ()),
            unanswered=tuple(data.get("unanswered") or ()),
            lifts_on=_date(data.get("lifts_on")),
            instruction=Instruction.from_dict(instruction) if instruction else None,
        )


def outcome_of(flags: tuple[Flag, ...] | list[Flag]) -> str:
    """The overall outcome: the highest severity above info, else suitable."""
    rank = max((SEVERITY_RANK[f.severity] for f in flags), default=0)
    return OUTCOMES[rank]  # info ranks 0 like suitable: the two ladders line up


def defer_until_of(flags: tuple[Flag, ...] | list[Flag], outcome: str) -> dt.date | None:
    """When deferred: the latest lift date of the defer flags, or None if one has no date."""
    if outcome != "defer":
        return None
    dates = [f.lifts_on for f in flags if f.severity == "defer"]
    if not dates or any(d is None for d in dates):
        return None
    return max(d for d in dates if d is not None)


@dataclass(frozen=True)
class Assessment:
    """The core's verdict on one intake on one date."""

    on: dt.date
    reference_date: dt.date
    outcome: str
    defer_until: dt.date | None
    flags: tuple[Flag, ...]
    instructions: tuple[Instruction, ...]
    ruleset_version: str
    #: The suggested session plan (an ``intake.assessment.plan`` Plan, or its stored dict).
    plan: Any = field(default=None)

    def flag(self, rule_id: str) -> Flag | None:
        """The flag of ``rule_id``, if it fired."""
        return next((f for f in self.flags if f.rule_id == rule_id), None)

    @property
    def rule_ids(self) -> list[str]:
        """The ids of the rules that flagged, in flag order."""
        return [f.rule_id for f in self.flags]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (ISO dates) to store with the intake."""
        plan = self.plan.to_dict() if hasattr(self.plan, "to_dict") else self.plan
        return {
            "on": self.on.isoformat(),
            "reference_date": self.reference_date.isoformat(),
            "outcome": self.outcome,
            "defer_until": self.defer_until.isoformat() if self.defer_until else None,
            "flags": [f.to_dict() for f in self.flags],
            "instructions": [i.to_dict() for i in self.instructions],
            "ruleset_version": self.ruleset_version,
            "plan": plan,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Assessment:
        """Read back a stored assessment (its plan stays a dict)."""
        return cls(
            on=dt.date.fromisoformat(data["on"]),
            reference_date=dt.date.fromisoformat(data["reference_date"]),
            outcome=data["outcome"],
            defer_until=_date(data.get("defer_until")),
            flags=tuple(Flag.from_dict(f) for f in data.get("flags") or ()),
            instructions=tuple(Instruction.from_dict(i) for i in data.get("instructions") or ()),
            ruleset_version=data["ruleset_version"],
            plan=data.get("plan"),
        )

"""A practitioner's changes to a suggested plan: the bounds the protocols allow, and the edited plan.

Pure: plans in their JSON form (Plan.to_dict()), the protocols of the ruleset in force.
The review service stores an edit; carrying an edit over to a new assessment checks it
against the new suggestion's bounds with the same functions.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .build import Protocols

#: Longest interval between sessions a practitioner may set (a sanity bound, not a protocol one).
MAX_INTERVAL_DAYS = 365


@dataclass(frozen=True)
class PlanBounds:
    """What the protocols of a plan allow a practitioner to set."""

    sessions: tuple[int, int]
    interval_min: int
    #: area → (min, max) depth in mm, from the protocol that treats it.
    depth_mm: dict[str, tuple[float, float]]


def plan_bounds(plan: Mapping[str, Any] | None, protocols: Protocols | None) -> PlanBounds | None:
    """The bounds of an editable plan, or None when it has no schedule or its protocols are gone."""
    if not plan or plan.get("status") != "proposed" or protocols is None:
        return None
    try:
        chosen = [protocols.protocol(p["id"]) for p in plan.get("protocols") or []]
        depth = {}
        for area, range_ in (plan.get("depth_mm") or {}).items():
            protocol = protocols.protocol(range_["protocol"])
            depth[area] = (protocol.depth_min, protocol.depth_max)
    except KeyError:
        return None
    if not chosen:
        return None
    # The series is the longest course: it must reach every protocol's minimum, and can
    # go up to the longest maximum (shorter protocols stop earlier in the series).
    sessions = (max(p.sessions_min for p in chosen), max(p.sessions_max for p in chosen))
    return PlanBounds(sessions, max(p.interval_min for p in chosen), depth)


def _mm(value: float) -> str:
    return f"{value:g} mm"


def check_plan(values: Mapping[str, Any], bounds: PlanBounds) -> list[tuple[str | None, str]]:
    """Every way ``values`` leaves the protocols' bounds, as (form field id, message)."""
    problems: list[tuple[str | None, str]] = []
    low, high = bounds.sessions
    if not low <= values["sessions"] <= high:
        problems.append(("sessions", f"Sessions must be from {low} to {high} for the protocols in this plan."))
    if not bounds.interval_min <= values["interval_days"] <= MAX_INTERVAL_DAYS:
        problems.append(("interval_days", f"Days between sessions must be at least {bounds.interval_min} "
                                          f"(the protocols' minimum) and at most {MAX_INTERVAL_DAYS}."))
    for area, (depth_min, depth_max) in bounds.depth_mm.items():
        if area not in values["depth_mm"]:
            problems.append((f"depth_{area}_min", f"Give a depth for {area.replace('_', ' ')}."))
            continue
        wanted_min, wanted_max = values["depth_mm"][area]
        if not depth_min <= wanted_min <= wanted_max <= depth_max:
            problems.append((f"depth_{area}_min", f"Depth for {area.replace('_', ' ')} must be within "
                                                  f"{_mm(depth_min)} to {_mm(depth_max)}, minimum no deeper "
                                                  "than maximum."))
    return problems


def edited_plan(suggested: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The suggestion with the practitioner's numbers, and its schedule re-dated from session 1."""
    plan = copy.deepcopy(dict(suggested))
    plan["sessions"] = values["sessions"]
    plan["interval_days"] = values["interval_days"]
    for area, (depth_min, depth_max) in values["depth_mm"].items():
        plan["depth_mm"][area].update(min=depth_min, max=depth_max)
    schedule = suggested.get("schedule") or []
    if schedule:
        first = dt.date.fromisoformat(schedule[0]["on"])
        plan["schedule"] = [
            {"number": number,
             "on": (first + dt.timedelta(days=values["interval_days"] * (number - 1))).isoformat(),
             "areas": schedule[number - 1]["areas"] if number <= len(schedule) else list(plan.get("areas") or []),
             "warning": None}
            for number in range(1, values["sessions"] + 1)
        ]
        maintenance = plan.get("maintenance") or {}
        if maintenance.get("interval_days"):
            last = dt.date.fromisoformat(plan["schedule"][-1]["on"])
            maintenance["on"] = (last + dt.timedelta(days=maintenance["interval_days"])).isoformat()
    return plan


def plan_values(plan: Mapping[str, Any]) -> dict[str, Any]:
    """The editable numbers of a plan."""
    return {
        "sessions": plan.get("sessions"),
        "interval_days": plan.get("interval_days"),
        "depth_mm": {area: (d["min"], d["max"]) for area, d in (plan.get("depth_mm") or {}).items()},
    }


def plan_differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """What ``after`` (plan_values) changes from ``before``, field by field: {"sessions": [old, new], ...}."""
    found: dict[str, list[Any]] = {}
    for key in ("sessions", "interval_days"):
        if before[key] != after[key]:
            found[key] = [before[key], after[key]]
    for area, (low, high) in after["depth_mm"].items():
        old_low, old_high = before["depth_mm"][area]
        if float(old_low) != float(low):
            found[f"depth_mm.{area}.min"] = [old_low, low]
        if float(old_high) != float(high):
            found[f"depth_mm.{area}.max"] = [old_high, high]
    return found


def carry_plan_edit(edited: Mapping[str, Any], suggested: Mapping[str, Any] | None,
                    protocols: Protocols | None) -> tuple[dict[str, Any] | None, list[str]]:
    """A practitioner's edited plan applied to a new suggestion, or None and why it cannot be.

    The edit carries over when the new suggestion treats with the same protocols and areas
    and the edited numbers stay within its bounds (a new flag can lower a bound: then the
    edit is unsafe, and dropped with the reason).
    """
    bounds = plan_bounds(suggested, protocols)
    if suggested is None or bounds is None:
        return None, ["The new assessment suggests no plan to edit."]
    if [p["id"] for p in edited.get("protocols") or []] != [p["id"] for p in suggested.get("protocols") or []]:
        return None, ["The suggested treatment changed with the new answers."]
    if sorted(edited.get("depth_mm") or {}) != sorted(suggested.get("depth_mm") or {}):
        return None, ["The areas to treat changed with the new answers."]
    values = plan_values(edited)
    problems = [message for _field, message in check_plan(values, bounds)]
    if problems:
        return None, problems
    return edited_plan(suggested, values), []

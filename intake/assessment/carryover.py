"""Which flags of a new assessment are the same as the last one's, so a practitioner's review can carry over.

When a patient answers a practitioner's question and submits again, most flags come back
unchanged. A flag is the *same* when the same rule fired on the same answers: its rule id
and what triggered it (each fact and its value) are equal. Its acknowledgement or
override then still applies. A flag whose rule fired on different answers is *changed*:
the practitioner must look again. Pure: flags in their JSON form (Assessment.to_dict()).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Flag = Mapping[str, Any]


def flag_identity(flag: Flag) -> tuple[str, str]:
    """The rule id and a canonical form of what triggered the flag (facts, values, unanswered questions)."""
    triggers = sorted(
        (str(trigger.get("field")), json.dumps(trigger.get("value"), sort_keys=True, default=str))
        for trigger in flag.get("triggered_by") or []
    )
    unanswered = sorted(str(name) for name in flag.get("unanswered") or [])
    return str(flag["rule_id"]), json.dumps([triggers, unanswered])


@dataclass(frozen=True)
class FlagComparison:
    """The flags of a new assessment against the previous one's, by rule id."""

    #: (previous, new) pairs whose rule fired on the same answers.
    unchanged: list[tuple[Flag, Flag]] = field(default_factory=list)
    #: (previous, new) pairs whose rule fired again, on different answers.
    changed: list[tuple[Flag, Flag]] = field(default_factory=list)
    #: Flags the previous assessment did not have.
    added: list[Flag] = field(default_factory=list)
    #: Flags of the previous assessment that the new answers no longer raise.
    gone: list[Flag] = field(default_factory=list)


def compare_flags(previous: Sequence[Flag], new: Sequence[Flag]) -> FlagComparison:
    """Sort the new flags into unchanged, changed and added, and list the previous ones that are gone."""
    earlier = {flag["rule_id"]: flag for flag in previous}
    comparison = FlagComparison()
    for flag in new:
        before = earlier.pop(flag["rule_id"], None)
        if before is None:
            comparison.added.append(flag)
        elif flag_identity(before) == flag_identity(flag) and before.get("severity") == flag.get("severity"):
            comparison.unchanged.append((before, flag))
        else:
            comparison.changed.append((before, flag))
    comparison.gone.extend(earlier.values())
    return comparison

"""Session plans: the plan model, building a plan for one intake, and loading the protocol file.

- :mod:`.model`: what a protocol file compiles to and what a plan is (frozen dataclasses);
- :mod:`.build`: :class:`Protocols`, whose ``build(facts, flags, outcome, defer_until, on)``
  makes the plan of one intake;
- :mod:`.load`: ``parse_protocols(text, display, catalogue)`` / ``load_protocols(path,
  catalogue)``, which check a protocol file and report every problem with its line.
"""

from __future__ import annotations

from .build import Protocols
from .load import load_protocols, parse_protocols
from .model import (
    FLAGS_FIRED,
    Active,
    Adjustment,
    AppliedAdjustment,
    AreaDepth,
    Effects,
    ExcludedActive,
    Plan,
    PlannedActive,
    PlannedProtocol,
    Protocol,
    Session,
    TraceEntry,
)

__all__ = [
    "FLAGS_FIRED",
    "Active",
    "Adjustment",
    "AppliedAdjustment",
    "AreaDepth",
    "Effects",
    "ExcludedActive",
    "Plan",
    "PlannedActive",
    "PlannedProtocol",
    "Protocol",
    "Protocols",
    "Session",
    "TraceEntry",
    "load_protocols",
    "parse_protocols",
]

"""Assessing an intake: facts in, flags, outcome, dated instructions and the session plan out.

``assess(answers, ruleset, on)`` derives the facts of one answers document (as
``intake.answers.load_answers`` gives it) and returns its
:class:`~intake.assessment.model.Assessment`; ``assess_facts`` does the same from facts
already derived. ``fast=False`` takes the plain path everywhere (every rule through the
evaluator, every flag and the plan built afresh): what the fast paths are tested equal to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from operator import itemgetter
from typing import Any

from .dates import DateFormatter, english_date
from .facts import Facts, derive_facts
from .model import OUTCOMES, SEVERITY_RANK, Assessment, construct, defer_until_of
from .ruleset import Ruleset

_first = itemgetter(0)
_second = itemgetter(1)


def assess(
    answers: Mapping[str, Any],
    ruleset: Ruleset,
    on: dt.date,
    *,
    format_date: DateFormatter = english_date,
    fast: bool = True,
) -> Assessment:
    """Assess one answers document (as loaded by intake.answers.load_answers) on ``on``."""
    facts = derive_facts(answers, ruleset.lexicon, on, ruleset.catalogue)
    return assess_facts(facts, ruleset, format_date=format_date, fast=fast)


def assess_facts(
    facts: Facts,
    ruleset: Ruleset,
    *,
    format_date: DateFormatter = english_date,
    plan: bool = True,
    fast: bool = True,
) -> Assessment:
    """Run every rule on already derived facts (``plan=False``: without the session plan, as a preview needs)."""
    checks = ruleset.checks
    found = checks.entries(facts, format_date) if fast else checks.plain_entries(facts, format_date)
    # The keys order flags as Flag.sort_key and instructions as Instruction.sort_key do; no
    # two are equal (one flag per rule; rule ids are unique), so entries are never compared.
    found.sort(key=_first)
    flags = tuple(map(_second, found))
    dated = [entry[2] for entry in found if entry[2] is not None]
    if len(dated) > 1:
        dated.sort(key=_first)
    # The first flag is the most severe: its rank is the outcome's (as outcome_of says).
    outcome = OUTCOMES[SEVERITY_RANK[flags[0].severity]] if flags else OUTCOMES[0]
    defer_until = defer_until_of(flags, outcome) if outcome == "defer" else None
    built = None
    if plan and ruleset.protocols is not None:
        built = ruleset.protocols.build(facts, flags, outcome, defer_until, facts.on, fast=fast)
    return construct(
        Assessment,
        on=facts.on,
        reference_date=facts.reference_date,
        outcome=outcome,
        defer_until=defer_until,
        flags=flags,
        instructions=tuple(map(_second, dated)),
        ruleset_version=ruleset.version,
        plan=built,
    )

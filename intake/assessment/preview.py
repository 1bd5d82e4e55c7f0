"""Preview a candidate ruleset against past intakes: what it would change, intake by intake and rule by rule.

``preview(intakes, current, candidate)`` assesses every intake under both rulesets and
counts: outcome before → after, flags added and removed per intake, and totals per rule.
``intakes`` is any iterable of :class:`PastIntake` (the caller streams them from the
database); only the intakes that change are kept (up to ``max_rows``), so memory stays
bounded whatever the number of intakes.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from marshmallow import Schema, ValidationError, fields

from ..answers import AnswersSchema
from .conditions import Leaf, Node
from .engine import assess_facts
from .facts import FACT_GROUPS, Facts, derive_facts
from .model import OUTCOMES, SEVERITY_RANK, Flag
from .rules import Rule
from .ruleset import Ruleset

SCHEMAS_KEPT = 400


def _date_plan(schema: Schema) -> dict[str, Any]:
    """Where the answers schema has dates: name -> "date", a nested plan, or ("items", plan)."""
    plan: dict[str, Any] = {}
    for name, declared in schema.fields.items():
        if isinstance(declared, fields.Date) and not isinstance(declared, fields.DateTime):
            plan[name] = "date"
        elif isinstance(declared, fields.Nested):
            inner = _date_plan(declared.schema)
            if inner:
                plan[name] = inner
        elif isinstance(declared, fields.List) and isinstance(declared.inner, fields.Nested):
            inner = _date_plan(declared.inner.schema)
            if inner:
                plan[name] = ("items", inner)
    return plan


_DATES: dict[str, Any] = _date_plan(AnswersSchema())


def _revive(document: Mapping[str, Any], plan: Mapping[str, Any]) -> dict[str, Any]:
    revived = dict(document)
    for name, how in plan.items():
        value = revived.get(name)
        if value is None:
            continue
        if how == "date":
            revived[name] = dt.date.fromisoformat(value)
        elif isinstance(how, tuple):
            revived[name] = [_revive(item, how[1]) for item in value]
        else:
            revived[name] = _revive(value, how)
    return revived


def revive_stored(document: Mapping[str, Any]) -> dict[str, Any]:
    """A stored (validated, then dumped) answers document back in loaded form: its ISO dates as dates.

    What AnswersSchema.load gives for such a document, without validating it again (a
    test checks they agree); ValueError, TypeError, KeyError or AttributeError on a
    document that was not stored that way (then preview validates it with the schema).
    """
    for section in _DATES:
        if not isinstance(document.get(section), Mapping):
            raise KeyError(section)
    return _revive(document, _DATES)


class PastIntake(NamedTuple):
    """One stored intake to preview: its id, a label (the patient's name), its answers (JSON form), its date.

    ``label`` may be a function giving it: called only for the intakes kept as changes
    (the database stream decrypts a patient's name only then).
    """

    id: int
    label: str | Callable[[], str]
    answers: Mapping[str, Any]
    on: dt.date
    #: The stored assessment of these answers under the current ruleset on ``on``, when there is one:
    #: (outcome, ((rule_id, severity), ...)). The "before" side is then taken from it, not assessed again.
    stored: tuple[str, tuple[tuple[str, str], ...]] | None = None


def flag_summary(flags: Iterable[Flag]) -> str:
    """The flags in short, as a stored assessment keeps them for previews: "rule-id:severity" apart by spaces."""
    return " ".join(f"{flag.rule_id}:{flag.severity}" for flag in flags)


def read_flag_summary(summary: str) -> tuple[tuple[str, str], ...]:
    """The (rule id, severity) pairs of a flag_summary (rule ids and severities hold neither spaces nor colons)."""
    return tuple(tuple(item.split(":", 1)) for item in summary.split())  # type: ignore[misc]


@dataclass(frozen=True)
class IntakeChange:
    """How one intake's assessment changes."""

    id: int
    label: str
    before: str
    after: str
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass
class RuleTotal:
    """How many intakes a rule flags before and after, and how many it starts or stops flagging."""

    rule_id: str
    before: int = 0
    after: int = 0
    added: int = 0
    removed: int = 0


@dataclass
class PreviewResult:
    """Everything preview() counted."""

    total: int = 0
    changed_count: int = 0
    outcome_changed: int = 0
    #: The changed intakes, up to max_rows, in the order read.
    changes: list[IntakeChange] = field(default_factory=list)
    outcomes_before: Counter[str] = field(default_factory=Counter)
    outcomes_after: Counter[str] = field(default_factory=Counter)
    #: (before, after) -> how many intakes, for the outcomes that changed.
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    rules: dict[str, RuleTotal] = field(default_factory=dict)
    #: Intakes whose stored answers no longer load (id, why); not counted in the totals.
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def rule_totals(self) -> list[RuleTotal]:
        """Rules whose count changes first (most changed first), then the rest by id."""
        return sorted(self.rules.values(),
                      key=lambda r: (-(r.added + r.removed), r.rule_id))


def _flags(facts: Facts, ruleset: Ruleset) -> tuple[str, frozenset[str]]:
    assessment = assess_facts(facts, ruleset, plan=False)  # the plan changes neither flags nor outcome
    return assessment.outcome, frozenset(flag.rule_id for flag in assessment.flags)


def _node_key(node: Node) -> tuple[Any, ...]:
    """What a condition node tests, comparable across two loads (repr of operands: an
    operand without a value repr makes the keys differ, which only costs speed)."""
    if isinstance(node, Leaf):
        return ("leaf", node.field, node.operator, repr(node.operand), node.index, repr(node.evidence_of),
                node.description)
    return (type(node).__name__, node.description, tuple(_node_key(child) for child in node.children))


def _flag_key(rule: Rule) -> tuple[Any, ...]:
    """Everything that decides whether a rule flags an intake, and at which severity."""
    return (rule.id, rule.severity, rule.if_unanswered, rule.defer_for_days, _node_key(rule.when.root))


def fact_slots(ruleset: Ruleset) -> frozenset[int]:
    """The slots of the facts the rules of ``ruleset`` test."""
    return frozenset(node.index for rule in ruleset.rules for node in rule.when.root.walk() if isinstance(node, Leaf))


def rule_delta(current: Ruleset, candidate: Ruleset) -> tuple[frozenset[str], Ruleset]:
    """The candidate's rules that flag exactly as the current ones (by id), and a ruleset of the others.

    Only meaningful when both rulesets derive the same facts (same_facts): then a kept
    rule gives the same flag (id and severity) on the same facts under either ruleset, so
    the candidate's flags are the current kept ones plus what the small ruleset flags.
    """
    before = {rule.id: _flag_key(rule) for rule in current.rules}
    kept = frozenset(rule.id for rule in candidate.rules if before.get(rule.id) == _flag_key(rule))
    changed = [rule for rule in candidate.rules if rule.id not in kept]
    return kept, candidate.with_rules(changed)


def same_facts(current: Ruleset, candidate: Ruleset) -> bool:
    """True when both rulesets derive the same facts (same lexicons' texts, same catalogue)."""
    if current.lexicon is None or candidate.lexicon is None:
        return False
    allergens = [None if ruleset.catalogue.allergens is None else ruleset.catalogue.allergens.version_text
                 for ruleset in (current, candidate)]
    return (current.lexicon.version_text == candidate.lexicon.version_text
            and allergens[0] == allergens[1]
            and list(current.catalogue.fields) == list(candidate.catalogue.fields))


def preview(
    intakes: Iterable[PastIntake],
    current: Ruleset,
    candidate: Ruleset,
    *,
    max_rows: int = 500,
    progress: Callable[[int], None] | None = None,
    trusted: bool = True,
    fast: bool = True,
) -> PreviewResult:
    """Assess every intake under ``current`` and ``candidate``; count what changes.

    ``trusted``: the answers are stored submissions (validated when submitted), read back
    with revive_stored; otherwise (and when that fails) each is validated again.
    """
    result = PreviewResult()
    rules = result.rules
    for rule in current.rules:
        rules[rule.id] = RuleTotal(rule.id)
    for rule in candidate.rules:
        rules.setdefault(rule.id, RuleTotal(rule.id))
    # One schema per assessment date, reused: a new AnswersSchema per intake (what
    # load_answers makes) costs more than the validation itself.
    schemas: dict[dt.date, AnswersSchema] = {}
    shared = same_facts(current, candidate)
    # With the same facts, only the rules that differ are run for the candidate (fast=False:
    # every candidate rule, the plain path the tests compare with).
    kept, delta = rule_delta(current, candidate) if shared and fast else (frozenset(), None)
    # The current side reused (intake.stored), the changed rules' facts are all the candidate needs.
    groups = FACT_GROUPS if delta is None else current.catalogue.groups_reading(fact_slots(delta))
    for intake in intakes:
        if progress is not None:
            progress(1)
        facts = None
        if trusted:
            try:
                answers = revive_stored(intake.answers)
                facts = derive_facts(answers, current.lexicon, intake.on, current.catalogue,
                                     FACT_GROUPS if intake.stored is None else groups)
            except (ValueError, TypeError, KeyError, AttributeError):
                facts = None  # not a stored submission after all: validate it below
        if facts is None:
            schema = schemas.get(intake.on)
            if schema is None:
                if len(schemas) >= SCHEMAS_KEPT:
                    schemas.clear()
                schema = schemas[intake.on] = AnswersSchema(today=intake.on)
            try:
                answers = schema.load(intake.answers)
            except (ValidationError, ValueError, TypeError, KeyError) as error:
                result.skipped.append((intake.id, str(error)[:200]))
                continue
            facts = derive_facts(answers, current.lexicon, intake.on, current.catalogue,
                                 FACT_GROUPS if intake.stored is None else groups)
        if delta is not None:
            if intake.stored is not None:
                before, current_flags = intake.stored
            else:
                assessed = assess_facts(facts, current, plan=False)
                before, current_flags = assessed.outcome, tuple((f.rule_id, f.severity) for f in assessed.flags)
            flags_before = frozenset(rule_id for rule_id, _ in current_flags)
            extra = assess_facts(facts, delta, plan=False).flags
            rank = max([SEVERITY_RANK[severity] for rule_id, severity in current_flags if rule_id in kept]
                       + [SEVERITY_RANK[flag.severity] for flag in extra], default=0)
            after = OUTCOMES[rank]  # as outcome_of: info ranks 0 like suitable
            flags_after = (flags_before & kept) | frozenset(flag.rule_id for flag in extra)
        else:
            if intake.stored is not None:
                before, flags_before = intake.stored[0], frozenset(rule_id for rule_id, _ in intake.stored[1])
            else:
                before, flags_before = _flags(facts, current)
            if not shared:
                facts = derive_facts(answers, candidate.lexicon, intake.on, candidate.catalogue)
            after, flags_after = _flags(facts, candidate)
        result.total += 1
        result.outcomes_before[before] += 1
        result.outcomes_after[after] += 1
        for rule_id in flags_before:
            rules[rule_id].before += 1
        for rule_id in flags_after:
            rules[rule_id].after += 1
        if before == after and flags_before == flags_after:
            continue
        added = tuple(sorted(flags_after - flags_before))
        removed = tuple(sorted(flags_before - flags_after))
        for rule_id in added:
            rules[rule_id].added += 1
        for rule_id in removed:
            rules[rule_id].removed += 1
        result.changed_count += 1
        if before != after:
            result.outcome_changed += 1
            result.transitions[(before, after)] += 1
        if len(result.changes) < max_rows:
            label = intake.label if isinstance(intake.label, str) else intake.label()
            result.changes.append(IntakeChange(intake.id, label, before, after, added, removed))
    return result


def result_to_json(result: PreviewResult) -> dict[str, Any]:
    """A PreviewResult as plain JSON (a chunk run on a worker stores it so; result_from_json reads it back)."""
    return {
        "total": result.total, "changed_count": result.changed_count, "outcome_changed": result.outcome_changed,
        "changes": [[c.id, c.label, c.before, c.after, list(c.added), list(c.removed)] for c in result.changes],
        "outcomes_before": dict(result.outcomes_before), "outcomes_after": dict(result.outcomes_after),
        "transitions": [[before, after, count] for (before, after), count in result.transitions.items()],
        "rules": [[r.rule_id, r.before, r.after, r.added, r.removed] for r in result.rules.values()],
        "skipped": [list(item) for item in result.skipped],
    }


def result_from_json(data: Mapping[str, Any]) -> PreviewResult:
    """The PreviewResult result_to_json wrote."""
    return PreviewResult(
        total=data["total"], changed_count=data["changed_count"], outcome_changed=data["outcome_changed"],
        changes=[IntakeChange(i, label, before, after, tuple(added), tuple(removed))
                 for i, label, before, after, added, removed in data["changes"]],
        outcomes_before=Counter(data["outcomes_before"]), outcomes_after=Counter(data["outcomes_after"]),
        transitions=Counter({(before, after): count for before, after, count in data["transitions"]}),
        rules={rule_id: RuleTotal(rule_id, before, after, added, removed)
               for rule_id, before, after, added, removed in data["rules"]},
        skipped=[(intake_id, why) for intake_id, why in data["skipped"]],
    )


def merge(parts: Iterable[PreviewResult], max_rows: int = 500) -> PreviewResult:
    """One result from the previews of consecutive slices of the intakes, in their order.

    Equal to preview() over the whole stream: counts add up, and the changed intakes kept are
    the first ``max_rows`` in the stream's order (each part kept at most that many, in order).
    """
    merged = PreviewResult()
    for part in parts:
        merged.total += part.total
        merged.changed_count += part.changed_count
        merged.outcome_changed += part.outcome_changed
        merged.changes.extend(part.changes[:max(max_rows - len(merged.changes), 0)])
        merged.outcomes_before.update(part.outcomes_before)
        merged.outcomes_after.update(part.outcomes_after)
        merged.transitions.update(part.transitions)
        for rule_id, total in part.rules.items():
            into = merged.rules.setdefault(rule_id, RuleTotal(rule_id))
            into.before += total.before
            into.after += total.after
            into.added += total.added
            into.removed += total.removed
        merged.skipped.extend(part.skipped)
    return merged

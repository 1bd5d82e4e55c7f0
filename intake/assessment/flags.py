"""Flags: which rules flag an intake, and each flag with its triggers, lift date and dated instruction.

:class:`RuleChecks` holds a ruleset's rules as the engine runs them. ``entries(facts,
format_date)`` is the fast path: one generated function (:mod:`intake.assessment.fastpath`)
decides which rules flag, and each flag is taken from a memo when an earlier intake had
everything it is made of, else built from the rule's trace. ``plain_entries`` is the
reference it is tested equal to: every rule through the evaluator, every flag built afresh.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Final

from .conditions import DATE_OPERATORS, Leaf, Trace
from .dates import DateFormatter, english_date, instruction_start, relative_day
from .facts import DERIVED_BOOKED, LIST_TYPES, REFERENCE_INDEX, Catalogue, Facts, FieldSpec
from .fastpath import batch_test, remembered
from .model import SEVERITY_RANK, Flag, Instruction, Trigger
from .rules import InstructionSpec, Rule

#: What a check gives per flag: (sort key, flag, (sort key, instruction) or None).
Entry = tuple[Any, Flag, "tuple[tuple[Any, ...], Instruction] | None"]
Handler = Callable[[Any, Facts, DateFormatter], Entry]

#: At most this many flags (triggers, instructions) are remembered per rule. A full memo
#: keeps what it has and remembers nothing more: its keys rarely repeat, and dropping and
#: refilling it would make every miss a long-lived object for the garbage collector to
#: walk; what is not remembered is built as it was before and dropped with the assessment.
MEMO_LIMIT: Final = 2048

_join = "".join


def remember(memo: dict[Any, Any], key: Any, value: Any) -> Any:
    """``memo[key] = value`` while the memo holds fewer than MEMO_LIMIT entries; returns ``value``."""
    if len(memo) < MEMO_LIMIT:
        memo[key] = value
    return value


def render_instruction(
    spec: InstructionSpec,
    rule_id: str,
    appointment: dt.date | None,
    format_date: DateFormatter = english_date,
    *,
    on: dt.date | None = None,
) -> Instruction:
    """Date a rule's instruction against the appointment (None: not booked yet).

    An instruction that should have started before ``on`` (the assessment date: an
    appointment booked close) starts on ``on``: "From Thursday 19 November" read on the
    25th asks the impossible, and the patient can still do the rest of it.
    """
    days = spec.days_before
    starts_on = None
    if appointment is not None and days is not None:
        starts_on = instruction_start(appointment, days, on)
    return Instruction(rule_id, fill_start(spec.text, days, starts_on, format_date), starts_on, days,
                       spec.text if days is not None and "{start}" in spec.text else None)


def fill_start(template: str, days_before: int | None, starts_on: dt.date | None,
               format_date: DateFormatter = english_date,
               relative: Callable[[int], str] = relative_day) -> str:
    """An instruction's text with ``{start}`` said as a date ("Wednesday 16 December"), or as
    days before the appointment when it is not booked ("2 days before your appointment")."""
    if days_before is None or "{start}" not in template:
        return template
    when = format_date(starts_on) if starts_on is not None else relative(days_before)
    text = template.replace("{start}", when)
    return text[:1].upper() + text[1:]


class RuleChecks:
    """A ruleset's rules as the engine runs them: the fast path, and a memo of flags per rule."""

    def __init__(self, rules: Sequence[Rule], catalogue: Catalogue):
        self.checks = tuple(_Check(rule, catalogue) for rule in rules)
        # Flags sort by (severity, most severe first; rule id): the same order whatever the
        # intake, so each check's keys become that order's positions, cheaper to sort by.
        keys = sorted({c.order for c in self.checks} | {c.question_order for c in self.checks})
        position = {key: i for i, key in enumerate(keys)}
        for check in self.checks:
            check.order, check.question_order = position[check.order], position[check.question_order]
        #: values -> [(handler, result)] for the rules to flag: the check's ``fired`` when the
        #: condition holds (or is unknown and ``if_unanswered: fire``), ``asked`` when unknown
        #: and ``if_unanswered: ask``; unknown and ``skip`` flags nothing.
        self.decide = batch_test(
            [rule.when for rule in rules],
            [check.fired for check in self.checks],
            [None if check.rule.if_unanswered == "skip" else check.asked if check.rule.if_unanswered == "ask"
             else check.fired for check in self.checks],
        )

    def entries(self, facts: Facts, format_date: DateFormatter) -> list[Entry]:
        """The entries of every rule that flags ``facts`` (in rule order): the fast path."""
        return [handle(result, facts, format_date) for handle, result in self.decide(facts.values)]

    def plain_entries(self, facts: Facts, format_date: DateFormatter) -> list[Entry]:
        """What ``entries`` gives, the plain way: every rule traced, every flag built afresh."""
        found = []
        for check in self.checks:
            trace = check.rule.when.trace(facts.values)
            result = trace[check.rule.when.root.id].result
            if result is None:
                if check.rule.if_unanswered == "ask":
                    found.append(check.question(trace, facts, format_date))
                elif check.rule.if_unanswered == "fire":
                    found.append(check.build(trace, facts, format_date))
            elif result is not False:
                found.append(check.build(trace, facts, format_date))
        return found


class _Check:
    """One rule as the engine runs it, with a memo of the flags it has built.

    A rule's flag depends only on the values its condition reads (and the reference date,
    when it tests dates), the assessment date (for ``defer_for_days``), the appointment
    (for a dated instruction) and, for medication facts, the medicines behind them.
    Patients share most of those, so a flag built once is reused: flags are immutable,
    and the memo key holds everything the flag is made from, so the flag is the one
    building it afresh gives. Values are compared with their types: True, 1 and 1.0 are
    equal in Python but are shown differently (see _handler).
    """

    __slots__ = ("rule", "order", "question_order", "defers_for_days", "flags", "questions", "instructions",
                 "triggers", "fired", "asked")

    def __init__(self, rule: Rule, catalogue: Catalogue):
        self.rule = rule
        #: Flag.sort_key of its flag, and of its "ask" flag (RuleChecks makes them positions).
        self.order: Any = (-SEVERITY_RANK[rule.severity], rule.id)
        asked = min(rule.severity, "precaution", key=SEVERITY_RANK.__getitem__)
        self.question_order: Any = (-SEVERITY_RANK[asked], rule.id)
        leaves = [node for node in rule.when.nodes if isinstance(node, Leaf)]
        fields = {leaf.index: leaf.field for leaf in leaves}
        reads = set(fields)
        spec = rule.instruction
        dated = spec is not None and spec.days_before is not None
        #: A deferral for a number of days from the assessment, which a later appointment may outlast.
        self.defers_for_days = rule.severity == "defer" and rule.defer_for_days is not None
        if dated or self.defers_for_days or any(leaf.operator in DATE_OPERATORS for leaf in leaves):
            # Date tests compare with the reference date; a dated instruction and a deferral
            # for days need the appointment, which is the reference date when booked.
            reads |= {REFERENCE_INDEX, catalogue.fields[DERIVED_BOOKED].index}
        formatted = dated and spec is not None and "{start}" in spec.text
        #: key -> entry, or (entry, the medicines it shows) when the key holds their ids.
        self.flags: dict[Any, Any] = {}
        self.questions: dict[Any, Any] = {}
        self.instructions: dict[dt.date | None, tuple[tuple[Any, ...], Instruction]] = {}
        self.triggers: dict[Any, Trigger] = {}
        #: (result, facts, format_date) -> the flag's entry, remembered: the rule fired.
        self.fired: Handler = _handler(
            sorted(reads), fields, self.flags, self.build_fired, formatted=formatted,
            uses_on=self.defers_for_days or dated,
            medicines=any(leaf.evidence_of is not None for leaf in leaves),
        )
        #: The same for the "not answered, ask" flag.
        self.asked: Handler = _handler(
            sorted(reads), fields, self.questions, self.build_asked, formatted=False, uses_on=False,
            medicines=False,
        )

    def build_fired(self, result: Any, facts: Facts, format_date: DateFormatter) -> Entry:
        """The flag of a rule that fired, built afresh from its trace."""
        return self.build(self.rule.when.trace(facts.values), facts, format_date)

    def build_asked(self, result: Any, facts: Facts, format_date: DateFormatter) -> Entry:
        """The "not answered, ask" flag, built afresh from the rule's trace."""
        return self.question(self.rule.when.trace(facts.values), facts, format_date)

    def question(self, trace: Trace, facts: Facts, format_date: DateFormatter) -> Entry:
        """The "not answered, ask" flag of this trace."""
        rule = self.rule
        unanswered = rule.when.unanswered(trace)
        severity = min(rule.severity, "precaution", key=SEVERITY_RANK.__getitem__)
        flag = Flag(
            rule_id=rule.id,
            title=rule.title,
            severity=severity,
            message=f"Not answered — ask the patient before treating ({', '.join(unanswered)}). {rule.message}",
            source=rule.source,
            file=rule.file,
            line=rule.line,
            unanswered=unanswered,
        )
        return self.question_order, flag, None

    def build(self, trace: Trace, facts: Facts, format_date: DateFormatter) -> Entry:
        """The flag of this trace (the rule fired, or is unknown and fires): triggers, lift date, instruction."""
        rule = self.rule
        severity, order = rule.severity, self.order
        lifts_on = None
        if rule.severity == "defer":
            lifts_on = rule.when.lift_date(trace)
            if lifts_on is None and rule.defer_for_days is not None:
                lifts_on = facts.on + dt.timedelta(days=rule.defer_for_days)
                # Counted from the day of the intake, the deferral may be over by a later
                # appointment: then it is something to confirm on the day, not a reason to
                # rebook. Its instruction stays (rule files word it for both cases).
                if facts.appointment_booked and lifts_on <= facts.reference_date:
                    severity, order = "precaution", self.question_order
        appointment = facts.reference_date if facts.appointment_booked else None
        dated = self.instruction(appointment, facts.on, format_date)
        # The dataclass's own __init__, not model.construct: remembered flags live long, and
        # construct's instance dict costs memory and garbage-collector time for as long.
        flag = Flag(
            rule_id=rule.id,
            title=rule.title,
            severity=severity,
            message=rule.message,
            source=rule.source,
            file=rule.file,
            line=rule.line,
            triggered_by=self.triggered_by(trace, facts),
            unanswered=(),
            lifts_on=lifts_on,
            instruction=None if dated is None else dated[1],
        )
        return order, flag, dated

    def triggered_by(self, trace: Trace, facts: Facts) -> tuple[Trigger, ...]:
        """What Condition.triggers gives, each Trigger remembered by its test, value and medicines."""
        found: list[Trigger] = []
        for trigger in self.rule.when.triggers(trace, facts):
            value = trigger.value
            try:
                if value.__class__ is tuple:
                    _join(value)  # TypeError unless it holds text only (see _handler)
                key: Any = (trigger.condition, value, value.__class__, trigger.evidence)
                known = self.triggers.get(key)
            except TypeError:
                key, known = None, None
            if known is None:
                known = trigger
                if key is not None:
                    remember(self.triggers, key, trigger)
            found.append(known)
        return tuple(found)

    def instruction(
        self, appointment: dt.date | None, on: dt.date, format_date: DateFormatter
    ) -> tuple[tuple[Any, ...], Instruction] | None:
        """The rule's instruction for this appointment, with its Instruction.sort_key."""
        spec = self.rule.instruction
        if spec is None:
            return None
        if format_date is not english_date:
            instruction = render_instruction(spec, self.rule.id, appointment, format_date, on=on)
            return instruction.sort_key(), instruction
        key = None
        if spec.days_before is not None and appointment is not None:
            # The start date decides the text (see render_instruction); so it is the key.
            key = instruction_start(appointment, spec.days_before, on)
        dated = self.instructions.get(key)
        if dated is None:
            instruction = render_instruction(spec, self.rule.id, appointment, format_date, on=on)
            dated = remember(self.instructions, key, (instruction.sort_key(), instruction))
        return dated


def _handler(
    reads: list[int],
    fields: dict[int, FieldSpec],
    memo: dict[Any, Any],
    build: Handler,
    *,
    formatted: bool,
    uses_on: bool,
    medicines: bool,
) -> Handler:
    """``build(result, facts, format_date)``, remembered in ``memo`` by what the flag depends on.

    The key is the values at ``reads`` (plus the assessment date, and the medicines, when
    the flag depends on them). Derived facts have one type per fact (dates, whole years,
    text, tuples of text), but answers are as the caller gave them: an answer's type goes
    into the key, since True, 1 and 1.0 are equal but are shown differently, and a list
    answer must hold text only (str.join raises TypeError otherwise; an unhashable value
    does too), else the flag is built without the memo. With another date formatter than
    english_date, a flag whose instruction shows a date is never remembered: it may not be
    pure. This runs for every flag of every intake: written as one small generated
    function per rule (fastpath.remembered).
    """
    answers = [index for index in reads if index in fields and not fields[index].derived]
    return remembered(
        reads,
        typed=[index for index in answers if fields[index].type not in LIST_TYPES],
        text_lists=[index for index in answers if fields[index].type in LIST_TYPES],
        memo=memo, build=build, remember=remember, formatted=formatted, uses_on=uses_on, medicines=medicines,
    )

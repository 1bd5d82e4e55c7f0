"""Conditions: compiled once from YAML, evaluated many times in three-valued logic.

``compile_condition(node, catalogue, file=..., rule_id=..., errors=...)`` turns the
:class:`~intake.assessment.source.Located` mapping of a ``when:`` into a
:class:`Condition`, checking every field, operator and value against the
:class:`~intake.assessment.facts.Catalogue`; each problem is appended to ``errors`` as
a located :class:`~intake.assessment.errors.RuleFileError` and the result is None.

A result is ``True``, ``False`` or ``None`` (unknown: an answer it needs is missing).
``all``, ``any`` and ``not`` combine unknowns the Kleene way. ``Condition.test(values)``
is the fast path (closures over catalogue indexes, short-circuiting);
``Condition.trace(values)`` evaluates every node and returns what each one saw, for
explanations, triggers, lift dates and coverage.

Every node has an ``id`` (0 for the root, then depth-first in file order) that is stable
as long as the rule's condition is not edited, and a ``description`` such as
``health.pregnant equals true``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Final, NamedTuple

from .errors import RuleFileError
from .facts import LIST_TYPES, MISSING, REFERENCE_INDEX, Catalogue, Facts, FieldSpec, has_evidence, suggestion
from .model import Trigger
from .source import Located

Result = bool | None
Test = Callable[[Sequence[Any]], Result]

COMBINATORS: Final = ("all", "any", "not")
_EVERY_TYPE: Final = frozenset(
    {"bool", "number", "text", "choice", "choice_list", "text_list", "date", "datetime"}
)
_SCALARS: Final = frozenset({"number", "text", "choice"})
#: Operator -> the field types it applies to.
OPERATORS: Final[dict[str, frozenset[str]]] = {
    "equals": _EVERY_TYPE - {"datetime"},
    "not_equals": _EVERY_TYPE - {"datetime"},
    "in": _SCALARS,
    "not_in": _SCALARS,
    "includes_any": LIST_TYPES,
    "includes_all": LIST_TYPES,
    "includes_none": LIST_TYPES,
    "less_than": frozenset({"number"}),
    "at_most": frozenset({"number"}),
    "greater_than": frozenset({"number"}),
    "at_least": frozenset({"number"}),
    "answered": _EVERY_TYPE,
    "is_empty": LIST_TYPES,
    "within_days_before": frozenset({"date"}),
    "within_days_after": frozenset({"date"}),
}
#: The operators that compare a date with the reference date.
DATE_OPERATORS: Final = frozenset({"within_days_before", "within_days_after"})
TYPE_WORDS: Final = {
    "bool": "yes/no", "number": "number", "text": "text", "choice": "choice",
    "choice_list": "list", "text_list": "list of text", "date": "date", "datetime": "date and time",
}


class Seen(NamedTuple):
    """What one node saw in a traced evaluation: its result and, for a test, the fact's value."""

    result: Result
    value: Any = None


Trace = dict[int, Seen]


def format_value(value: Any) -> str:
    """A value the way a rule file writes it: true, 2026-11-20, [doac, warfarin]."""
    if value is MISSING:
        return "not answered"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple, frozenset, set)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return "[" + ", ".join(format_value(v) for v in items) + "]"
    return str(value)


# --- nodes -------------------------------------------------------------------------------


class Node:
    """A compiled condition node; ``test`` is its fast evaluation closure."""

    __slots__ = ("id", "description", "line", "column", "test")

    kind: str = ""

    def __init__(self, node_id: int, description: str, line: int, column: int, test: Test):
        self.id = node_id
        self.description = description
        self.line = line
        self.column = column
        self.test = test

    @property
    def children(self) -> tuple[Node, ...]:
        """The nodes this one combines (none for a test on a field)."""
        return ()

    def walk(self) -> list[Node]:
        """This node and every node below it, by id."""
        found: list[Node] = [self]
        for child in self.children:
            found.extend(child.walk())
        return found

    def traced(self, values: Sequence[Any], trace: Trace) -> Result:
        """Evaluate every node below (no short-circuit), recording each result in ``trace``."""
        raise NotImplementedError

    def lift(self, trace: Trace) -> dt.date | None:
        """The date this (true) node stops being true, where the date tests tell it."""
        return None

    def decisive(self, trace: Trace, want: bool) -> list[Leaf]:
        """The field tests that made this node come out ``want``."""
        raise NotImplementedError

    def unknowns(self, trace: Trace) -> list[Leaf]:
        """The field tests whose missing answers left this node unknown."""
        if trace[self.id].result is not None:
            return []
        if not self.children:
            return [self] if isinstance(self, Leaf) else []
        return [leaf for child in self.children for leaf in child.unknowns(trace)]

    # The same readings without a trace: a flag needs them for one rule that fired, and
    # re-running the fast tests of the few nodes below costs less than tracing every node
    # into a dict. Each says what ``decisive``, ``unknowns`` and ``lift`` say of a trace.

    def collect_decisive(self, values: Sequence[Any], want: bool, found: list[Leaf]) -> None:
        """Append the field tests that made this node come out ``want`` (it did)."""
        raise NotImplementedError

    def collect_unknown(self, values: Sequence[Any], found: list[Leaf]) -> None:
        """Append the field tests whose missing answers left this node unknown (it is)."""
        for child in self.children:
            if child.test(values) is None:
                child.collect_unknown(values, found)

    def lift_in(self, values: Sequence[Any]) -> dt.date | None:
        """What ``lift`` says, for a node that is true on ``values``."""
        return None


class Leaf(Node):
    """A test of one field with one operator."""

    __slots__ = ("field", "operator", "operand", "index", "evidence_of")
    kind = "field"

    def __init__(self, node_id: int, line: int, column: int, field: FieldSpec, operator: str, operand: Any):
        description = f"{field.name} {operator} {format_value(operand)}"
        super().__init__(node_id, description, line, column, _leaf_test(field, operator, operand))
        self.field = field
        self.operator = operator
        self.operand = operand
        self.index = field.index
        #: The classes to show the medicines of, for a medication fact; None for other facts.
        self.evidence_of: tuple[Any, ...] | None = (
            (operand if isinstance(operand, tuple) else ()) if has_evidence(field.name) else None
        )

    def traced(self, values: Sequence[Any], trace: Trace) -> Result:
        result = self.test(values)
        trace[self.id] = Seen(result, values[self.index] if self.index < len(values) else MISSING)
        return result

    def lift(self, trace: Trace) -> dt.date | None:
        seen = trace[self.id]
        if seen.result is not True or not isinstance(seen.value, dt.date):
            return None
        if self.operator == "within_days_before":
            return seen.value + dt.timedelta(days=self.operand)
        if self.operator == "within_days_after":
            return seen.value + dt.timedelta(days=1)
        return None

    def decisive(self, trace: Trace, want: bool) -> list[Leaf]:
        return [self] if trace[self.id].result is want else []

    def collect_decisive(self, values: Sequence[Any], want: bool, found: list[Leaf]) -> None:
        found.append(self)

    def collect_unknown(self, values: Sequence[Any], found: list[Leaf]) -> None:
        found.append(self)

    def lift_in(self, values: Sequence[Any]) -> dt.date | None:
        value = values[self.index] if self.index < len(values) else MISSING
        if not isinstance(value, dt.date):
            return None
        if self.operator == "within_days_before":
            return value + dt.timedelta(days=self.operand)
        if self.operator == "within_days_after":
            return value + dt.timedelta(days=1)
        return None


class All(Node):
    """True when every part is true; false as soon as one is false."""

    __slots__ = ("parts",)
    kind = "all"

    def __init__(self, node_id: int, line: int, column: int, parts: tuple[Node, ...]):
        super().__init__(node_id, "all of", line, column, _all_test(tuple(p.test for p in parts)))
        self.parts = parts

    @property
    def children(self) -> tuple[Node, ...]:
        return self.parts

    def traced(self, values: Sequence[Any], trace: Trace) -> Result:
        results = [part.traced(values, trace) for part in self.parts]
        result: Result = False if False in results else (None if None in results else True)
        trace[self.id] = Seen(result)
        return result

    def lift(self, trace: Trace) -> dt.date | None:
        # The whole stops holding as soon as any dated part stops: the earliest date.
        dates = [d for part in self.parts if (d := part.lift(trace)) is not None]
        return min(dates, default=None)

    def decisive(self, trace: Trace, want: bool) -> list[Leaf]:
        return [leaf for part in self.parts if trace[part.id].result is want
                for leaf in part.decisive(trace, want)]

    def collect_decisive(self, values: Sequence[Any], want: bool, found: list[Leaf]) -> None:
        for part in self.parts:
            if part.test(values) is want:
                part.collect_decisive(values, want, found)

    def lift_in(self, values: Sequence[Any]) -> dt.date | None:
        # True, so every part is true.
        dates = [d for part in self.parts if (d := part.lift_in(values)) is not None]
        return min(dates, default=None)


class AnyOf(Node):
    """True as soon as one part is true; false when every part is false."""

    __slots__ = ("parts",)
    kind = "any"

    def __init__(self, node_id: int, line: int, column: int, parts: tuple[Node, ...]):
        super().__init__(node_id, "any of", line, column, _any_test(tuple(p.test for p in parts)))
        self.parts = parts

    @property
    def children(self) -> tuple[Node, ...]:
        return self.parts

    def traced(self, values: Sequence[Any], trace: Trace) -> Result:
        results = [part.traced(values, trace) for part in self.parts]
        result: Result = True if True in results else (None if None in results else False)
        trace[self.id] = Seen(result)
        return result

    def lift(self, trace: Trace) -> dt.date | None:
        # Holds while any fired branch holds: the latest date, and none if one never lifts.
        dates = [part.lift(trace) for part in self.parts if trace[part.id].result is True]
        if not dates or any(d is None for d in dates):
            return None
        return max(d for d in dates if d is not None)

    def decisive(self, trace: Trace, want: bool) -> list[Leaf]:
        return [leaf for part in self.parts if trace[part.id].result is want
                for leaf in part.decisive(trace, want)]

    def collect_decisive(self, values: Sequence[Any], want: bool, found: list[Leaf]) -> None:
        for part in self.parts:
            if part.test(values) is want:
                part.collect_decisive(values, want, found)

    def lift_in(self, values: Sequence[Any]) -> dt.date | None:
        dates = [part.lift_in(values) for part in self.parts if part.test(values) is True]
        if not dates or any(d is None for d in dates):
            return None
        return max(d for d in dates if d is not None)


class Not(Node):
    """True when its part is false; unknown stays unknown."""

    __slots__ = ("part",)
    kind = "not"

    def __init__(self, node_id: int, line: int, column: int, part: Node):
        super().__init__(node_id, "not", line, column, _not_test(part.test))
        self.part = part

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.part,)

    def traced(self, values: Sequence[Any], trace: Trace) -> Result:
        inner = self.part.traced(values, trace)
        result = None if inner is None else not inner
        trace[self.id] = Seen(result)
        return result

    def decisive(self, trace: Trace, want: bool) -> list[Leaf]:
        return self.part.decisive(trace, not want)

    def collect_decisive(self, values: Sequence[Any], want: bool, found: list[Leaf]) -> None:
        self.part.collect_decisive(values, not want, found)


# --- fast evaluation closures --------------------------------------------------------------


def _all_test(tests: tuple[Test, ...]) -> Test:
    if len(tests) == 2:
        first, second = tests

        def test_two(values: Sequence[Any]) -> Result:
            a = first(values)
            if a is False:
                return False
            b = second(values)
            if b is False:
                return False
            return None if a is None or b is None else True

        return test_two

    def test(values: Sequence[Any]) -> Result:
        unknown = False
        for part in tests:
            result = part(values)
            if result is False:
                return False
            if result is None:
                unknown = True
        return None if unknown else True

    return test


def _any_test(tests: tuple[Test, ...]) -> Test:
    if len(tests) == 2:
        first, second = tests

        def test_two(values: Sequence[Any]) -> Result:
            a = first(values)
            if a is True:
                return True
            b = second(values)
            if b is True:
                return True
            return None if a is None or b is None else False

        return test_two

    def test(values: Sequence[Any]) -> Result:
        unknown = False
        for part in tests:
            result = part(values)
            if result is True:
                return True
            if result is None:
                unknown = True
        return None if unknown else False

    return test


def _not_test(inner: Test) -> Test:
    def test(values: Sequence[Any]) -> Result:
        result = inner(values)
        return None if result is None else not result

    return test


def _leaf_test(field: FieldSpec, operator: str, operand: Any) -> Test:
    index, missing = field.index, MISSING
    if operator == "answered":
        wanted = bool(operand)

        def answered(values: Sequence[Any]) -> Result:
            value = values[index]
            return (value is not missing and value is not None) is wanted

        return answered
    if operator in ("within_days_before", "within_days_after"):
        return _date_test(index, operator, operand)
    # Only derived dates can be None ("no such date"), and for them Python's == and !=
    # already give the right answer: no operator below needs to test for None.
    is_list = field.type in LIST_TYPES
    fast = _FAST.get(operator)
    if fast is not None:
        return fast(index, operand, is_list)
    compare = _COMPARISONS[operator](operand, is_list)

    def test(values: Sequence[Any]) -> Result:
        value = values[index]
        return None if value is missing else compare(value)

    return test


def _fast_equals(index: int, operand: Any, is_list: bool) -> Test:
    missing = MISSING
    if is_list:
        wanted = frozenset(operand)

        def list_equals(values: Sequence[Any]) -> Result:
            value = values[index]
            return None if value is missing else frozenset(value) == wanted

        return list_equals

    def equals(values: Sequence[Any]) -> Result:
        value = values[index]
        return None if value is missing else value == operand

    return equals


def _fast_not_equals(index: int, operand: Any, is_list: bool) -> Test:
    inner = _fast_equals(index, operand, is_list)

    def not_equals(values: Sequence[Any]) -> Result:
        result = inner(values)
        return None if result is None else not result

    return not_equals


def _fast_includes_any(index: int, operand: Any, _is_list: bool) -> Test:
    missing, wanted = MISSING, frozenset(operand)

    def includes_any(values: Sequence[Any]) -> Result:
        value = values[index]
        return None if value is missing else not wanted.isdisjoint(value)

    return includes_any


def _fast_at_least(index: int, operand: Any, _is_list: bool) -> Test:
    missing = MISSING

    def at_least(values: Sequence[Any]) -> Result:
        value = values[index]
        return None if value is missing else value >= operand

    return at_least


#: The most used operators get a closure of their own; the rest go through _COMPARISONS.
_FAST: dict[str, Callable[[int, Any, bool], Test]] = {
    "equals": _fast_equals,
    "not_equals": _fast_not_equals,
    "includes_any": _fast_includes_any,
    "at_least": _fast_at_least,
}


def _date_test(index: int, operator: str, days: int) -> Test:
    missing = MISSING

    if operator == "within_days_before":
        def before(values: Sequence[Any]) -> Result:
            value = values[index]
            if value is missing:
                return None
            return value is not None and 0 <= (values[REFERENCE_INDEX] - value).days < days

        return before

    def after(values: Sequence[Any]) -> Result:
        value = values[index]
        if value is missing:
            return None
        return value is not None and 0 <= (value - values[REFERENCE_INDEX]).days <= days

    return after


def _equals(operand: Any, is_list: bool) -> Callable[[Any], bool]:
    if is_list:
        wanted = frozenset(operand)
        return lambda value: frozenset(value) == wanted
    return lambda value: value == operand


def _not_equals(operand: Any, is_list: bool) -> Callable[[Any], bool]:
    equals = _equals(operand, is_list)
    return lambda value: not equals(value)


def _in(operand: Any, _is_list: bool) -> Callable[[Any], bool]:
    wanted = frozenset(operand)
    return lambda value: value in wanted


def _not_in(operand: Any, _is_list: bool) -> Callable[[Any], bool]:
    wanted = frozenset(operand)
    return lambda value: value not in wanted


def _includes_any(operand: Any, _is_list: bool) -> Callable[[Any], bool]:
    wanted = frozenset(operand)
    return lambda value: not wanted.isdisjoint(value)


def _includes_all(operand: Any, _is_list: bool) -> Callable[[Any], bool]:
    wanted = frozenset(operand)
    return lambda value: wanted.issubset(value)


def _includes_none(operand: Any, _is_list: bool) -> Callable[[Any], bool]:
    wanted = frozenset(operand)
    return lambda value: wanted.isdisjoint(value)


def _is_empty(operand: Any, _is_list: bool) -> Callable[[Any], bool]:
    wanted = bool(operand)
    return lambda value: (len(value) == 0) is wanted


_COMPARISONS: dict[str, Callable[[Any, bool], Callable[[Any], bool]]] = {
    "equals": _equals,
    "not_equals": _not_equals,
    "in": _in,
    "not_in": _not_in,
    "includes_any": _includes_any,
    "includes_all": _includes_all,
    "includes_none": _includes_none,
    "less_than": lambda n, _: lambda value: value < n,
    "at_most": lambda n, _: lambda value: value <= n,
    "greater_than": lambda n, _: lambda value: value > n,
    "at_least": lambda n, _: lambda value: value >= n,
    "is_empty": _is_empty,
}


# --- the compiled condition of one rule ----------------------------------------------------


class Condition:
    """A compiled ``when``: the root node, every node by id, and readings of a trace."""

    __slots__ = ("root", "nodes", "test")

    def __init__(self, root: Node):
        self.root = root
        self.nodes: tuple[Node, ...] = tuple(root.walk())
        #: The fast path: ``condition.test(facts.values)``.
        self.test: Test = root.test

    def evaluate(self, facts: Facts) -> Result:
        """True, False or None (unknown) for one intake's facts."""
        return self.test(facts.values)

    def trace(self, facts: Facts | Sequence[Any]) -> Trace:
        """Evaluate every node (no short-circuit) and return what each one saw."""
        values = facts.values if isinstance(facts, Facts) else facts
        trace: Trace = {}
        self.root.traced(values, trace)
        return trace

    def lift_date(self, trace: Trace) -> dt.date | None:
        """When the condition stops holding, from its date tests; None if they do not tell."""
        return self.root.lift(trace) if trace[self.root.id].result is True else None

    def triggers(self, trace: Trace, facts: Facts | None = None) -> tuple[Trigger, ...]:
        """The answers that made the condition true (when unknown: the unanswered tests)."""
        result = trace[self.root.id].result
        if result is False:
            return ()
        leaves = self.root.decisive(trace, True) if result is True else self.root.unknowns(trace)
        return _triggers(leaves, lambda leaf: trace[leaf.id].value, facts)

    def unanswered(self, trace: Trace) -> tuple[str, ...]:
        """The unanswered facts that leave the condition unknown (empty when it is decided)."""
        return tuple(dict.fromkeys(leaf.field.name for leaf in self.root.unknowns(trace)))

    # The same three readings straight from the values, without a trace (see Node.collect_decisive).

    def deciding_leaves(self, values: Sequence[Any], result: Result) -> list[Leaf]:
        """The tests ``triggers`` reports for ``result`` (the condition's result on ``values``)."""
        found: list[Leaf] = []
        if result is True:
            self.root.collect_decisive(values, True, found)
        elif result is None:
            self.root.collect_unknown(values, found)
        return found

    def triggers_in(self, values: Sequence[Any], result: Result, facts: Facts | None = None) -> tuple[Trigger, ...]:
        """``triggers(trace(values), facts)``, given ``result = test(values)``."""
        return _triggers(self.deciding_leaves(values, result), lambda leaf: _value(values, leaf), facts)

    def lift_date_in(self, values: Sequence[Any], result: Result) -> dt.date | None:
        """``lift_date(trace(values))``, given ``result = test(values)``."""
        return self.root.lift_in(values) if result is True else None

    def unanswered_in(self, values: Sequence[Any]) -> tuple[str, ...]:
        """``unanswered(trace(values))``."""
        if self.test(values) is not None:
            return ()
        return tuple(dict.fromkeys(leaf.field.name for leaf in self.deciding_leaves(values, None)))

    def fields(self) -> tuple[str, ...]:
        """Every fact the condition reads, in file order."""
        return tuple(dict.fromkeys(n.field.name for n in self.nodes if isinstance(n, Leaf)))


def _value(values: Sequence[Any], leaf: Leaf) -> Any:
    """The value a leaf reads, as a trace records it."""
    return values[leaf.index] if leaf.index < len(values) else MISSING


def _triggers(
    leaves: list[Leaf], value_of: Callable[[Leaf], Any], facts: Facts | None
) -> tuple[Trigger, ...]:
    """One Trigger per distinct test, in order, with the medicines behind medication facts."""
    found: list[Trigger] = []
    seen: set[str] = set()
    for leaf in leaves:
        if leaf.description in seen:
            continue
        seen.add(leaf.description)
        name = leaf.field.name
        evidence: tuple[str, ...] = ()
        if facts is not None and leaf.evidence_of is not None:
            evidence = facts.evidence(name, leaf.evidence_of)
        found.append(Trigger(name, value_of(leaf), leaf.description, evidence))
    return tuple(found)


# --- compilation --------------------------------------------------------------------------


class _Compiler:
    def __init__(self, catalogue: Catalogue, file: str, rule_id: str | None, errors: list[RuleFileError]):
        self.catalogue = catalogue
        self.file = file
        self.rule_id = rule_id
        self.errors = errors
        self.next_id = 0

    def error(self, at: Located, message: str) -> None:
        self.errors.append(RuleFileError(self.file, at.line, at.column, self.rule_id, message))

    def compile(self, node: Located) -> Node | None:
        node_id = self.next_id
        self.next_id += 1
        if not node.is_mapping:
            self.error(node, "a condition is a mapping: 'field' with one operator, or 'all', 'any' or 'not'")
            return None
        keys = list(node.keys)
        if not keys:
            self.error(node, "empty condition: give 'field' with one operator, or 'all', 'any' or 'not'")
            return None
        structure = [k for k in keys if k in COMBINATORS or k == "field"]
        if len(structure) > 1:
            first, second = structure[0], structure[1]
            self.error(node.key_node(second),
                       f"one condition holds either 'field' with an operator or one of 'all', 'any', 'not': "
                       f"found '{first}' and '{second}' (nest one inside the other)")
            return None
        if structure and structure[0] in COMBINATORS:
            kind = structure[0]
            for key in keys:
                if key != kind:
                    self.unknown_key(node, key, list(COMBINATORS), f"'{kind}' takes no other key")
            return self.combinator(node_id, kind, node)
        if not structure:
            operators = [k for k in keys if k in OPERATORS]
            if operators:
                self.error(node.key_node(operators[0]), f"'{operators[0]}' has no 'field' to test")
            else:
                for key in keys:
                    self.unknown_key(node, key, ["field", *COMBINATORS, *OPERATORS], "")
            return None
        return self.leaf(node_id, node)

    def unknown_key(self, node: Located, key: str, known: list[str], note: str) -> None:
        hint = suggestion(key, known) or (f" ({note})" if note else "")
        what = "operator" if "field" in node.keys else "key"
        self.error(node.key_node(key), f"unknown {what} '{key}'{hint}")

    def combinator(self, node_id: int, kind: str, node: Located) -> Node | None:
        body = node[kind]
        if kind == "not":
            if body.is_sequence:
                self.error(body, "'not' takes one condition, not a list "
                                 "(to negate several, write 'not:' with 'any:' or 'all:' inside)")
                return None
            part = self.compile(body)
            return Not(node_id, node.line, node.column, part) if part is not None else None
        if not body.is_sequence:
            self.error(body, f"'{kind}' takes a list of conditions, each starting with '- '")
            return None
        if not body.value:
            self.error(node.key_node(kind), f"'{kind}' needs at least one condition")
            return None
        parts = [self.compile(item) for item in body.items_()]
        if any(part is None for part in parts):
            return None
        complete = tuple(part for part in parts if part is not None)
        node_type = All if kind == "all" else AnyOf
        return node_type(node_id, node.line, node.column, complete)

    def leaf(self, node_id: int, node: Located) -> Node | None:
        name_node = node["field"]
        operators = [k for k in node.keys if k != "field"]
        ok = True
        for key in operators:
            if key not in OPERATORS:
                self.unknown_key(node, key, list(OPERATORS), "")
                ok = False
        if not isinstance(name_node.value, str) or not name_node.value:
            self.error(name_node, "'field' names a fact, for example health.pregnant")
            return None
        name = name_node.value
        spec = self.catalogue.get(name)
        if spec is None:
            self.error(name_node, self.catalogue.unknown_field_message(name))
            return None
        valid = [k for k in operators if k in OPERATORS]
        if not valid:
            if ok:
                allowed = ", ".join(op for op, types in OPERATORS.items() if spec.type in types)
                self.error(node.key_node("field"), f"the test of {name} has no operator (one of: {allowed})")
            return None
        if len(valid) > 1:
            self.error(node.key_node(valid[1]),
                       f"one operator per condition: found '{valid[0]}' and '{valid[1]}' "
                       "(combine conditions with 'all' or 'any')")
            return None
        operator = valid[0]
        if spec.type not in OPERATORS[operator]:
            allowed = ", ".join(op for op, types in OPERATORS.items() if spec.type in types)
            self.error(node.key_node(operator),
                       f"'{operator}' does not apply to {name}, a {TYPE_WORDS[spec.type]} field "
                       f"(use one of: {allowed})")
            return None
        operand = self.operand(spec, operator, node[operator])
        if operand is _INVALID or not ok:
            return None
        return Leaf(node_id, node.line, node.column, spec, operator, operand)

    def operand(self, spec: FieldSpec, operator: str, node: Located) -> Any:
        """The checked value of ``operator``, or _INVALID after recording why."""
        where = f"'{operator}' on {spec.name}"
        value = node.value
        if operator in ("answered", "is_empty"):
            if not isinstance(value, bool):
                self.error(node, f"{where} needs true or false, not {_shown(node)}")
                return _INVALID
            return value
        if operator in ("within_days_before", "within_days_after"):
            least = 1 if operator == "within_days_before" else 0
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                self.error(node, f"{where} needs a whole number of days of at least {least}, "
                                 f"not {_shown(node)}")
                return _INVALID
            return value
        if operator in ("less_than", "at_most", "greater_than", "at_least"):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                self.error(node, f"{where} needs a number, not {_shown(node)}")
                return _INVALID
            return value
        many = operator in ("in", "not_in", "includes_any", "includes_all", "includes_none") or (
            spec.type in LIST_TYPES
        )
        if not many:
            return self.scalar(spec, where, node)
        if not node.is_sequence:
            example = "[a, b]" if spec.type != "number" else "[1, 2]"
            self.error(node, f"{where} needs a list of values such as {example}, not {_shown(node)}")
            return _INVALID
        if not node.value and operator not in ("equals", "not_equals"):
            self.error(node, f"{where} needs at least one value")
            return _INVALID
        checked = [self.scalar(spec, where, item) for item in node.items_()]
        if any(item is _INVALID for item in checked):
            return _INVALID
        return tuple(checked)

    def scalar(self, spec: FieldSpec, where: str, node: Located) -> Any:
        """One value for ``spec`` (an element, for a list field), or _INVALID."""
        value = node.value
        kind = spec.type
        if node.kind != "scalar":
            self.error(node, f"{where} needs a single value here, not a list or mapping")
            return _INVALID
        if kind == "bool":
            good = isinstance(value, bool)
            expected = "true or false"
        elif kind == "number":
            good = isinstance(value, (int, float)) and not isinstance(value, bool)
            expected = "a number"
        elif kind == "date":
            good = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
            expected = "a date such as 2026-11-25"
        else:  # text, choice and the elements of lists
            good = isinstance(value, str)
            expected = "text (put numbers and true/false in quotes)" if kind in ("text", "text_list") else (
                f"a {spec.vocabulary} name"
            )
        if not good:
            self.error(node, f"{where} needs {expected}, not {_shown(node)}")
            return _INVALID
        if spec.choices is not None and value not in spec.choices:
            shown = ", ".join(format_value(c) for c in spec.choices)
            if spec.vocabulary == "choice":
                hint = suggestion(str(value), [str(c) for c in spec.choices])
                self.error(node, f"{_shown(node)} is not a choice of {spec.name}{hint}; choices: {shown}")
            else:
                hint = suggestion(str(value), [str(c) for c in spec.choices])
                self.error(node, f"unknown {spec.vocabulary} {_shown(node)}{hint}")
            return _INVALID
        return value


_INVALID: Final = object()


def _shown(node: Located) -> str:
    if node.kind == "mapping":
        return "a mapping"
    if node.kind == "sequence":
        return "a list"
    value = node.value
    if isinstance(value, str):
        return f"'{value}'"
    return format_value(value) if value is not None else "nothing (null)"


def compile_condition(
    node: Located,
    catalogue: Catalogue,
    *,
    file: str,
    rule_id: str | None,
    errors: list[RuleFileError],
) -> Condition | None:
    """Compile a condition mapping; on problems, append them to ``errors`` and return None."""
    before = len(errors)
    root = _Compiler(catalogue, file, rule_id, errors).compile(node)
    if root is None or len(errors) > before:
        return None
    return Condition(root)


# --- many conditions as one generated function -------------------------------------------
#
# assess_facts tests every rule of the ruleset on every intake. Calling one closure per
# node costs a Python call for each of ~150 nodes, most of them rules that do not fire.
# ``batch_test`` writes the same tests, node for node and operation for operation, as the
# source of one Python function, compiled once per ruleset: the closures above stay the
# reference (Condition.test), and the two are checked against each other in the tests.


class _Source:
    """The lines, constants and temporaries of the generated function."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.constants: dict[str, Any] = {}
        self.count = 0

    def constant(self, value: Any) -> str:
        """A name for ``value`` in the function's globals (values are never written as text)."""
        name = f"c{len(self.constants)}"
        self.constants[name] = value
        return name

    def temporary(self) -> str:
        self.count += 1
        return f"t{self.count}"

    def line(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)


#: What the generated code computes for each operator from the value v and the constant c,
#: exactly as _leaf_test's closures do (the value is known not to be MISSING).
_EXPRESSIONS: Final = {
    "in": "{v} in {c}",
    "not_in": "{v} not in {c}",
    "includes_any": "not {c}.isdisjoint({v})",
    "includes_all": "{c}.issubset({v})",
    "includes_none": "{c}.isdisjoint({v})",
    "less_than": "{v} < {c}",
    "at_most": "{v} <= {c}",
    "greater_than": "{v} > {c}",
    "at_least": "{v} >= {c}",
}


def _emit(node: Node, source: _Source, depth: int, target: str) -> None:
    """Code that sets ``target`` to what ``node.test(values)`` returns."""
    if isinstance(node, Leaf):
        _emit_leaf(node, source, depth, target)
    elif isinstance(node, Not):
        inner = source.temporary()
        _emit(node.part, source, depth, inner)
        source.line(depth, f"{target} = None if {inner} is None else not {inner}")
    elif isinstance(node, (All, AnyOf)):
        # all: False at the first False part, else unknown if a part is, else True;
        # any: the same with True and False swapped. Later parts run only when needed.
        stop = "False" if isinstance(node, All) else "True"
        finish = "True" if isinstance(node, All) else "False"
        seen: list[str] = []
        for part in node.parts:
            result = source.temporary()
            seen.append(result)
            _emit(part, source, depth, result)
            source.line(depth, f"if {result} is {stop}:")
            source.line(depth + 1, f"{target} = {stop}")
            source.line(depth, "else:")
            depth += 1
        unknown = " or ".join(f"{result} is None" for result in seen)
        source.line(depth, f"{target} = None if {unknown} else {finish}")
    else:  # pragma: no cover - every node kind is above
        raise TypeError(f"no code for {type(node).__name__}")


def _emit_leaf(leaf: Leaf, source: _Source, depth: int, target: str) -> None:
    value = source.temporary()
    source.line(depth, f"{value} = values[{leaf.index}]")
    operator, operand = leaf.operator, leaf.operand
    if operator == "answered":
        source.line(depth, f"{target} = ({value} is not MISSING and {value} is not None) is {bool(operand)}")
        return
    if operator in ("within_days_before", "within_days_after"):
        days = source.constant(operand)
        source.line(depth, f"if {value} is MISSING:")
        source.line(depth + 1, f"{target} = None")
        source.line(depth, "else:")
        if operator == "within_days_before":
            test = f"0 <= (values[{REFERENCE_INDEX}] - {value}).days < {days}"
        else:
            test = f"0 <= ({value} - values[{REFERENCE_INDEX}]).days <= {days}"
        source.line(depth + 1, f"{target} = {value} is not None and {test}")
        return
    if operator in ("equals", "not_equals"):
        if leaf.field.type in LIST_TYPES:
            equals = f"frozenset({value}) == {source.constant(frozenset(operand))}"
        else:
            equals = f"{value} == {source.constant(operand)}"
        if operator == "equals":
            source.line(depth, f"{target} = None if {value} is MISSING else {equals}")
        else:
            inner = source.temporary()
            source.line(depth, f"{inner} = None if {value} is MISSING else {equals}")
            source.line(depth, f"{target} = None if {inner} is None else not {inner}")
        return
    if operator == "is_empty":
        source.line(depth, f"{target} = None if {value} is MISSING else (len({value}) == 0) is {bool(operand)}")
        return
    wanted = frozenset(operand) if operator in ("in", "not_in", "includes_any", "includes_all",
                                                 "includes_none") else operand
    expression = _EXPRESSIONS[operator].format(v=value, c=source.constant(wanted))
    source.line(depth, f"{target} = None if {value} is MISSING else {expression}")


def batch_test(
    conditions: Sequence[Condition], when_true: Sequence[Any], when_unknown: Sequence[Any]
) -> Callable[[Sequence[Any]], list[Any]]:
    """One function testing every condition in order. It returns ``(tag, result)`` for each
    condition that is not false, ``result`` being what ``condition.test(values)`` returns and
    ``tag`` the condition's ``when_unknown`` tag if it is None, else its ``when_true`` tag;
    unknown results whose ``when_unknown`` tag is None are left out."""
    source = _Source()
    source.line(0, "def batch(values):")
    source.line(1, "found = []")
    for condition, true_tag, unknown_tag in zip(conditions, when_true, when_unknown, strict=True):
        result = source.temporary()
        _emit(condition.root, source, 1, result)
        if unknown_tag is None:
            source.line(1, f"if {result} is not False and {result} is not None:")
            source.line(2, f"found.append(({source.constant(true_tag)}, {result}))")
            continue
        source.line(1, f"if {result} is None:")
        source.line(2, f"found.append(({source.constant(unknown_tag)}, None))")
        source.line(1, f"elif {result} is not False:")
        source.line(2, f"found.append(({source.constant(true_tag)}, {result}))")
    source.line(1, "return found")
    namespace: dict[str, Any] = {"MISSING": MISSING, **source.constants}
    # exec of text written above from compiled nodes only: indexes, operator expressions
    # and generated names; every value of a rule file is passed in as a constant.
    code = compile("\n".join(source.lines) + "\n", "<intake.assessment.conditions.batch_test>", "exec")
    exec(code, namespace)  # noqa: S102  # nosec B102 # generated from compiled nodes, rule values as constants
    batch: Callable[[Sequence[Any]], list[Any]] = namespace["batch"]
    return batch

"""Conditions: compiled once from YAML, evaluated in three-valued logic, with a trace.

``compile_condition(node, catalogue, file=..., rule_id=..., errors=...)`` is the one
compiler: it turns the :class:`~intake.assessment.yamlkit.Located` mapping of a ``when:``
into a :class:`Condition`, checking every field, operator and value against the
:class:`~intake.assessment.facts.Catalogue`; each problem is appended to ``errors`` as
a located :class:`~intake.assessment.errors.RuleFileError` and the result is None.

A result is ``True``, ``False`` or ``None`` (unknown: an answer it needs is missing).
``all``, ``any`` and ``not`` combine unknowns the Kleene way.

``Condition.trace(values)`` is the one evaluator: it evaluates every node (no
short-circuit) and returns what each one saw (its result and, for a test, the fact's
value). Everything that explains a result reads that trace: the answers that made it
true (``triggers``), the date it stops holding (``lift_date``), the answers that leave it
unknown (``unanswered``), rule-test coverage and ``flask rules explain --why-not``.
The engine decides which rules flag with one fast path, a function generated per ruleset
(:mod:`intake.assessment.fastpath`), tested equal to this evaluator; it traces only the
rules that flag, to explain them.

Every node has an ``id`` (0 for the root, then depth-first in file order) that is stable
as long as the rule's condition is not edited, and a ``description`` such as
``health.pregnant equals true``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

from ..answers.areas import AREA_VALUES, overlapping
from .errors import RuleFileError
from .facts import LIST_TYPES, MISSING, REFERENCE_INDEX, Catalogue, Facts, FieldSpec, has_evidence, suggestion
from .model import Trigger
from .yamlkit import Located

Result = bool | None

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
    # Only on the fields whose choices are treatment areas (see is_area_field).
    "overlaps": frozenset({"choice", "choice_list"}),
}
#: The operators that compare a date with the reference date.
DATE_OPERATORS: Final = frozenset({"within_days_before", "within_days_after"})
#: The operators whose operand is a set of values (kept as a frozenset by the leaf).
SET_OPERATORS: Final = frozenset({"in", "not_in", "includes_any", "includes_all", "includes_none"})
#: What ``overlaps`` accepts besides the areas: "elsewhere", which overlaps nothing.
_NOT_AN_AREA: Final = frozenset({"other"})
TYPE_WORDS: Final = {
    "bool": "yes/no", "number": "number", "text": "text", "choice": "choice",
    "choice_list": "list", "text_list": "list of text", "date": "date", "datetime": "date and time",
}


class Seen(NamedTuple):
    """What one node saw in a traced evaluation: its result and, for a test, the fact's value."""

    result: Result
    value: Any = None


Trace = dict[int, Seen]


def is_area_field(spec: FieldSpec) -> bool:
    """True for a field whose choices are treatment areas (``goals.areas``): ``overlaps`` tests it."""
    return spec.choices is not None and bool(spec.choices) and frozenset(spec.choices) <= (
        frozenset(AREA_VALUES) | _NOT_AN_AREA)


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
    """A compiled condition node."""

    __slots__ = ("id", "description", "line", "column")

    kind: str = ""

    def __init__(self, node_id: int, description: str, line: int, column: int):
        self.id = node_id
        self.description = description
        self.line = line
        self.column = column

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

    def evaluate(self, values: Sequence[Any], trace: Trace) -> Result:
        """Evaluate this node and every node below (no short-circuit), recording each in ``trace``."""
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


class Leaf(Node):
    """A test of one field with one operator."""

    __slots__ = ("field", "operator", "operand", "index", "wanted", "evidence_of")
    kind = "field"

    def __init__(self, node_id: int, line: int, column: int, field: FieldSpec, operator: str, operand: Any):
        super().__init__(node_id, f"{field.name} {operator} {format_value(operand)}", line, column)
        self.field = field
        self.operator = operator
        self.operand = operand
        self.index = field.index
        #: What the value is compared with: a frozenset for the set operators and for
        #: (not_)equals on a list field (lists are equal whatever their order); for overlaps,
        #: every area that overlaps one listed (intake.answers.areas); else the operand.
        self.wanted: Any = (
            overlapping(operand) if operator == "overlaps"
            else frozenset(operand)
            if operator in SET_OPERATORS or (operator in ("equals", "not_equals") and field.type in LIST_TYPES)
            else operand
        )
        #: The classes to show the medicines of, for a medication fact; None for other facts.
        self.evidence_of: tuple[Any, ...] | None = (
            (operand if isinstance(operand, tuple) else ()) if has_evidence(field.name) else None
        )

    def check(self, value: Any, reference: Any) -> Result:
        """This test on one value (MISSING: unanswered), dates compared with ``reference``.

        Only derived dates can be None ("no such date"): date tests are then false, and
        Python's == and != already give the right answer for the other operators.
        """
        operator, wanted = self.operator, self.wanted
        if operator == "answered":
            return (value is not MISSING and value is not None) is bool(wanted)
        if value is MISSING:
            return None
        if operator == "within_days_before":
            return value is not None and 0 <= (reference - value).days < wanted
        if operator == "within_days_after":
            return value is not None and 0 <= (value - reference).days <= wanted
        result: Result  # what the operators give (bool for the values facts hold)
        if operator in ("equals", "not_equals"):
            equal = (frozenset(value) == wanted) if self.field.type in LIST_TYPES else (value == wanted)
            result = equal if operator == "equals" else not equal
        elif operator == "in":
            result = value in wanted
        elif operator == "not_in":
            result = value not in wanted
        elif operator == "includes_any":
            result = not wanted.isdisjoint(value)
        elif operator == "includes_all":
            result = wanted.issubset(value)
        elif operator == "includes_none":
            result = wanted.isdisjoint(value)
        elif operator == "less_than":
            result = value < wanted
        elif operator == "at_most":
            result = value <= wanted
        elif operator == "greater_than":
            result = value > wanted
        elif operator == "at_least":
            result = value >= wanted
        elif operator == "is_empty":
            result = (len(value) == 0) is bool(wanted)
        elif operator == "overlaps":
            result = (not wanted.isdisjoint(value)) if self.field.type in LIST_TYPES else value in wanted
        else:  # pragma: no cover - the compiler allows no other
            raise ValueError(f"unknown operator {operator}")
        return result

    def evaluate(self, values: Sequence[Any], trace: Trace) -> Result:
        value = values[self.index] if self.index < len(values) else MISSING
        result = self.check(value, values[REFERENCE_INDEX])
        trace[self.id] = Seen(result, value)
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


class All(Node):
    """True when every part is true; false as soon as one is false."""

    __slots__ = ("parts",)
    kind = "all"

    def __init__(self, node_id: int, line: int, column: int, parts: tuple[Node, ...]):
        super().__init__(node_id, "all of", line, column)
        self.parts = parts

    @property
    def children(self) -> tuple[Node, ...]:
        return self.parts

    def evaluate(self, values: Sequence[Any], trace: Trace) -> Result:
        results = [part.evaluate(values, trace) for part in self.parts]
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


class AnyOf(Node):
    """True as soon as one part is true; false when every part is false."""

    __slots__ = ("parts",)
    kind = "any"

    def __init__(self, node_id: int, line: int, column: int, parts: tuple[Node, ...]):
        super().__init__(node_id, "any of", line, column)
        self.parts = parts

    @property
    def children(self) -> tuple[Node, ...]:
        return self.parts

    def evaluate(self, values: Sequence[Any], trace: Trace) -> Result:
        results = [part.evaluate(values, trace) for part in self.parts]
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


class Not(Node):
    """True when its part is false; unknown stays unknown."""

    __slots__ = ("part",)
    kind = "not"

    def __init__(self, node_id: int, line: int, column: int, part: Node):
        super().__init__(node_id, "not", line, column)
        self.part = part

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.part,)

    def evaluate(self, values: Sequence[Any], trace: Trace) -> Result:
        inner = self.part.evaluate(values, trace)
        result = None if inner is None else not inner
        trace[self.id] = Seen(result)
        return result

    def decisive(self, trace: Trace, want: bool) -> list[Leaf]:
        return self.part.decisive(trace, not want)


# --- the compiled condition of one rule ----------------------------------------------------


class Condition:
    """A compiled ``when``: the root node, every node by id, and readings of a trace."""

    __slots__ = ("root", "nodes")

    def __init__(self, root: Node):
        self.root = root
        self.nodes: tuple[Node, ...] = tuple(root.walk())

    def trace(self, facts: Facts | Sequence[Any]) -> Trace:
        """Evaluate every node (no short-circuit) and return what each one saw."""
        values = facts.values if isinstance(facts, Facts) else facts
        trace: Trace = {}
        self.root.evaluate(values, trace)
        return trace

    def evaluate(self, facts: Facts | Sequence[Any]) -> Result:
        """True, False or None (unknown) for one intake's facts (or values)."""
        return self.trace(facts)[self.root.id].result

    def lift_date(self, trace: Trace) -> dt.date | None:
        """When the condition stops holding, from its date tests; None if they do not tell."""
        return self.root.lift(trace) if trace[self.root.id].result is True else None

    def deciding_leaves(self, trace: Trace) -> list[Leaf]:
        """The tests that made the condition true (when unknown: the unanswered tests)."""
        result = trace[self.root.id].result
        if result is False:
            return []
        return self.root.decisive(trace, True) if result is True else self.root.unknowns(trace)

    def triggers(self, trace: Trace, facts: Facts | None = None) -> tuple[Trigger, ...]:
        """The answers that made the condition true (when unknown: the unanswered tests), one
        Trigger per distinct test, with the medicines behind medication facts."""
        found: list[Trigger] = []
        seen: set[str] = set()
        for leaf in self.deciding_leaves(trace):
            if leaf.description in seen:
                continue
            seen.add(leaf.description)
            evidence: tuple[str, ...] = ()
            if facts is not None and leaf.evidence_of is not None:
                evidence = facts.evidence(leaf.field.name, leaf.evidence_of)
            found.append(Trigger(leaf.field.name, trace[leaf.id].value, leaf.description, evidence,
                                 leaf.operator, leaf.operand))
        return tuple(found)

    def unanswered(self, trace: Trace) -> tuple[str, ...]:
        """The unanswered facts that leave the condition unknown (empty when it is decided)."""
        return tuple(dict.fromkeys(leaf.field.name for leaf in self.root.unknowns(trace)))

    def fields(self) -> tuple[str, ...]:
        """Every fact the condition reads, in file order."""
        return tuple(dict.fromkeys(n.field.name for n in self.nodes if isinstance(n, Leaf)))


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
                allowed = _allowed(spec)
                self.error(node.key_node("field"), f"the test of {name} has no operator (one of: {allowed})")
            return None
        if len(valid) > 1:
            self.error(node.key_node(valid[1]),
                       f"one operator per condition: found '{valid[0]}' and '{valid[1]}' "
                       "(combine conditions with 'all' or 'any')")
            return None
        operator = valid[0]
        if operator == "overlaps" and spec.type in OPERATORS[operator] and not is_area_field(spec):
            areas = ", ".join(name for name, field in self.catalogue.fields.items() if is_area_field(field))
            self.error(node.key_node(operator),
                       f"'overlaps' compares treatment areas: {name} is not an area field (area fields: {areas})")
            return None
        if spec.type not in OPERATORS[operator]:
            allowed = _allowed(spec)
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
        many = operator in ("in", "not_in", "includes_any", "includes_all", "includes_none", "overlaps") or (
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


def _allowed(spec: FieldSpec) -> str:
    """The operators that apply to ``spec``, for messages."""
    return ", ".join(op for op, types in OPERATORS.items()
                     if spec.type in types and (op != "overlaps" or is_area_field(spec)))


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



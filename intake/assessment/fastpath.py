"""The engine's fast path: generated functions, each tested equal to the plain path it replaces.

``batch_test``: every condition of a ruleset tested by one generated function.

The engine tests every rule on every intake; most do not fire. Walking each condition's
nodes (:meth:`~intake.assessment.conditions.Node.evaluate`, the one evaluator, which
records a trace) costs a Python call and a dict entry per node, about 150 per intake.
``batch_test`` writes the same tests, node for node and operation for operation, as the
source of one Python function, compiled once per ruleset (and once per protocol file,
for the plan's adjustments). The evaluator stays the reference: tests check, on random
values of every type, that both give the same result for every condition.

Why code generation: measured with ``bench/bench_rules.py`` (10,000 intakes, one core),
the rules on derived facts run within 3x of one hand-written function only this way:
the generated function is 2.35x from it, while the fastest closures of the previous engine
(one closure per node, specialised for the common operators) were 5.7x, and the plain
evaluator (which also records the trace) is about 32x.

``remembered``: per rule, the flag it builds, remembered by the values it depends on.
Each intake runs one per rule that flags (about 7). Written out as one small function per
rule it costs 2-3 µs less per intake than closures around ``itemgetter`` (measured:
about 5 % of a full assessment, which its goal of 20,000/s needs; bench/README.md).

This is the only module of the core that uses ``exec``; the source it runs is made of
catalogue indexes, operator expressions and generated names only: every value from a
rule file reaches the function as a constant in its globals, never as text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from .conditions import DATE_OPERATORS, All, AnyOf, Condition, Leaf, Node, Not
from .dates import english_date
from .facts import LIST_TYPES, MISSING, REFERENCE_INDEX

#: ``batch(values)`` -> ``[(tag, result), ...]`` for the conditions that are not false.
Batch = Callable[[Sequence[Any]], list[tuple[Any, Any]]]


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


#: What the generated code computes for each operator from the value v and Leaf.wanted c,
#: exactly as Leaf.check does (the value is known not to be MISSING).
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
    """Code that sets ``target`` to what the evaluator gives for ``node``."""
    if isinstance(node, Leaf):
        _emit_leaf(node, source, depth, target)
    elif isinstance(node, Not):
        inner = source.temporary()
        _emit(node.part, source, depth, inner)
        source.line(depth, f"{target} = None if {inner} is None else not {inner}")
    elif isinstance(node, (All, AnyOf)):
        # all: False at the first False part, else unknown if a part is, else True;
        # any: the same with True and False swapped. Later parts run only when needed
        # (the evaluator runs them all for its trace; the result is the same).
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


def _leaf_parts(leaf: Leaf, source: _Source, depth: int) -> tuple[str, str, bool]:
    """Loads the leaf's value into a temporary; returns (that temporary, the expression of its
    result when the value is not MISSING, whether MISSING makes the result unknown)."""
    value = source.temporary()
    source.line(depth, f"{value} = values[{leaf.index}]")
    operator, wanted = leaf.operator, leaf.wanted
    if operator == "answered":
        return value, f"({value} is not MISSING and {value} is not None) is {bool(wanted)}", False
    if operator in DATE_OPERATORS:
        days = source.constant(wanted)
        if operator == "within_days_before":
            test = f"0 <= (values[{REFERENCE_INDEX}] - {value}).days < {days}"
        else:
            test = f"0 <= ({value} - values[{REFERENCE_INDEX}]).days <= {days}"
        return value, f"{value} is not None and {test}", True
    if operator in ("equals", "not_equals"):
        constant = source.constant(wanted)
        equals = f"frozenset({value}) == {constant}" if leaf.field.type in LIST_TYPES else f"{value} == {constant}"
        return value, equals if operator == "equals" else f"not ({equals})", True
    if operator == "is_empty":
        return value, f"(len({value}) == 0) is {bool(wanted)}", True
    if operator == "overlaps":  # wanted: every area overlapping one listed, so a plain set test
        operator = "includes_any" if leaf.field.type in LIST_TYPES else "in"
    return value, _EXPRESSIONS[operator].format(v=value, c=source.constant(wanted)), True


def _emit_leaf(leaf: Leaf, source: _Source, depth: int, target: str) -> None:
    value, expression, unknown = _leaf_parts(leaf, source, depth)
    if unknown:
        source.line(depth, f"{target} = None if {value} is MISSING else {expression}")
    else:
        source.line(depth, f"{target} = {expression}")


def batch_test(conditions: Sequence[Condition], when_true: Sequence[Any], when_unknown: Sequence[Any]) -> Batch:
    """One function testing every condition in order. It returns ``(tag, result)`` for each
    condition that is not false, ``result`` being what the evaluator gives and ``tag`` the
    condition's ``when_unknown`` tag if it is None, else its ``when_true`` tag; unknown
    results whose ``when_unknown`` tag is None are left out."""
    source = _Source()
    source.line(0, "def batch(values):")
    source.line(1, "found = []")
    for condition, true_tag, unknown_tag in zip(conditions, when_true, when_unknown, strict=True):
        true_name = source.constant(true_tag)
        unknown_name = None if unknown_tag is None else source.constant(unknown_tag)
        result = source.temporary()
        if isinstance(condition.root, Leaf):
            # One test (most rules): decide on the value straight away, without a result of three values.
            value, expression, unknown = _leaf_parts(condition.root, source, 1)
            depth = 1
            if unknown:
                source.line(1, f"if {value} is MISSING:")
                source.line(2, f"found.append(({unknown_name}, None))" if unknown_name is not None else "pass")
                source.line(1, "else:")
                depth = 2
            source.line(depth, f"{result} = {expression}")
            source.line(depth, f"if {result} is not False:")
            source.line(depth + 1, f"found.append(({true_name}, {result}))")
            continue
        _emit(condition.root, source, 1, result)
        if unknown_name is None:
            source.line(1, f"if {result} is not False and {result} is not None:")
            source.line(2, f"found.append(({true_name}, {result}))")
            continue
        source.line(1, f"if {result} is None:")
        source.line(2, f"found.append(({unknown_name}, None))")
        source.line(1, f"elif {result} is not False:")
        source.line(2, f"found.append(({true_name}, {result}))")
    source.line(1, "return found")
    namespace: dict[str, Any] = {"MISSING": MISSING, **source.constants}
    # exec of text written above from compiled nodes only: indexes, operator expressions
    # and generated names; every value of a rule file is passed in as a constant.
    code = compile("\n".join(source.lines) + "\n", "<intake.assessment.fastpath.batch_test>", "exec")
    exec(code, namespace)  # noqa: S102  # nosec B102 # generated from compiled nodes, rule values as constants
    batch: Batch = namespace["batch"]
    return batch


def remembered(
    reads: Sequence[int],
    *,
    typed: Sequence[int],
    text_lists: Sequence[int],
    memo: dict[Any, Any],
    build: Callable[..., Any],
    remember: Callable[[dict[Any, Any], Any, Any], Any],
    formatted: bool,
    uses_on: bool,
    medicines: bool,
) -> Callable[..., Any]:
    """``handle(result, facts, format_date)``: ``build(...)``, remembered in ``memo`` by a key of
    the values at ``reads``, the types of the values at ``typed``, the date (``uses_on``) and
    the medicines' identities (``medicines``). A tuple at a ``text_lists`` index must hold
    text only, and every key part must be hashable, else it is built without the memo; with
    ``formatted`` and another formatter than english_date it is always built afresh."""
    source = ["def handle(result, facts, format_date):"]
    if formatted:
        source += ["    if format_date is not english_date:", "        return build(result, facts, format_date)"]
    source += ["    values = facts.values", "    try:"]
    parts = []
    for index in reads:
        source.append(f"        v{index} = values[{int(index)}]")
        parts.append(f"v{index}")
        if index in text_lists:
            source += [f"        if v{index}.__class__ is tuple:", f"            join(v{index})"]
        elif index in typed:
            parts.append(f"v{index}.__class__")
    if uses_on:
        parts.append("facts.on")
    if medicines:
        # Medicines by identity (Facts.medicines_key): the memo keeps them alive with the flag.
        parts.append("facts.medicines_key()")
    source += [
        f"        key = ({', '.join(parts)},)",
        "        found = memo_get(key)",
        "    except TypeError:",
        "        return build(result, facts, format_date)",
        "    if found is None:",
        "        entry = build(result, facts, format_date)",
        # With medicines, the memo holds them (and the allergies) too: (entry, them).
        "        remember(memo, key, (entry, facts.evidence_items()) if medicines else entry)",
        "        return entry",
        "    return found[0]" if medicines else "    return found",
    ]
    namespace: dict[str, Any] = {"english_date": english_date, "build": build, "join": "".join, "memo": memo,
                                 "memo_get": memo.get, "remember": remember, "medicines": medicines}
    # exec of the text above: indexes and fixed names only, no value from a rule file.
    code = compile("\n".join(source) + "\n", "<intake.assessment.fastpath.remembered>", "exec")
    exec(code, namespace)  # noqa: S102  # nosec B102 # generated above from indexes and fixed names
    handle: Callable[..., Any] = namespace["handle"]
    return handle

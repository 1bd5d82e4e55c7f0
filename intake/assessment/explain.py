"""Plain-text explanations: what an assessment found and why, and why a rule did not fire."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from .conditions import Leaf, Node, Trace, format_value
from .facts import derive_facts
from .model import Assessment, Flag
from .ruleset import Ruleset

MARKS = {True: "✓", False: "✗", None: "?"}
RESULT_WORDS = {True: "true", False: "false", None: "unknown (an answer is missing)"}


def explain(assessment: Assessment) -> str:
    """The assessment as text: outcome, every flag with its triggers and source, the instructions."""
    lines = [_headline(assessment), f"Ruleset version: {assessment.ruleset_version[:12]}"]
    if assessment.reference_date != assessment.on:
        lines.append(f"Appointment: {assessment.reference_date.isoformat()}")
    lines.append("")
    if not assessment.flags:
        lines.append("No flags.")
    for flag in assessment.flags:
        lines.extend(explain_flag(flag))
        lines.append("")
    if assessment.instructions:
        lines.append("Instructions for the patient:")
        for instruction in assessment.instructions:
            lines.append(f"  - {instruction.text} [{instruction.rule_id}]")
    return "\n".join(lines).rstrip() + "\n"


def _headline(assessment: Assessment) -> str:
    outcome = assessment.outcome
    if outcome == "defer":
        outcome += f" until {assessment.defer_until.isoformat()}" if assessment.defer_until else " (no date)"
    return f"Outcome: {outcome} (assessed on {assessment.on.isoformat()})"


def explain_flag(flag: Flag) -> list[str]:
    """The lines that explain one flag."""
    lines = [f"[{flag.severity}] {flag.title} ({flag.rule_id}) — {flag.file}:{flag.line}", f"  {flag.message}"]
    if flag.unanswered:
        lines.append(f"  not answered: {', '.join(flag.unanswered)}")
    for trigger in flag.triggered_by:
        lines.append(f"  because {trigger.field} is {_shown(trigger.value)} ({trigger.condition})")
        lines.extend(f"    {evidence}" for evidence in trigger.evidence)
    if flag.lifts_on:
        lines.append(f"  lifts on {flag.lifts_on.isoformat()}")
    lines.append(f"  source: {', '.join(flag.source)}")
    if flag.instruction is not None:
        lines.append(f"  patient: {flag.instruction.text}")
    return lines


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return value  # stored assessments hold dates as ISO text already
    return format_value(value)


def why_not_tree(rule_id: str, answers: Mapping[str, Any], ruleset: Ruleset, on: dt.date) -> dict[str, Any]:
    """The condition of ``rule_id`` evaluated for these answers, node by node (JSON-ready)."""
    rule = ruleset.rule(rule_id)
    facts = derive_facts(answers, ruleset.lexicon, on, ruleset.catalogue)
    trace = rule.when.trace(facts)
    result = trace[rule.when.root.id].result
    return {
        "rule_id": rule.id,
        "severity": rule.severity,
        "file": rule.file,
        "line": rule.line,
        "result": result,
        "if_unanswered": rule.if_unanswered,
        "verdict": _verdict(result, rule.if_unanswered),
        "condition": _node_dict(rule.when.root, trace),
    }


def _node_dict(node: Node, trace: Trace) -> dict[str, Any]:
    seen = trace[node.id]
    data: dict[str, Any] = {"id": node.id, "description": node.description, "result": seen.result,
                            "line": node.line}
    if node.children:
        data["parts"] = [_node_dict(child, trace) for child in node.children]
    else:
        data["answer"] = format_value(seen.value)
    return data


def _verdict(result: bool | None, if_unanswered: str) -> str:
    if result is True:
        return "the rule fires"
    if result is False:
        return "the rule does not fire"
    return {
        "ask": "flagged as not answered (if_unanswered: ask)",
        "fire": "the rule fires as if yes (if_unanswered: fire)",
        "skip": "nothing is flagged (if_unanswered: skip)",
    }[if_unanswered]


def why_not(rule_id: str, answers: Mapping[str, Any], ruleset: Ruleset, on: dt.date) -> str:
    """The condition tree of ``rule_id`` with each node's result and the answer it read."""
    tree = why_not_tree(rule_id, answers, ruleset, on)
    lines = [
        f"Rule {tree['rule_id']} ({tree['severity']}) — {tree['file']}:{tree['line']}",
        f"Result: {RESULT_WORDS[tree['result']]} — {tree['verdict']}",
    ]
    _tree_lines(tree["condition"], 0, lines)
    return "\n".join(lines) + "\n"


def _tree_lines(node: Mapping[str, Any], depth: int, lines: list[str]) -> None:
    text = f"{'  ' * depth}{MARKS[node['result']]} {node['description']}"
    if "answer" in node:
        text += f" — answer: {node['answer']}"
    lines.append(text)
    for part in node.get("parts", ()):
        _tree_lines(part, depth + 1, lines)


#: Operators in plain words, for the rules page of the admin ("{field} {words} {value}").
OPERATOR_WORDS = {
    "equals": "is", "not_equals": "is not", "in": "is one of", "not_in": "is none of",
    "includes_any": "includes any of", "includes_all": "includes all of", "includes_none": "includes none of",
    "overlaps": "includes an area that is, contains or is part of",
    "less_than": "is less than", "at_most": "is at most", "greater_than": "is more than",
    "at_least": "is at least", "answered": "is answered", "is_empty": "is empty",
    "within_days_before": "was within this many days before the appointment:",
    "within_days_after": "is within this many days after the appointment:",
}


def _field_words(name: str) -> str:
    return name.replace("derived.", "").replace(".", " → ").replace("_", " ")


def describe_condition(node: Node) -> str:
    """A rule's condition in plain words: 'lifestyle → alcohol drinks per week is at least 1'."""
    return _describe(node, nested=False)


def _describe(node: Node, *, nested: bool = True) -> str:
    if isinstance(node, Leaf):
        operand = node.operand
        if node.operator == "answered":
            return f"{_field_words(node.field.name)} {'is answered' if operand else 'is not answered'}"
        if node.operator == "is_empty":
            return f"{_field_words(node.field.name)} {'is empty' if operand else 'is not empty'}"
        if isinstance(operand, bool):
            value = "yes" if operand else "no"
        elif isinstance(operand, (tuple, list, frozenset, set)):
            value = ", ".join(str(item) for item in operand)
        else:
            value = format_value(operand)
        return f"{_field_words(node.field.name)} {OPERATOR_WORDS.get(node.operator, node.operator)} {value}"
    parts = [_describe(child) for child in node.children]
    if node.kind == "not":
        return f"not ({_describe(node.children[0], nested=False)})"
    if len(parts) == 1:
        return parts[0]
    joined = (" and " if node.kind == "all" else " or ").join(parts)
    return f"({joined})" if nested else joined

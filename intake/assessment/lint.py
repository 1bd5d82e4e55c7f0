"""Lint across rule layers: findings a ruleset loads with, but a clinic should look at.

``lint(ruleset, asked)`` returns :class:`Finding` entries, most serious first:

- error: an ``override: true`` rule whose id no earlier folder has (a typo: the default
  it meant to replace still runs);
- warning: a rule that reads an answer the form does not ask (it can never be answered),
  two rules with the same condition and the same effect (one is redundant);
- warning: a patient-facing text (intake.assessment.texts) with no translation in an offered
  language's catalog (the patient reads it in the default language);
- info: a form question that no rule reads.

``asked`` is the set of dotted answer names the patient form asks (``section.field``);
the core does not know the form, the caller passes it (None skips those two checks).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final

from .conditions import DATE_OPERATORS, Leaf, Node
from .facts import EARLIEST
from .rules import Rule
from .ruleset import Ruleset
from .texts import patient_texts, untranslated

LEVELS: Final = ("error", "warning", "info")

#: The answers a derived fact is made from, so that a rule reading the fact reads them.
_DERIVED_FROM: Final = (
    ("derived.age", ("about.date_of_birth",)),
    ("derived.appointment_booked", ("about.appointment_date", "about.appointment_booked")),
    ("medications.", ("medications.items", "medications.has_medications")),
    ("treatments.last_on", ("treatments.items", "treatments.has_recent_treatments")),
    ("events.next_on", ("events.items", "events.has_upcoming_events")),
    ("allergies.classes", ("allergies.items", "allergies.has_allergies", "allergies.other_allergies")),
    ("allergies.reactions", ("allergies.items", "allergies.has_allergies")),
    ("allergies.unrecognised", ("allergies.items", "allergies.has_allergies")),
)


@dataclass(frozen=True, order=True)
class Finding:
    """One lint finding; ``file`` and ``line`` locate it when it concerns a rule."""

    rank: int
    level: str
    code: str
    message: str
    rule_id: str | None = None
    file: str = ""
    line: int = 0

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file else ""
        return f"{self.level}: {where}{self.message} [{self.code}]"


def _finding(level: str, code: str, message: str, rule: Rule | None = None, **where: Any) -> Finding:
    if rule is not None:
        where = {"rule_id": rule.id, "file": f"{rule.folder}/{rule.file}" if rule.folder else rule.file,
                 "line": rule.line, **where}
    return Finding(LEVELS.index(level), level, code, message, **where)


def condition_key(node: Node) -> Any:
    """The condition as a comparable value: the same tests, whatever the order of all/any parts."""
    if isinstance(node, Leaf):
        return node.description
    parts = tuple(condition_key(child) for child in node.children)
    if node.kind in ("all", "any"):
        parts = tuple(sorted(parts, key=repr))
    return (node.kind, parts)


def _effect(rule: Rule) -> Any:
    return (rule.severity, rule.defer_for_days, rule.instruction)


def answers_read(rule: Rule) -> set[str]:
    """The answers a rule reads, derived facts counted as the answers they come from."""
    found: set[str] = set()
    for node in rule.when.nodes:
        if isinstance(node, Leaf):
            # earliest.NAME reads NAME; a date reads how sure the patient was of it (NAME_precision).
            name = node.field.name.removeprefix(EARLIEST)
            found.update((node.field.name, name))
            if node.field.type == "date":
                found.add(f"{name}_precision")
            if node.operator in DATE_OPERATORS:  # compared with the appointment date
                found.update(("about.appointment_date", "about.appointment_booked"))
            for prefix, sources in _DERIVED_FROM:
                if name.startswith(prefix):
                    found.update(sources)
    return found


def lint(ruleset: Ruleset, asked: Collection[str] | None = None,
         catalogs: Mapping[str, Callable[[str], bool]] | None = None) -> list[Finding]:
    """Every finding about ``ruleset``, errors first.

    ``catalogs``: per offered language (but the default), whether its catalog translates a text.
    """
    findings: list[Finding] = []
    for note in ruleset.notes:
        if note.action == "override-unknown":
            findings.append(Finding(
                0, "error", "override-unknown",
                f"rule '{note.rule_id}' is marked override: true, but no earlier folder has a rule with that id",
                note.rule_id, f"{note.folder}/{note.file}", note.line,
            ))
    read: set[str] = set()
    for rule in ruleset.rules:
        reads = answers_read(rule)
        read |= reads
        if asked is None:
            continue
        for node in rule.when.nodes:
            if not isinstance(node, Leaf) or node.field.derived:
                continue
            if node.field.name not in asked:
                findings.append(_finding(
                    "warning", "not-asked",
                    f"rule '{rule.id}' reads '{node.field.name}', which the form does not ask", rule,
                    line=node.line,
                ))
    seen: dict[Any, Rule] = {}
    for rule in ruleset.rules:
        key = (condition_key(rule.when.root), _effect(rule))
        first = seen.setdefault(key, rule)
        if first is not rule:
            other = f"{first.folder}/{first.file}" if first.folder else first.file
            findings.append(_finding(
                "warning", "same-effect",
                f"rules '{first.id}' ({other}:{first.line}) and '{rule.id}' have the same condition "
                "and the same effect", rule,
            ))
    for language, item in untranslated(patient_texts(ruleset), catalogs or {}):
        excerpt = item.text if len(item.text) <= 60 else item.text[:57] + "..."
        findings.append(Finding(
            LEVELS.index("warning"), "warning", "untranslated",
            f"{language}: no translation of {item.field} of '{item.owner}' (\"{excerpt}\"): "
            f"patients reading {language} see it in the default language", item.owner, item.file, item.line,
        ))
    if asked is not None:
        for name in sorted(set(asked) - read):
            findings.append(_finding("info", "not-read", f"the form asks '{name}', and no rule reads it"))
    return sorted(findings)

"""The patient's answers in plain words, section by section, generated from the declaration.

Shown to the patient on the review and confirmation pages and to the practitioner on
the record and its print. Each answered question is a row: its short label and its
answer as the patient would say it (the label of a choice, "Agreed", a date in words);
follow-ups that were not asked are left out, a list of items becomes one entry per item.
Pure: translating and formatting dates are passed in by the web shell
(``intake.templating.describe_answers``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .approximate import approximate_words
from .questions import Question, precision_name, questions, rows_schema
from .sections import SECTION_TITLES, SECTIONS
from .vocabulary import N_, Choices


@dataclass(frozen=True)
class Wording:
    """How the page shows words and dates: the web shell's translation and date formats."""

    translate: Callable[[str], str]
    long_date: Callable[[str], str]
    date_time: Callable[[dt.datetime], str]


def _label(choices: Choices, value: Any, wording: Wording) -> str:
    label = next((label for v, label in choices if str(v) == str(value)), None)
    return wording.translate(label) if label else str(value)


def display_answer(question: Question, value: Any, wording: Wording) -> str | list[str] | None:
    """One answer as the patient would say it; None when there is nothing to show."""
    if question.kind == "agreement":
        return wording.translate(N_("Agreed") if value else N_("Not agreed"))
    if question.kind == "checklist":
        return [_label(question.choices, one, wording) for one in value or []] or wording.translate(N_("None"))
    if question.choices:
        return _label(question.choices, value, wording) if value not in (None, "") else None
    if question.kind == "date":
        return wording.long_date(value) if value else None
    if question.kind == "timestamp":
        return wording.date_time(dt.datetime.fromisoformat(value)) if value else None
    if value in (None, ""):
        return None
    return str(value)


def date_answer(value: Any, precision: str | None, wording: Wording) -> str | None:
    """A date the patient may not know exactly, as they said it: 'around March 2026 (not sure of the day)'."""
    if not value:
        return None
    if precision in (None, "", "exact"):
        return wording.long_date(value)
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    return approximate_words(day, precision, wording.translate, lambda shown: wording.long_date(shown.isoformat()))


def _is_blank(schema: Any, item: Mapping[str, Any]) -> bool:
    return all(item.get(name) in (None, "", []) for name, _question in questions(schema))


def answer_rows(schema: Any, given: Mapping[str, Any], answers: Mapping[str, Any],
                wording: Wording) -> list[dict[str, Any]]:
    """The rows of one section (or one list item): ``{"label", "value"}``, or ``{"label", "entries"}`` for a list."""
    rows = []
    for name, question in questions(schema):
        condition = question.asked_if
        if condition is not None:
            parent = condition.read(answers) if condition.section else given.get(condition.answer)
            if not condition.holds(parent):
                continue
        if question.gate is not None and given.get(name) is None:
            continue  # "not yet" (the gate's no): nothing to show
        if question.precision_of is not None:
            continue  # "How sure are you?" is said with its date
        label = wording.translate(question.short_label)
        row = rows_schema(schema._declared_fields[name])
        if row is not None:
            entries = [_item(row, item, answers, wording) for item in given.get(name) or []
                       if not _is_blank(row, item)]
            if entries:
                rows.append({"label": label, "entries": entries})
            continue
        value = (date_answer(given.get(name), given.get(precision_name(name)), wording)
                 if question.may_be_approximate else display_answer(question, given.get(name), wording))
        if value is not None:
            rows.append({"label": label, "value": value})
    return rows


def _item(row: Any, item: Mapping[str, Any], answers: Mapping[str, Any], wording: Wording) -> dict[str, Any]:
    """One medicine, treatment or event: its first answer as a title, then the details."""
    title, *details = answer_rows(row, item, answers, wording)
    return {"title": title["value"], "details": details}


def describe(answers: Mapping[str, Any] | None, wording: Wording) -> list[dict[str, Any]]:
    """Every section with its title and rows, and whether it was answered (JSON form of the answers)."""
    answers = answers or {}
    sections = []
    for section, schema in SECTIONS.items():
        given = answers.get(section)
        sections.append({
            "section": section,
            "title": wording.translate(SECTION_TITLES[section]),
            "rows": answer_rows(schema, given, answers, wording) if given is not None else [],
            "answered": given is not None,
            "change_url": None,
        })
    return sections


def _flatten(rows: list[dict[str, Any]], prefix: str = "") -> dict[str, str]:
    """Rows as label → answer text; a list item's answers are labelled by its title."""
    found: dict[str, str] = {}
    for row in rows:
        label = f"{prefix}{row['label']}"
        if "entries" in row:
            for entry in row["entries"]:
                title = f"{label}: {entry['title']}"
                found[title] = entry["title"]
                found.update(_flatten(entry["details"], f"{title} \u2014 "))
            continue
        value = row["value"]
        found[label] = ", ".join(value) if isinstance(value, list) else str(value)
    return found


@dataclass(frozen=True)
class AnswerChange:
    """One answer that differs between two submissions: section title, question, before and after (None: absent)."""

    section: str
    question: str
    before: str | None
    after: str | None


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, wording: Wording) -> list[AnswerChange]:
    """What the patient changed between two answers documents, answer by answer, in section order."""
    found = []
    for old, new in zip(describe(before, wording), describe(after, wording), strict=True):
        old_rows, new_rows = _flatten(old["rows"]), _flatten(new["rows"])
        for question in [*old_rows, *(q for q in new_rows if q not in old_rows)]:
            if old_rows.get(question) != new_rows.get(question):
                found.append(AnswerChange(new["title"], question, old_rows.get(question), new_rows.get(question)))
    return found

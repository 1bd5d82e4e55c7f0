"""What every template can use: the clinic's name, translated labels, dates in plain words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from flask import Flask
from flask_babel import format_date, format_datetime, gettext

from .. import answers
from ..answers import summary, triggers
from ..assessment.sources import Source, resolve_legacy
from ..rulesets.active import active_ruleset


def long_date(value: dt.date | str | None) -> str:
    """'Thursday 3 December 2026', in the patient's language."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return format_date(value, "EEEE d MMMM y")


def describe_answers(document: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Every section of an answers document with its answers in plain words, in the reader's language."""
    return summary.describe(document, _wording())


def _wording() -> summary.Wording:
    return summary.Wording(translate=gettext, long_date=long_date,
                           date_time=lambda moment: format_datetime(moment, "d MMMM y, HH:mm"))


def explain_triggers(flags: Sequence[Mapping[str, Any]], answers: Mapping[str, Any] | None,
                     class_labels: Mapping[str, str]) -> dict[str, list[triggers.TriggerWords]]:
    """Why each flag fired, in the reader's language: rule id → its triggers in plain words."""
    wording = _wording()
    return {flag["rule_id"]: [triggers.describe_trigger(t, answers or {}, wording, class_labels)
                              for t in flag.get("triggered_by") or []] for flag in flags}


def answer_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[summary.AnswerChange]:
    """What the patient changed between two submissions, answer by answer, in the reader's language."""
    return summary.changes(before, after, _wording())


def choice_label(choices: tuple[tuple[Any, str], ...], value: Any) -> str:
    """The translated label of a vocabulary value."""
    return gettext(answers.label_of(choices, value))


def cited_sources(cited: Sequence[str] | None) -> list[Source | str]:
    """The sources a rule cites, as entries of the active ruleset's bibliography (older labels
    resolved to today's ids); an id the bibliography does not hold stays as it is."""
    bibliography = active_ruleset().ruleset.sources
    return [bibliography.get(source_id, source_id) for source_id in resolve_legacy(list(cited or ()))]


def init_app(app: Flask) -> None:
    """Register the filters and globals."""
    app.add_template_filter(long_date)
    app.add_template_global(cited_sources)
    app.add_template_global(choice_label)
    app.jinja_env.globals["answers"] = answers


"""Lint across layers: unknown overrides, answers the form does not ask, questions no rule reads, twins."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from intake.assessment import load_ruleset
from intake.assessment.explain import describe_condition
from intake.assessment.lint import lint
from intake.rulesets.cli import form_questions, rules

from .support import make_rules

TWINS = """\
- id: drinks
  title: Drinks
  severity: precaution
  when: {all: [{field: lifestyle.alcohol_drinks_per_week, at_least: 1}, {field: lifestyle.smoking, equals: current}]}
  message: One.
  source: [konda-thappa-mesotherapy-2013]

- id: drinks-again
  title: Drinks again
  severity: precaution
  when: {all: [{field: lifestyle.smoking, equals: current}, {field: lifestyle.alcohol_drinks_per_week, at_least: 1}]}
  message: Two, worded otherwise.
  source: [konda-thappa-mesotherapy-2013]

- id: drinks-deferred
  title: Drinks deferred
  severity: defer
  when: {all: [{field: lifestyle.smoking, equals: current}, {field: lifestyle.alcohol_drinks_per_week, at_least: 1}]}
  message: Same condition, another effect.
  source: [konda-thappa-mesotherapy-2013]
"""

RULES = """\
- id: pregnant
  title: Pregnant
  severity: defer
  when: {field: health.pregnant, equals: true}
  message: Pregnant.
  source: [konda-thappa-mesotherapy-2013]

- id: tanned
  title: Tanned
  severity: precaution
  when: {field: lifestyle.recent_tanning, equals: true}
  message: Tanned.
  source: [konda-thappa-mesotherapy-2013]
"""


def test_findings(tmp_path: Path) -> None:
    defaults = make_rules(tmp_path / "d", RULES)
    clinic = tmp_path / "c"
    (clinic / "precautions").mkdir(parents=True)
    (clinic / "precautions" / "twins.yaml").write_text(TWINS)
    (clinic / "precautions" / "typo.yaml").write_text(
        "- id: pregnnant\n  title: Pregnnant\n  override: true\n  severity: defer\n"
        "  when: {field: health.pregnant, equals: true}\n"
        "  message: Typo.\n  source: [konda-thappa-mesotherapy-2013]\n")
    ruleset = load_ruleset([defaults, clinic])
    asked = {"health.pregnant", "lifestyle.alcohol_drinks_per_week", "lifestyle.smoking", "about.full_name"}
    findings = lint(ruleset, asked)
    summary = [(f.level, f.code, f.rule_id) for f in findings]
    assert summary == [
        ("error", "override-unknown", "pregnnant"),
        ("warning", "not-asked", "tanned"),
        ("warning", "same-effect", "drinks-again"),
        ("warning", "same-effect", "pregnnant"),
        ("info", "not-read", None),
    ]
    assert findings[0].file == f"{clinic}/precautions/typo.yaml" and findings[0].line == 1
    assert "lifestyle.recent_tanning" in findings[1].message
    assert "'drinks'" in findings[2].message and f"{clinic}/precautions/twins.yaml:1" in findings[2].message
    assert "'pregnant'" in findings[3].message
    assert findings[4].message == "the form asks 'about.full_name', and no rule reads it"
    # Without the form's questions, only the rule-to-rule findings remain.
    assert [f.code for f in lint(ruleset)] == ["override-unknown", "same-effect", "same-effect"]


def test_the_shipped_rules_have_no_error_or_warning() -> None:
    ruleset = load_ruleset(Path(__file__).resolve().parents[2] / "rules")
    findings = lint(ruleset, form_questions())
    assert [f for f in findings if f.level != "info"] == []
    assert "about.full_name" in {f.message.split("'")[1] for f in findings}
    assert "health.pregnant" in form_questions()


def test_cli_lint_exits_1_on_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = make_rules(tmp_path / "d", RULES)
    monkeypatch.delenv("RULES_DIRS", raising=False)
    result = CliRunner().invoke(rules, ["lint", "--no-info", str(defaults)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("0 error(s), 0 warning(s), ")  # the info findings are counted, not shown
    clinic = tmp_path / "c"
    (clinic / "precautions").mkdir(parents=True)
    (clinic / "precautions" / "typo.yaml").write_text(
        "- id: pregnnant\n  title: Pregnnant\n  override: true\n  severity: info\n"
        "  when: {field: health.pregnant, equals: true}\n"
        "  message: Typo.\n  source: [konda-thappa-mesotherapy-2013]\n")
    result = CliRunner().invoke(rules, ["lint", str(defaults), str(clinic)])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {clinic}/precautions/typo.yaml:1: rule 'pregnnant' is marked override")


def test_describe_condition_in_plain_words(tmp_path: Path) -> None:
    ruleset = load_ruleset(make_rules(tmp_path / "d", TWINS))
    assert describe_condition(ruleset.rule("drinks").when.root) == (
        "lifestyle → alcohol drinks per week is at least 1 and lifestyle → smoking is current")
    ruleset = load_ruleset(make_rules(tmp_path / "e", RULES))
    assert describe_condition(ruleset.rule("pregnant").when.root) == "health → pregnant is yes"


def test_reading_a_date_or_its_earliest_day_reads_how_sure_the_patient_was(tmp_path: Path) -> None:
    ruleset = load_ruleset(make_rules(tmp_path, """\
- id: drank-maybe
  title: Drank maybe
  severity: info
  when: {not: {field: earliest.lifestyle.last_drink_on, within_days_before: 3}}
  message: Maybe.
  source: [konda-thappa-mesotherapy-2013]
"""))
    asked = {"lifestyle.last_drink_on", "lifestyle.last_drink_on_precision", "health.delivery_date_precision"}
    assert [f.message for f in lint(ruleset, asked)] == [
        "the form asks 'health.delivery_date_precision', and no rule reads it"]

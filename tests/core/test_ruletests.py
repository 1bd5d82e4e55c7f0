"""The rule-test runner: cases pass or fail with a readable diff, typos are located, coverage is measured."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.assessment import load_ruleset
from intake.assessment.ruletests import RuleTestReport, run_rule_tests

from .support import BASES, PASSING, SOURCES
from .support import RULETEST_RULES as RULES
from .support import SMALL_LEXICON as LEXICON


@pytest.fixture
def rules_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    root = Path("rules")
    (root / "precautions").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "sources.yaml").write_text(SOURCES)
    (root / "medications.yaml").write_text(LEXICON)
    (root / "precautions" / "rules.yaml").write_text(RULES)
    (root / "tests" / "bases.yaml").write_text(BASES)
    return root


def run(root: Path, cases: str, min_coverage: float | None = None) -> RuleTestReport:
    (root / "tests" / "cases.yaml").write_text(cases)
    return run_rule_tests(load_ruleset(root), min_coverage=min_coverage)


def test_passing_cases_and_coverage(rules_dir: Path) -> None:
    report = run(rules_dir, PASSING)
    assert [case.passed for case in report.cases] == [True, True, True]
    assert report.ok
    coverage = report.coverage
    assert coverage.never_fired == ["alcohol"]
    # five nodes (anticoagulant 1, alcohol 3, recent-filler 1), each to be seen true and false
    assert coverage.branches_total == 10
    assert coverage.branches_covered == 7
    assert coverage.percent == pytest.approx(70.0)
    text = report.format()
    assert "3 of 3 cases passed" in text
    assert "Coverage: 2 of 3 rules fired (66.7%); 7 of 10 condition branches seen (70.0%)" in text
    assert "Rules no case fires: alcohol" in text
    assert (
        "rules/precautions/rules.yaml:14 [rule alcohol] node 1 'lifestyle.alcohol_drinks_per_week at_least "
        "1': never true"
    ) in text


def test_min_coverage_fails_the_run_below_it(rules_dir: Path) -> None:
    assert run(rules_dir, PASSING, min_coverage=70).ok
    report = run(rules_dir, PASSING, min_coverage=90)
    assert not report.ok
    assert "FAIL coverage 70.0% is below the minimum 90%" in report.format()


def test_a_failing_case_shows_what_differs(rules_dir: Path) -> None:
    cases = """\
- name: wrong expectations
  on: 2026-11-25
  answers: base
  change:
    lifestyle.alcohol_drinks_per_week: 3
  expect:
    outcome: suitable
    flags: [recent-filler]
    flags_exclude: [alcohol]
    defer_until: 2026-12-01
    instructions_include: [anticoagulant]
"""
    report = run(rules_dir, cases)
    assert not report.ok
    [case] = report.failures
    assert (case.file, case.line) == ("rules/tests/cases.yaml", 1)
    assert case.problems == (
        "outcome: expected suitable, got precaution",
        "flags: expected [recent-filler], got [alcohol]",
        "  missing:    recent-filler",
        "  unexpected: alcohol [precaution] because lifestyle.alcohol_drinks_per_week is 3",
        "flags_exclude: alcohol [precaution] because lifestyle.alcohol_drinks_per_week is 3 fired",
        "defer_until: expected 2026-12-01, got none",
        "instructions_include: no instruction from anticoagulant",
    )
    assert report.format().startswith("FAIL rules/tests/cases.yaml:1 wrong expectations\n  outcome: expected")


def test_mistakes_in_cases_are_located(rules_dir: Path) -> None:
    cases = """\
- name: typo in a changed answer
  on: 2026-11-25
  answers: base
  change:
    lifestyle.alcohol_drinks_per_week: lots
  expect: {outcome: suitable}

- name: unknown base and rule id
  on: 2026-11-25
  answers: bsae
  expect:
    flags: [alcohol, anticoagulent]

- name: unknown key
  on: 2026-11-25
  answers: base
  expcet: {outcome: suitable}

- name: a change that is not section.field
  on: 2026-11-25
  answers: base
  change:
    alcohol: 3
  expect: {outcome: suitable}
"""
    report = run(rules_dir, cases)
    assert [str(e) for e in report.errors] == [
        "rules/tests/cases.yaml:5:40: case 'typo in a changed answer': answers "
        "lifestyle.alcohol_drinks_per_week: Not a valid integer.",
        "rules/tests/cases.yaml:10:12: case 'unknown base and rule id': unknown base 'bsae' (did you mean "
        "'base'?)",
        "rules/tests/cases.yaml:12:22: case 'unknown base and rule id': unknown rule id 'anticoagulent' in "
        "flags (did you mean 'anticoagulant'?)",
        "rules/tests/cases.yaml:14:3: case 'unknown key': missing 'expect'",
        "rules/tests/cases.yaml:17:3: case 'unknown key': unknown key 'expcet' (did you mean 'expect'?)",
        "rules/tests/cases.yaml:23:5: case 'a change that is not section.field': 'alcohol' is not a dotted "
        "name 'section.field' (a list is changed whole, e.g. medications.items)",
    ]
    assert report.cases == []
    assert not report.ok


def test_a_wrong_answer_in_a_base_points_into_bases_yaml(rules_dir: Path) -> None:
    (rules_dir / "tests" / "bases.yaml").write_text(BASES.replace("sex: female", "sex: femal"))
    report = run(rules_dir, PASSING.split("\n\n")[0] + "\n")
    assert [str(e) for e in report.errors] == [
        "rules/tests/bases.yaml:5:10: case 'a healthy patient is suitable': answers about.sex: "
        "Choose one of the options given.",
    ]


def test_answers_are_checked_against_the_case_date(rules_dir: Path) -> None:
    cases = PASSING.split("\n\n")[0].replace("on: 2026-11-25", "on: 2026-12-10") + "\n"
    report = run(rules_dir, cases)
    assert [str(e) for e in report.errors] == [
        "rules/tests/bases.yaml:7:23: case 'a healthy patient is suitable': answers about.appointment_date: "
        "The appointment date cannot be in the past.",
    ]


class _Plan:
    def to_dict(self) -> dict[str, object]:
        return {
            "status": "scheduled",
            "interval_days": 14,
            "sessions": [{"on": "2026-12-03", "areas": ["face"]}, {"on": "2026-12-17", "areas": ["face"]}],
        }


class _Protocols:
    def build(self, *_args: object, **_options: object) -> _Plan:
        return _Plan()


def test_plan_expectations_compare_only_the_keys_written(rules_dir: Path) -> None:
    (rules_dir / "tests" / "cases.yaml").write_text("""\
- name: the plan matches where it is written
  on: 2026-11-25
  answers: base
  expect:
    plan: {status: scheduled, sessions: [{on: 2026-12-03}, {areas: [face]}]}

- name: the plan differs
  on: 2026-11-25
  answers: base
  expect:
    plan:
      interval_days: 21
      sessions: [{on: 2026-12-03}, {on: 2026-12-18}]
      depth_mm: 1
""")
    ruleset = load_ruleset(rules_dir)
    ruleset.protocols = _Protocols()
    report = run_rule_tests(ruleset)
    assert [case.passed for case in report.cases] == [True, False]
    assert report.cases[1].problems == (
        "plan.interval_days: expected 21, got 14",
        "plan.sessions[1].on: expected '2026-12-18', got '2026-12-17'",
        "plan.depth_mm: expected 1, but the plan has no 'depth_mm'",
    )


def test_plan_expectations_without_protocols_fail_clearly(rules_dir: Path) -> None:
    report = run(rules_dir, "- name: p\n  on: 2026-11-25\n  answers: base\n  expect: {plan: {status: x}}\n")
    assert report.cases[0].problems == ("plan: expected a plan, but the ruleset has no protocols",)


def test_asked_tells_a_question_from_a_rule_that_fired(rules_dir: Path) -> None:
    cases = """\
- name: unanswered drinking is asked
  on: 2026-11-25
  answers: base
  change:
    lifestyle.alcohol_drinks_per_week: null
  expect:
    asked: [alcohol]

- name: a drinker is not merely asked
  on: 2026-11-25
  answers: base
  change:
    lifestyle.alcohol_drinks_per_week: 3
  expect:
    asked: [alcohol, recent-filler]
"""
    report = run(rules_dir, cases)
    [case] = report.failures
    assert case.name == "a drinker is not merely asked"
    assert case.problems == (
        "asked: alcohol [precaution] because lifestyle.alcohol_drinks_per_week is 3 fired on the answers, "
        "it did not ask",
        "asked: recent-filler did not flag",
    )

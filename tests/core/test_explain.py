"""Explanations: an assessment as text, and why a rule did or did not fire."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from intake.assessment import Assessment, Ruleset, assess, load_ruleset
from intake.assessment.explain import explain, why_not, why_not_tree

from .support import ON, answers, make_rules, taking


@pytest.fixture(scope="module")
def ruleset(tmp_path_factory: pytest.TempPathFactory) -> Ruleset:
    return load_ruleset(make_rules(tmp_path_factory.mktemp("rules")))


def test_explain_lists_outcome_flags_triggers_sources_and_instructions(ruleset: Ruleset) -> None:
    given = answers(
        lifestyle__alcohol_drinks_per_week=3,
        health__recent_illness=True,
        **taking({"name": "Eliquis 5mg", "status": "taking", "prescribed": True}),
    )
    text = explain(assess(given, ruleset, ON))
    assert text.startswith(
        "Outcome: contraindicated (assessed on 2026-11-25)\n"
        f"Ruleset version: {ruleset.version[:12]}\n"
        "Appointment: 2026-12-03\n\n"
        "[contraindicated] Anticoagulant (anticoagulant) — precautions/main.yaml:16\n"
        "  Takes an anticoagulant.\n"
        "  because medications.taking is [doac] (medications.taking includes_any [doac])\n"
        "    Eliquis 5mg → doac (apixaban)\n"
        "  source: doctor-medica-restylane-vital-light\n"
        "  patient: Keep taking your blood thinner.\n\n"
        "[defer] Unwell (unwell) — precautions/main.yaml:53\n"
        "  Unwell.\n"
        "  because health.recent_illness is true (health.recent_illness equals true)\n"
        "  lifts on 2026-12-09\n"
        "  source: vedamurthy-mesotherapy-2007\n"
    )
    assert text.endswith(
        "Instructions for the patient:\n"
        "  - Keep taking your blood thinner. [anticoagulant]\n"
        "  - From Tuesday 1 December: no alcohol. [alcohol]\n"
        "  - From Wednesday 2 December, drink plenty of water. [adult-water]\n"
        "  - Thursday 3 December: arrive without make-up. [arrive-clean]\n"
    )


def test_explain_reads_a_stored_assessment_the_same_way(ruleset: Ruleset) -> None:
    result = assess(answers(lifestyle__alcohol_drinks_per_week=3), ruleset, ON)
    assert explain(Assessment.from_dict(result.to_dict())) == explain(result)


def test_explain_names_unanswered_questions_and_deferral(ruleset: Ruleset) -> None:
    given = answers(health__recent_illness=True)
    del given["health"]["pregnant"]
    text = explain(assess(given, ruleset, ON))
    assert text.startswith("Outcome: defer until 2026-12-09 (assessed on 2026-11-25)\n")
    assert (
        "[precaution] Pregnancy (pregnancy) — precautions/main.yaml:1\n"
        "  Not answered — ask the patient before treating (health.pregnant). Pregnant or breastfeeding.\n"
        "  not answered: health.pregnant\n"
    ) in text


def test_why_not_shows_each_node_with_the_answer_it_read(ruleset: Ruleset) -> None:
    text = why_not("alcohol", answers(), ruleset, ON)
    assert text == (
        "Rule alcohol (precaution) — precautions/main.yaml:25\n"
        "Result: false — the rule does not fire\n"
        "✗ lifestyle.alcohol_drinks_per_week at_least 1 — answer: 0\n"
    )


def test_why_not_walks_the_whole_tree_with_unknowns(ruleset: Ruleset) -> None:
    given = answers(health__breastfeeding=False)
    del given["health"]["pregnant"]
    assert why_not("pregnancy", given, ruleset, ON) == (
        "Rule pregnancy (defer) — precautions/main.yaml:1\n"
        "Result: unknown (an answer is missing) — flagged as not answered (if_unanswered: ask)\n"
        "? all of\n"
        "  ✓ about.sex not_equals male — answer: female\n"
        "  ? any of\n"
        "    ? health.pregnant equals true — answer: not answered\n"
        "    ✗ health.breastfeeding equals true — answer: false\n"
    )


def test_why_not_as_data(ruleset: Ruleset) -> None:
    tree = why_not_tree(
        "recent-filler",
        answers(
            treatments__has_recent_treatments=True,
            treatments__items=[{"kind": "filler", "on": "2026-11-20", "area": "neck"}],
        ),
        ruleset,
        dt.date(2026, 11, 25),
    )
    assert tree["result"] is True and tree["verdict"] == "the rule fires"
    assert tree["condition"]["parts"][0] == {
        "id": 1,
        "description": "treatments.last_on_planned_area.filler within_days_before 14",
        "result": True,
        "line": 48,
        "answer": "2026-11-20",
    }
    assert tree["condition"]["parts"][1]["answer"] == "none"


def test_why_not_an_unknown_rule_is_a_key_error(ruleset: Ruleset, tmp_path: Path) -> None:
    with pytest.raises(KeyError):
        why_not("no-such-rule", answers(), ruleset, ON)

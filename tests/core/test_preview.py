"""The preview core: both rulesets on a known set of intakes, exact figures; stored answers read back as loaded."""

from __future__ import annotations

import copy
import datetime as dt
import random
import sys
from pathlib import Path

import pytest
from hypothesis import given

from intake.answers import dump_answers, load_answers
from intake.assessment import Ruleset, load_ruleset
from intake.assessment.engine import assess
from intake.assessment.facts import FACT_GROUPS
from intake.assessment.preview import (
    PastIntake,
    fact_slots,
    flag_summary,
    preview,
    read_flag_summary,
    revive_stored,
    rule_delta,
)
from intake.demo.intakes import demo_documents
from tests.support.jobs import CLINIC_RULES

from .support import ON, SETTINGS, intakes
from .support import SHIPPED_RULES as RULES

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from bench_rules import make_intake  # noqa: E402


@pytest.fixture(scope="module")
def stored() -> list[PastIntake]:
    """The demo intakes as the app stores them (validated, then dumped), assessed on ON."""
    return [PastIntake(i, document["about"]["full_name"], dump_answers(load_answers(document, today=ON)), ON)
            for i, document in enumerate(demo_documents(ON), start=1)]


@pytest.fixture(scope="module")
def rulesets(tmp_path_factory: pytest.TempPathFactory):
    clinic = tmp_path_factory.mktemp("clinic")
    (clinic / "precautions").mkdir()
    (clinic / "precautions" / "ours.yaml").write_text(CLINIC_RULES)
    (clinic / "disabled.yaml").write_text("- heavy-drinking\n")
    return load_ruleset(RULES), load_ruleset([RULES, clinic])


def test_revived_answers_equal_loaded_answers(stored: list[PastIntake]) -> None:
    for intake in stored:
        assert revive_stored(intake.answers) == load_answers(intake.answers, today=ON)
    with pytest.raises(KeyError):
        revive_stored({"about": {}})


def test_exact_figures_on_the_demo_intakes(stored: list[PastIntake], rulesets) -> None:
    current, candidate = rulesets
    seen: list[int] = []
    result = preview(stored, current, candidate, progress=seen.append)
    assert len(seen) == len(stored) == 12
    assert (result.total, result.changed_count, result.outcome_changed) == (12, 2, 1)
    assert dict(result.transitions) == {("precaution", "defer"): 1}
    assert dict(result.outcomes_before) == {"suitable": 1, "precaution": 4, "defer": 4, "contraindicated": 3}
    assert dict(result.outcomes_after) == {"suitable": 1, "precaution": 3, "defer": 5, "contraindicated": 3}
    changes = {(c.label, c.before, c.after, c.added, c.removed) for c in result.changes}
    assert changes == {("Chloé Martin", "precaution", "defer", (), ("heavy-drinking",)),
                       ("Tom Becker", "precaution", "precaution", ("current-smoker",), ("heavy-drinking",))}
    totals = {t.rule_id: (t.before, t.after, t.added, t.removed) for t in result.rule_totals()}
    assert totals["heavy-drinking"] == (2, 0, 0, 2)
    assert totals["current-smoker"] == (0, 1, 1, 0)
    assert totals["cold-sore-history"] == (1, 1, 0, 0)
    assert result.rule_totals()[0].rule_id == "heavy-drinking"  # most changed first
    # Validating every document again gives the same figures.
    again = preview(stored, current, candidate, trusted=False)
    assert (again.total, again.changed_count, again.outcome_changed) == (12, 2, 1)
    assert preview(stored, current, candidate, max_rows=1).changes == result.changes[:1]


def test_a_document_that_no_longer_loads_is_skipped(stored: list[PastIntake], rulesets) -> None:
    current, candidate = rulesets
    broken = copy.deepcopy(stored[0].answers)
    broken["about"]["date_of_birth"] = "15 June 1991"
    result = preview([stored[1], PastIntake(99, "Broken", broken, ON)], current, candidate)
    assert result.total == 1
    assert [intake_id for intake_id, _ in result.skipped] == [99]
    assert preview([], current, current).total == 0


# --- the fast path (only the rules that differ run for the candidate) equals the plain path ---

STRICTER = """\
- id: cold-sore-history
  title: Cold sore history
  override: true
  severity: contraindicated
  if_unanswered: ask
  when: {field: skin.cold_sore_history, equals: true}
  message: Not with cold sores.
  source: [rule-default]

- id: current-smoker
  title: Current smoker
  severity: info
  when: {field: lifestyle.smoking, equals: current}
  message: Smoking slows healing.
  source: [rule-default]
"""


@pytest.fixture(scope="module")
def stricter(tmp_path_factory) -> Ruleset:
    clinic = tmp_path_factory.mktemp("stricter")
    (clinic / "precautions").mkdir()
    (clinic / "precautions" / "ours.yaml").write_text(STRICTER)
    (clinic / "disabled.yaml").write_text("- heavy-drinking\n- pregnancy\n")
    return load_ruleset([RULES, clinic])


def test_rule_delta_keeps_exactly_the_unchanged_rules(rulesets) -> None:
    current, candidate = rulesets
    kept, delta = rule_delta(current, candidate)
    assert {rule.id for rule in delta.rules} == {"cold-sore-history", "current-smoker"}
    assert kept == {rule.id for rule in candidate.rules} - {"cold-sore-history", "current-smoker"}
    assert "heavy-drinking" not in kept
    same, nothing = rule_delta(current, load_ruleset(RULES))  # loaded again: new objects, same rules
    assert same == {rule.id for rule in current.rules} and nothing.rules == ()


def test_fast_path_equals_plain_path_on_the_demo_intakes(stored: list[PastIntake], rulesets, stricter) -> None:
    current, candidate = rulesets
    for other in (candidate, stricter, current):
        fast = preview(stored, current, other)
        assert fast == preview(stored, current, other, fast=False)
    assert preview(stored, current, stricter).changed_count > 0


def test_fast_path_equals_plain_path_on_random_intakes(rulesets, stricter) -> None:
    current, candidate = rulesets
    rng = random.Random(20261201)
    documents = [dump_answers(load_answers(make_intake(i, rng), today=ON)) for i in range(400)]
    past = [PastIntake(i, f"#{i}", document, ON + dt.timedelta(days=i % 40)) for i, document in enumerate(documents)]
    for other in (candidate, stricter):
        fast = preview(past, current, other)
        assert fast == preview(past, current, other, fast=False)
        assert fast.changed_count > 0


@SETTINGS
@given(document=intakes())
def test_fast_path_equals_plain_path_on_hypothesis_intakes(rulesets, stricter, document) -> None:
    current, candidate = rulesets
    past = [PastIntake(1, "x", dump_answers(load_answers(document, today=ON)), ON)]
    for other in (candidate, stricter):
        assert preview(past, current, other) == preview(past, current, other, fast=False)


def test_a_label_function_is_called_only_for_the_changes_kept(stored: list[PastIntake], rulesets) -> None:
    current, candidate = rulesets
    asked: list[int] = []

    def label_of(intake: PastIntake):
        return lambda: asked.append(intake.id) or intake.label

    lazy = [intake._replace(label=label_of(intake)) for intake in stored]
    result = preview(lazy, current, candidate, max_rows=1)
    assert result.changed_count == 2 and len(asked) == 1
    assert result.changes == preview(stored, current, candidate, max_rows=1).changes


# --- the current side reused: only the facts the candidate's changed rules test are worked out ---

EACH_GROUP = """\
- id: clinic-blood-thinner
  title: Blood thinner
  severity: defer
  when: {field: medications.taking, includes_any: [doac, nsaid]}
  message: Any blood thinner, we defer.
  source: [rule-default]

- id: clinic-latex
  title: Latex
  severity: defer
  when: {field: allergies.classes, includes_any: [latex]}
  message: Latex, we defer.
  source: [rule-default]

- id: clinic-recent-filler
  title: Recent filler
  severity: contraindicated
  when: {field: treatments.last_on.filler, within_days_before: 30}
  message: Filler in the last month.
  source: [rule-default]

- id: clinic-event
  title: Event
  severity: precaution
  when: {field: events.next_on, within_days_after: 30}
  message: An event within a month.
  source: [rule-default]
"""


@pytest.fixture(scope="module")
def random_past(rulesets) -> list[PastIntake]:
    rng = random.Random(20261206)
    documents = [dump_answers(load_answers(make_intake(i, rng), today=ON)) for i in range(400)]
    return [PastIntake(i, f"#{i}", document, ON + dt.timedelta(days=i % 40)) for i, document in enumerate(documents)]


def reused(past: list[PastIntake], current: Ruleset) -> list[PastIntake]:
    """The intakes with their "before" side as a stored assessment carries it (flag_summary)."""
    stored = []
    for intake in past:
        assessed = assess(revive_stored(intake.answers), current, intake.on)
        stored.append(intake._replace(stored=(assessed.outcome, read_flag_summary(flag_summary(assessed.flags)))))
    return stored


def test_the_changed_rules_need_only_their_facts_groups(tmp_path, rulesets, stricter) -> None:
    current, candidate = rulesets
    assert current.catalogue.groups_reading(fact_slots(rule_delta(current, candidate)[1])) == frozenset()
    clinic = tmp_path / "clinic"
    (clinic / "precautions").mkdir(parents=True)
    (clinic / "precautions" / "ours.yaml").write_text(EACH_GROUP)
    each = load_ruleset([RULES, clinic])
    assert current.catalogue.groups_reading(fact_slots(rule_delta(current, each)[1])) == FACT_GROUPS


def test_reusing_the_current_side_equals_assessing_both_on_random_intakes(tmp_path, rulesets, stricter,
                                                                          random_past) -> None:
    current, candidate = rulesets
    clinic = tmp_path / "clinic"
    (clinic / "precautions").mkdir(parents=True)
    (clinic / "precautions" / "ours.yaml").write_text(EACH_GROUP)
    (clinic / "disabled.yaml").write_text("- event-within-7-days\n- anticoagulant\n")
    each = load_ruleset([RULES, clinic])
    past = reused(random_past, current)
    for other in (candidate, stricter, each, current):
        plain = preview(random_past, current, other, fast=False)
        assert preview(past, current, other) == plain
    assert preview(past, current, each).rules["clinic-blood-thinner"].added > 0
    assert preview(past, current, each).rules["clinic-event"].added > 0

"""Conditions: every operator, three-valued logic, traces, triggers and lift dates."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from intake.assessment.facts import MISSING

from .support import CONDITION_CATALOGUE, CONDITION_REF, compile_yaml, facts_values, fast_result

REF, CATALOGUE = CONDITION_REF, CONDITION_CATALOGUE
values = facts_values


def check(field: str, operator: str, operand: str, value: Any) -> bool | None:
    condition = compile_yaml(f"field: {field}\n{operator}: {operand}\n")
    facts = values(**{field.replace(".", "__"): value})
    fast = fast_result(condition, facts)
    traced = condition.trace(facts)[0].result
    assert fast is traced, "the fast and traced paths must agree"
    assert condition.evaluate(facts) is traced
    return fast


@pytest.mark.parametrize(
    ("field", "operator", "operand", "value", "expected"),
    [
        ("health.pregnant", "equals", "true", True, True),
        ("health.pregnant", "equals", "true", False, False),
        ("health.pregnant", "equals", "true", MISSING, None),
        ("health.pregnant", "not_equals", "true", False, True),
        ("health.pregnant", "not_equals", "true", True, False),
        ("health.pregnant", "not_equals", "true", MISSING, None),
        ("about.sex", "equals", "male", "male", True),
        ("about.sex", "not_equals", "male", "female", True),
        ("about.sex", "in", "[female, prefer_not_to_say]", "female", True),
        ("about.sex", "in", "[female, prefer_not_to_say]", "male", False),
        ("about.sex", "in", "[female]", MISSING, None),
        ("about.sex", "not_in", "[male]", "female", True),
        ("about.sex", "not_in", "[male]", "male", False),
        ("about.sex", "not_in", "[male]", MISSING, None),
        ("about.full_name", "equals", "Ana", "Ana", True),
        ("about.full_name", "in", "[Ana, Bea]", "Cy", False),
        ("skin.fitzpatrick_type", "in", "[4, 5, 6]", 5, True),
        ("skin.fitzpatrick_type", "in", "[4, 5, 6]", 3, False),
        ("skin.fitzpatrick_type", "at_least", "4", 4, True),
        ("skin.fitzpatrick_type", "at_least", "4", 3, False),
        ("lifestyle.alcohol_drinks_per_week", "less_than", "1", 0, True),
        ("lifestyle.alcohol_drinks_per_week", "less_than", "1", 1, False),
        ("lifestyle.alcohol_drinks_per_week", "at_most", "14", 14, True),
        ("lifestyle.alcohol_drinks_per_week", "at_most", "14", 15, False),
        ("lifestyle.alcohol_drinks_per_week", "greater_than", "14", 15, True),
        ("lifestyle.alcohol_drinks_per_week", "greater_than", "14", 14, False),
        ("lifestyle.alcohol_drinks_per_week", "at_least", "1", 1, True),
        ("lifestyle.alcohol_drinks_per_week", "at_least", "1", 0, False),
        ("lifestyle.alcohol_drinks_per_week", "at_least", "1", MISSING, None),
        ("derived.age", "less_than", "18", 17, True),
        ("health.conditions", "includes_any", "[diabetes, epilepsy]", ("epilepsy",), True),
        ("health.conditions", "includes_any", "[diabetes, epilepsy]", ("autoimmune",), False),
        ("health.conditions", "includes_any", "[diabetes]", (), False),
        ("health.conditions", "includes_any", "[diabetes]", MISSING, None),
        (
            "health.conditions",
            "includes_all",
            "[diabetes, epilepsy]",
            ("epilepsy", "diabetes", "other"),
            True,
        ),
        ("health.conditions", "includes_all", "[diabetes, epilepsy]", ("diabetes",), False),
        ("health.conditions", "includes_none", "[diabetes]", ("epilepsy",), True),
        ("health.conditions", "includes_none", "[diabetes]", ("diabetes",), False),
        ("health.conditions", "includes_none", "[diabetes]", MISSING, None),
        ("health.conditions", "is_empty", "true", (), True),
        ("health.conditions", "is_empty", "true", ("diabetes",), False),
        ("health.conditions", "is_empty", "false", ("diabetes",), True),
        ("health.conditions", "is_empty", "true", MISSING, None),
        ("health.conditions", "equals", "[epilepsy, diabetes]", ("diabetes", "epilepsy"), True),
        ("goals.areas", "equals", "[scalp]", ("scalp", "face"), False),
        ("medications.taking", "includes_any", "[doac]", ("doac", "nsaid"), True),
        ("medications.taking", "includes_none", "[doac]", ("nsaid",), True),
        ("medications.unrecognised", "is_empty", "false", ("Herbal X",), True),
        ("medications.unrecognised", "includes_any", "[Herbal X]", ("Herbal X",), True),
        ("health.delivery_date", "equals", "2026-06-01", dt.date(2026, 6, 1), True),
        ("health.delivery_date", "equals", "2026-06-01", dt.date(2026, 6, 2), False),
    ],
)
def test_operator(field: str, operator: str, operand: str, value: Any, expected: bool | None) -> None:
    assert check(field, operator, operand, value) is expected


@pytest.mark.parametrize("value", [True, False, 0, (), "", dt.date(2026, 1, 1)])
def test_answered_is_true_for_any_answer_even_false_or_empty(value: Any) -> None:
    field = {
        bool: "health.pregnant",
        int: "lifestyle.alcohol_drinks_per_week",
        tuple: "health.conditions",
        str: "about.phone",
        dt.date: "health.delivery_date",
    }[type(value)]
    assert check(field, "answered", "true", value) is True
    assert check(field, "answered", "false", value) is False


def test_answered_is_never_unknown() -> None:
    assert check("health.pregnant", "answered", "true", MISSING) is False
    assert check("health.pregnant", "answered", "false", MISSING) is True
    assert check("consent.signed_at", "answered", "true", MISSING) is False


@pytest.mark.parametrize(
    ("days_before_reference", "expected"),
    [(0, True), (1, True), (13, True), (14, False), (30, False), (-1, False)],
)
def test_within_days_before(days_before_reference: int, expected: bool) -> None:
    on = REF - dt.timedelta(days=days_before_reference)
    assert check("treatments.last_on.filler", "within_days_before", "14", on) is expected


@pytest.mark.parametrize(
    ("days_after_reference", "expected"),
    [(0, True), (1, True), (14, True), (15, False), (-1, False)],
)
def test_within_days_after(days_after_reference: int, expected: bool) -> None:
    on = REF + dt.timedelta(days=days_after_reference)
    assert check("events.next_on", "within_days_after", "14", on) is expected


def test_a_derived_date_that_does_not_exist_is_known_and_false() -> None:
    """No filler at all (None) is a known answer, unlike an unanswered section (MISSING)."""
    assert check("treatments.last_on.filler", "within_days_before", "14", None) is False
    assert check("events.next_on", "within_days_after", "14", None) is False
    assert check("medications.stopped_on.doac", "within_days_before", "3", None) is False
    assert check("medications.stopped_on.doac", "answered", "true", None) is False
    assert check("medications.stopped_on.doac", "answered", "false", None) is True
    assert check("events.next_on", "equals", "2026-12-10", None) is False
    assert check("events.next_on", "not_equals", "2026-12-10", None) is True
    assert check("treatments.last_on.filler", "within_days_before", "14", MISSING) is None


# --- Kleene logic ------------------------------------------------------------------------

THREE = (True, False, None)


def kleene_all(*results: bool | None) -> bool | None:
    if False in results:
        return False
    return None if None in results else True


def kleene_any(*results: bool | None) -> bool | None:
    if True in results:
        return True
    return None if None in results else False


def as_answer(result: bool | None) -> Any:
    return MISSING if result is None else result


BOOLS = ("skin.sensitive_skin", "skin.keloid_scarring", "skin.cold_sore_history")


def _combo_values(combo: tuple[bool | None, ...]) -> list[Any]:
    return values(**{name.replace(".", "__"): as_answer(r) for name, r in zip(BOOLS, combo, strict=False)})


@pytest.mark.parametrize("kind", ["all", "any"])
@pytest.mark.parametrize("width", [1, 2, 3])
def test_all_and_any_follow_kleene_logic(kind: str, width: int) -> None:
    body = "".join(f"  - field: {name}\n    equals: true\n" for name in BOOLS[:width])
    condition = compile_yaml(f"{kind}:\n{body}")
    reference = kleene_all if kind == "all" else kleene_any
    for combo in itertools.product(THREE, repeat=width):
        facts = _combo_values(combo)
        assert fast_result(condition, facts) is reference(*combo), combo
        assert condition.trace(facts)[0].result is reference(*combo), combo


def test_not_keeps_unknown_unknown() -> None:
    condition = compile_yaml("not:\n  field: skin.sensitive_skin\n  equals: true\n")
    assert [condition.evaluate(_combo_values((r,))) for r in THREE] == [False, True, None]


def test_nested_combinations() -> None:
    condition = compile_yaml(
        """
all:
  - field: about.sex
    not_equals: male
  - any:
      - field: health.pregnant
        equals: true
      - field: health.breastfeeding
        equals: true
"""
    )
    male = values(about__sex="male")  # never asked: pregnancy answers missing
    assert condition.evaluate(male) is False
    female_unanswered = values(about__sex="female")
    assert condition.evaluate(female_unanswered) is None
    assert condition.unanswered(condition.trace(female_unanswered)) == (
        "health.pregnant",
        "health.breastfeeding",
    )
    female_breastfeeding = values(about__sex="female", health__breastfeeding=True)
    assert condition.evaluate(female_breastfeeding) is True
    partly = values(about__sex="female", health__pregnant=False)
    assert condition.evaluate(partly) is None
    assert condition.unanswered(condition.trace(partly)) == ("health.breastfeeding",)


def test_trace_evaluates_every_node_even_after_the_answer_is_known() -> None:
    condition = compile_yaml(
        "all:\n  - field: skin.sensitive_skin\n    equals: true\n  - field: skin.keloid_scarring\n    "
        "equals: true\n"
    )
    trace = condition.trace(values(skin__sensitive_skin=False, skin__keloid_scarring=True))
    assert {node_id: seen.result for node_id, seen in trace.items()} == {0: False, 1: False, 2: True}
    assert trace[1].value is False and trace[2].value is True


# --- node ids, descriptions, triggers --------------------------------------------------------

NESTED = """
any:
  - all:
      - field: medications.taking
        includes_any: [doac, aspirin]
      - not:
          field: derived.appointment_booked
          equals: false
  - field: events.next_on
    within_days_after: 7
"""


def test_node_ids_are_depth_first_in_file_order_with_readable_descriptions() -> None:
    condition = compile_yaml(NESTED)
    assert [(n.id, n.description, n.line) for n in condition.nodes] == [
        (0, "any of", 2),
        (1, "all of", 3),
        (2, "medications.taking includes_any [doac, aspirin]", 4),
        (3, "not", 6),
        (4, "derived.appointment_booked equals false", 7),
        (5, "events.next_on within_days_after 7", 9),
    ]
    assert condition.fields() == ("medications.taking", "derived.appointment_booked", "events.next_on")


def test_triggers_name_only_the_answers_that_decided() -> None:
    condition = compile_yaml(NESTED)
    facts = values(medications__taking=("doac",), derived__appointment_booked=True, events__next_on=None)
    triggers = condition.triggers(condition.trace(facts))
    assert [(t.field, t.value, t.condition) for t in triggers] == [
        ("medications.taking", ("doac",), "medications.taking includes_any [doac, aspirin]"),
        # under `not`, the test that came out false is what made the `not` true
        ("derived.appointment_booked", True, "derived.appointment_booked equals false"),
    ]
    assert condition.triggers(condition.trace(values(medications__taking=(), events__next_on=None))) == ()


# --- lift dates ---------------------------------------------------------------------------


def lift(text: str, **given: Any) -> dt.date | None:
    condition = compile_yaml(text)
    return condition.lift_date(condition.trace(values(**given)))


FILLER = "field: treatments.last_on.filler\nwithin_days_before: 14\n"


def test_within_days_before_lifts_n_days_after_the_date() -> None:
    assert lift(FILLER, treatments__last_on__filler=dt.date(2026, 11, 20)) == dt.date(2026, 12, 4)


def test_within_days_after_lifts_the_day_after_the_event() -> None:
    text = "field: events.next_on\nwithin_days_after: 14\n"
    assert lift(text, events__next_on=dt.date(2026, 12, 10)) == dt.date(2026, 12, 11)


def test_lift_dates_cross_month_and_year_ends_and_leap_days() -> None:
    assert lift(FILLER, treatments__last_on__filler=dt.date(2026, 12, 25)) is None  # after the reference
    text = "field: treatments.last_on.filler\nwithin_days_before: 30\n"
    assert lift(text, treatments__last_on__filler=dt.date(2026, 12, 3)) == dt.date(2027, 1, 2)
    leap = "field: events.next_on\nwithin_days_after: 700\n"
    assert lift(leap, events__next_on=dt.date(2028, 2, 28)) == dt.date(2028, 2, 29)


ANY_TWO = """
any:
  - field: treatments.last_on.filler
    within_days_before: 14
  - field: treatments.last_on.laser
    within_days_before: 14
"""


def test_any_lifts_on_the_latest_branch_that_fired() -> None:
    both = {
        "treatments__last_on__filler": dt.date(2026, 11, 25),
        "treatments__last_on__laser": dt.date(2026, 11, 30),
    }
    assert lift(ANY_TWO, **both) == dt.date(2026, 12, 14)
    one = {
        "treatments__last_on__filler": dt.date(2026, 11, 25),
        "treatments__last_on__laser": dt.date(2026, 1, 1),
    }
    assert lift(ANY_TWO, **one) == dt.date(2026, 12, 9)


def test_any_with_a_fired_branch_that_never_lifts_has_no_date() -> None:
    text = ANY_TWO + "  - field: health.pregnant\n    equals: true\n"
    assert (
        lift(
            text,
            treatments__last_on__filler=dt.date(2026, 11, 25),
            treatments__last_on__laser=None,
            health__pregnant=True,
        )
        is None
    )
    assert lift(
        text,
        treatments__last_on__filler=dt.date(2026, 11, 25),
        treatments__last_on__laser=None,
        health__pregnant=False,
    ) == dt.date(2026, 12, 9)


def test_all_lifts_on_the_earliest_dated_part() -> None:
    text = """
all:
  - field: health.pregnant
    equals: false
  - field: treatments.last_on.filler
    within_days_before: 14
  - field: events.next_on
    within_days_after: 30
"""
    assert lift(
        text,
        health__pregnant=False,
        treatments__last_on__filler=dt.date(2026, 11, 25),
        events__next_on=dt.date(2026, 12, 20),
    ) == dt.date(2026, 12, 9)
    assert lift(
        text,
        health__pregnant=False,
        treatments__last_on__filler=dt.date(2026, 11, 25),
        events__next_on=dt.date(2026, 12, 5),
    ) == dt.date(2026, 12, 6)


def test_no_lift_date_without_date_tests_under_not_or_when_false() -> None:
    assert lift("field: health.pregnant\nequals: true\n", health__pregnant=True) is None
    assert lift("not:\n  " + FILLER.replace("\n", "\n  "), treatments__last_on__filler=None) is None
    assert lift(FILLER, treatments__last_on__filler=dt.date(2026, 1, 1)) is None

"""The fast paths of the engine give exactly what the plain paths give.

assess_facts tests every rule with one generated function (conditions.batch_test), reads
flags without a trace, and remembers flags, triggers, instructions and medicines between
intakes. Each of these is checked here against the reference it replaces: the closures
of Condition.test, the trace-based readings, and a flag built afresh by a new ruleset.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import pytest

from intake.assessment import MISSING, Ruleset, assess, derive_facts, load_ruleset
from intake.assessment.dates import english_date
from intake.assessment.facts import Facts
from intake.assessment.fastpath import batch_test
from intake.assessment.model import Flag, Trigger, construct

from .support import ON, answers, document, make_rules, medicine, taking


@pytest.fixture()
def fresh(tmp_path: Path) -> Ruleset:
    return load_ruleset(make_rules(tmp_path))


def _random_values(ruleset: Ruleset, rng: random.Random) -> list[Any]:
    """Values for every fact, of its type or a look-alike (1 for True), often unanswered."""
    catalogue = ruleset.catalogue
    size = max(catalogue.size, (ruleset.protocols.flags_index or 0) + 1 if ruleset.protocols else 0)
    values: list[Any] = [MISSING] * size
    values[0] = ON + dt.timedelta(days=rng.randint(0, 30))
    for spec in catalogue.fields.values():
        if rng.random() < 0.15:
            # None is "no such date", for derived dates only.
            values[spec.index] = None if spec.derived and spec.type == "date" and rng.random() < 0.5 else MISSING
            continue
        if spec.type == "bool":
            value: Any = rng.choice([True, False, 1, 0])
        elif spec.type == "number":
            value = rng.choice(list(spec.choices) if spec.choices else [0, 1, 1.0, 14, 15, 17, 18, 40, True])
        elif spec.type in ("text", "choice"):
            value = rng.choice(list(spec.choices) if spec.choices else ["", "x"])
        elif spec.type in ("choice_list", "text_list"):
            pool = list(spec.choices) if spec.choices else ["a", "b"]
            value = tuple(rng.sample(pool, rng.randint(0, min(3, len(pool)))))
        elif spec.type == "date":
            value = ON + dt.timedelta(days=rng.randint(-60, 60))
        else:
            value = MISSING
        values[spec.index] = value
    if ruleset.protocols is not None and ruleset.protocols.flags_index is not None:
        ids = [rule.id for rule in ruleset.rules]
        values[ruleset.protocols.flags_index] = tuple(rng.sample(ids, rng.randint(0, 4)))
    return values


def test_batch_test_returns_what_each_condition_test_returns(shipped: Ruleset) -> None:
    assert shipped.protocols is not None
    conditions = [rule.when for rule in shipped.rules] + [a.when for a in shipped.protocols.adjustments]
    asked = batch_test(conditions, range(len(conditions)), [-1 - i for i in range(len(conditions))])
    skipped = batch_test(conditions, range(len(conditions)), [None] * len(conditions))
    rng = random.Random(20261125)
    for _ in range(1500):
        values = _random_values(shipped, rng)
        results = [condition.evaluate(values) for condition in conditions]
        expected = [(i if r is not None else -1 - i, r) for i, r in enumerate(results) if r is not False]
        got = asked(values)
        assert [tag for tag, _ in got] == [tag for tag, _ in expected]
        assert all(a is b for (_, a), (_, b) in zip(got, expected, strict=True))  # the same objects
        assert [tag for tag, _ in skipped(values)] == [i for i, r in enumerate(results) if r not in (False, None)]


def test_flags_of_the_fast_path_are_the_plain_flags(shipped: Ruleset) -> None:
    """Flags decided by the generated function, taken from the memos or built from a trace,
    are those of every rule traced and every flag built afresh (triggers, lift dates, questions)."""
    rng = random.Random(7)
    for _ in range(400):
        values = _random_values(shipped, rng)[:shipped.catalogue.size]
        for spec in shipped.catalogue.fields.values():  # derived facts have their own types (see flags._handler)
            if spec.derived and spec.type in ("bool", "number") and values[spec.index] is not MISSING:
                values[spec.index] = (bool if spec.type == "bool" else int)(values[spec.index])
        facts = Facts(shipped.catalogue, values, ON, values[0], ())
        for _ in range(2):  # the second time from the memos
            assert shipped.checks.entries(facts, english_date) == shipped.checks.plain_entries(facts, english_date)


def _varied_documents() -> list[dict[str, Any]]:
    docs = [
        answers(),
        answers(about__appointment_date=None),
        answers(lifestyle__alcohol_drinks_per_week=3),
        answers(lifestyle__alcohol_drinks_per_week=3, about__appointment_date="2026-12-20"),
        answers(health__pregnant=True, health__pregnancy_weeks=12),
        answers(**taking(medicine("Eliquis 5mg", prescribed=True))),
        answers(**taking(medicine("Eliquis 5mg", prescribed=True), medicine("Nurofen"))),
        answers(**taking(medicine("Nurofen"), medicine("Herbal X"))),
        answers(**taking(medicine("nurofen 200mg"))),
        answers(health__recent_illness=True),
        document(skin__cold_sore_history=None),
        document(health__pregnant=None, health__breastfeeding=True),
        answers(treatments__has_recent_treatments=True,
                treatments__items=[{"kind": "filler", "on": "2026-11-20", "area": "face"}]),
        answers(events__has_upcoming_events=True, events__items=[{"kind": "wedding", "on": "2026-12-10"}]),
    ]
    # The same answers given as other types Python finds equal (unvalidated callers):
    raw = document(lifestyle__alcohol_drinks_per_week=1)
    docs.append(raw)
    docs.append(document(lifestyle__alcohol_drinks_per_week=True))
    docs.append(document(lifestyle__alcohol_drinks_per_week=1.0))
    docs.append(document(skin__cold_sore_history=1))
    docs.append(document(skin__cold_sore_history=True))
    return docs


def test_remembered_flags_are_the_flags_built_afresh(tmp_path: Path) -> None:
    reused = load_ruleset(make_rules(tmp_path / "reused"))
    docs = _varied_documents()
    for _ in range(2):  # the second round is served from the memos
        for doc in docs:
            once = load_ruleset(make_rules(tmp_path / "once"))  # empty memos: everything built afresh
            assert assess(doc, reused, ON).to_dict() == assess(doc, once, ON).to_dict()


def test_equal_values_of_other_types_keep_their_own_flags(fresh: Ruleset) -> None:
    shown = []
    for value in (1, True, 1.0, 1):
        flag = assess(document(lifestyle__alcohol_drinks_per_week=value), fresh, ON).flag("alcohol")
        assert flag is not None
        (trigger,) = flag.triggered_by
        shown.append((type(trigger.value), trigger.to_dict()["value"]))
    assert shown == [(int, 1), (bool, True), (float, 1.0), (int, 1)]


def test_a_list_answer_that_is_not_text_is_shown_as_given(tmp_path: Path) -> None:
    rules = """\
- id: concerns
  title: Concerns
  severity: info
  when: {field: skin.concerns, is_empty: false}
  message: Has concerns.
  source: [konda-thappa-mesotherapy-2013]
"""
    ruleset = load_ruleset(make_rules(tmp_path, rules))
    for concerns in (["1"], [1], [True], ["1"]):
        flag = assess(document(skin__concerns=concerns), ruleset, ON).flag("concerns")
        assert flag is not None
        assert flag.triggered_by[0].value == tuple(concerns)
        assert [type(v) for v in flag.triggered_by[0].value] == [type(v) for v in concerns]


def test_another_date_formatter_never_gets_a_remembered_instruction(fresh: Ruleset) -> None:
    given = answers(lifestyle__alcohol_drinks_per_week=2)
    english = assess(given, fresh, ON).flag("alcohol")
    numeric = assess(given, fresh, ON, format_date=lambda d: d.strftime("%d/%m")).flag("alcohol")
    again = assess(given, fresh, ON).flag("alcohol")
    assert english is not None and numeric is not None and again is not None
    assert english.instruction is not None and numeric.instruction is not None
    assert english.instruction.text == "From Tuesday 1 December: no alcohol."
    assert numeric.instruction.text == "From 01/12: no alcohol."
    assert again == english


def test_medicines_behind_a_flag_are_those_of_the_intake(fresh: Ruleset) -> None:
    first = assess(answers(**taking(medicine("Eliquis 5mg", prescribed=True))), fresh, ON)
    second = assess(answers(**taking(medicine("eliquis", prescribed=True))), fresh, ON)
    third = assess(answers(**taking(medicine("Eliquis 5mg", prescribed=True))), fresh, ON)
    evidence = [r.flag("anticoagulant").triggered_by[0].evidence for r in (first, second, third)]  # type: ignore[union-attr]
    assert evidence == [("Eliquis 5mg → doac (apixaban)",), ("eliquis → doac (apixaban)",),
                        ("Eliquis 5mg → doac (apixaban)",)]


def test_facts_list_the_same_medicines_whether_remembered_or_not(fresh: Ruleset) -> None:
    given = answers(**taking(medicine("Nurofen"), medicine("Eliquis 5mg", prescribed=True),
                             medicine("Nurofen", stopped_on="2026-11-01")))
    remembered = derive_facts(given, fresh.lexicon, ON, fresh.catalogue)
    again = derive_facts(given, fresh.lexicon, ON, fresh.catalogue)
    built = derive_facts(given, fresh.lexicon, ON)  # a catalogue of its own: nothing remembered
    assert remembered.medications == again.medications == built.medications
    assert [m.description for m in remembered.medications] == [m.description for m in built.medications]
    assert remembered.as_dict() == built.as_dict()


def test_construct_builds_what_the_dataclass_builds() -> None:
    trigger = construct(Trigger, field="a.b", value=True, condition="a.b equals true", evidence=(),
                        operator="equals", operand=True)
    assert trigger == Trigger("a.b", True, "a.b equals true", (), "equals", True)
    source = ("konda-thappa-mesotherapy-2013",)
    flag = construct(Flag, rule_id="r", severity="info", message="m", source=source, file="f.yaml", line=3,
                     triggered_by=(trigger,), unanswered=(), lifts_on=None, instruction=None, title="R")
    assert flag == Flag("r", "info", "m", source, "f.yaml", 3, (trigger,), title="R")
    assert hash(trigger) == hash(Trigger("a.b", True, "a.b equals true", (), "equals", True))
    with pytest.raises(TypeError, match="needs all 6 fields"):
        construct(Trigger, field="a.b", value=True, condition="c")

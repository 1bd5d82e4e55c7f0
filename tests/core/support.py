"""Data and helpers shared by the core tests: answers documents and small rule folders.

Imported by test modules (``from .support import ...``); fixtures are in conftest.py.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from intake.answers import (
    ACTIVE_ALLERGIES,
    AREAS,
    CONDITIONS,
    EVENT_KINDS,
    GOALS,
    SKIN_CONCERNS,
    SMOKING,
    TREATMENT_AREAS,
    TREATMENT_KINDS,
    load_answers,
    values,
)
from intake.assessment import Flag, Ruleset, RulesetInvalid, load_ruleset
from intake.assessment.conditions import Condition, compile_condition
from intake.assessment.errors import RuleFileError
from intake.assessment.facts import MISSING, REFERENCE_INDEX, Catalogue
from intake.assessment.fastpath import batch_test
from intake.assessment.yamlkit import load_located

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from bench_rules import make_intake  # noqa: E402

#: The rules folder the repository ships.
SHIPPED_RULES = Path(__file__).resolve().parents[2] / "rules"
#: The assessment date of the core tests (a Wednesday); the appointment of the plan tests' base intake.
ON = dt.date(2026, 11, 25)
APPOINTMENT = dt.date(2026, 12, 3)

#: The shipped bibliography: small rule sets cite its ids, so they carry it as their sources.yaml.
SOURCES = (SHIPPED_RULES / "sources.yaml").read_text(encoding="utf-8")

#: A two-class lexicon for small rule sets: doac (apixaban, Eliquis), nsaid (ibuprofen, Nurofen).
SMALL_LEXICON = """\
classes:
  - id: doac
    label: Direct oral anticoagulants
    source: [doctor-medica-restylane-vital-light]
    medications:
      - generic: apixaban
        brands: [Eliquis]
  - id: nsaid
    label: Anti-inflammatory painkillers
    source: [azpmu-mesotherapy-pre-post-care]
    medications:
      - generic: ibuprofen
        brands: [Nurofen]
"""


# --- a small rules folder (test_engine and friends) --------------------------------------

ENGINE_RULES = """\
- id: pregnancy
  title: Pregnancy
  severity: defer
  when:
    all:
      - field: about.sex
        not_equals: male
      - any:
          - field: health.pregnant
            equals: true
          - field: health.breastfeeding
            equals: true
  message: Pregnant or breastfeeding.
  source: [konda-thappa-mesotherapy-2013]

- id: anticoagulant
  title: Anticoagulant
  severity: contraindicated
  when: {field: medications.taking, includes_any: [doac]}
  message: Takes an anticoagulant.
  instruction:
    text: Keep taking your blood thinner.
  source: [doctor-medica-restylane-vital-light]

- id: alcohol
  title: Alcohol
  severity: precaution
  when: {field: lifestyle.alcohol_drinks_per_week, at_least: 1}
  message: Alcohol increases bruising.
  instruction:
    days_before: 2
    text: "From {start}: no alcohol."
  source: [azpmu-mesotherapy-pre-post-care]

- id: unprescribed-nsaid
  title: Unprescribed nsaid
  severity: precaution
  when: {field: medications.taking_unprescribed, includes_any: [nsaid]}
  message: Anti-inflammatories increase bruising.
  instruction: {days_before: 7, text: "From {start}: no ibuprofen."}
  source: [azpmu-mesotherapy-pre-post-care]

- id: recent-filler
  title: Recent filler
  severity: defer
  when:
    any:
      - {field: treatments.last_on_planned_area.filler, within_days_before: 14}
      - {field: treatments.last_on_planned_area.skin_booster, within_days_before: 14}
  message: Recent filler in the area.
  source: [cashmore-profhilo-pre-post-care]

- id: unwell
  title: Unwell
  severity: defer
  when: {field: health.recent_illness, equals: true}
  defer_for_days: 14
  message: Unwell.
  source: [vedamurthy-mesotherapy-2007]

- id: unrecognised-medicine
  title: Unrecognised medicine
  severity: precaution
  when: {field: medications.unrecognised, is_empty: false}
  message: A medicine the lexicon does not know.
  source: [mammucari-italian-mesotherapy-consensus-2011]

- id: arrive-clean
  title: Arrive clean
  severity: info
  when: {field: derived.appointment_booked, equals: true}
  message: No make-up.
  instruction: {days_before: 0, text: "{start}: arrive without make-up."}
  source: [plachouri-georgiou-mesotherapy-complications-2019]

- id: adult-water
  title: Adult water
  severity: info
  when: {field: derived.age, at_least: 18}
  message: Drink water.
  instruction: {days_before: 1, text: "From {start}, drink plenty of water."}
  source: [beauty-training-portal-mesotherapy]

- id: cold-sores
  title: Cold sores
  severity: precaution
  when: {field: skin.cold_sore_history, equals: true}
  if_unanswered: fire
  message: Cold sores can flare.
  source: [ghatge-injectable-ha-skin-quality-2023]

- id: keloids
  title: Keloids
  severity: precaution
  when: {field: skin.keloid_scarring, equals: true}
  if_unanswered: skip
  message: Keloid scarring.
  source: [el-houssieny-ha-skin-booster-2022]

- id: event-soon
  title: Event soon
  severity: defer
  when: {field: events.next_on, within_days_after: 14}
  message: An event within two weeks of the appointment.
  source: [delight-medical-mesotherapy-safety]
"""


def make_rules(root: Path, rules: str = ENGINE_RULES) -> Path:
    """A rules folder with the shipped sources, the small lexicon and ``rules`` as precautions/main.yaml."""
    (root / "precautions").mkdir(parents=True, exist_ok=True)
    (root / "sources.yaml").write_text(SOURCES)
    (root / "medications.yaml").write_text(SMALL_LEXICON)
    (root / "precautions" / "main.yaml").write_text(rules)
    return root


def document(**changes: Any) -> dict[str, Any]:
    """A healthy patient's answers (JSON form), with ``section__field=value`` changes."""
    doc: dict[str, Any] = {
        "about": {
            "full_name": "Ana Silva",
            "date_of_birth": "1991-06-15",
            "sex": "female",
            "email": "ana@example.org",
            "appointment_date": "2026-12-03",
        },
        "goals": {"goals": ["hydration"], "areas": ["face", "neck"]},
        "skin": {
            "concerns": [],
            "fitzpatrick_type": 2,
            "sensitive_skin": False,
            "active_infection_at_area": False,
            "active_cold_sore": False,
            "cold_sore_history": False,
            "keloid_scarring": False,
        },
        "health": {
            "pregnant": False,
            "trying_to_conceive": False,
            "breastfeeding": False,
            "recently_gave_birth": False,
            "conditions": [],
            "recent_illness": False,
            "recent_antibiotics": False,
        },
        "medications": {"has_medications": False, "items": []},
        "allergies": {
            "local_anaesthetic_allergy": False,
            "anaphylaxis_history": False,
            "injection_reaction": False,
        },
        "lifestyle": {"alcohol_drinks_per_week": 0, "smoking": "never", "recent_tanning": False},
        "treatments": {"had_mesotherapy_before": False, "has_recent_treatments": False, "items": []},
        "events": {"has_upcoming_events": False, "items": []},
        "consent": {
            "understands_procedure": True,
            "accepts_after_effects": True,
            "answers_accurate": True,
            "data_processing": True,
            "signature": "Ana Silva",
        },
    }
    for dotted, value in changes.items():
        section, field = dotted.split("__")
        doc[section][field] = copy.deepcopy(value)
    return doc


def answers(**changes: Any) -> dict[str, Any]:
    return load_answers(document(**changes), today=ON)


def medicine(name: str, prescribed: bool = False, stopped_on: str | None = None) -> dict[str, Any]:
    item = {"name": name, "status": "stopped" if stopped_on else "taking", "prescribed": prescribed}
    if stopped_on:
        item["stopped_on"] = stopped_on
    return item


def taking(*items: dict[str, Any]) -> dict[str, Any]:
    return {"medications__has_medications": True, "medications__items": list(items)}



# --- rule tests ----------------------------------------------------------------------------

BASES = """\
base:
  about:
    full_name: Ana Silva
    date_of_birth: 1991-06-15
    sex: female
    email: ana@example.org
    appointment_date: 2026-12-03
  goals: {goals: [hydration], areas: [face]}
  skin:
    fitzpatrick_type: 2
    sensitive_skin: false
    active_infection_at_area: false
    active_cold_sore: false
    cold_sore_history: false
    keloid_scarring: false
  health:
    pregnant: false
    trying_to_conceive: false
    breastfeeding: false
    recently_gave_birth: false
    conditions: []
    recent_illness: false
    recent_antibiotics: false
  medications: {has_medications: false}
  allergies: {local_anaesthetic_allergy: false, anaphylaxis_history: false, injection_reaction: false}
  lifestyle: {alcohol_drinks_per_week: 0, smoking: never, recent_tanning: false}
  treatments: {had_mesotherapy_before: false, has_recent_treatments: false}
  events: {has_upcoming_events: false}
  consent:
    understands_procedure: true
    accepts_after_effects: true
    answers_accurate: true
    data_processing: true
    signature: Ana Silva
"""

#: Three rules the PASSING cases exercise.
RULETEST_RULES = """\
- id: anticoagulant
  title: Anticoagulant
  severity: contraindicated
  when: {field: medications.taking, includes_any: [doac]}
  message: Anticoagulant.
  instruction: {text: Keep taking it.}
  source: [doctor-medica-restylane-vital-light]

- id: alcohol
  title: Alcohol
  severity: precaution
  when:
    any:
      - {field: lifestyle.alcohol_drinks_per_week, at_least: 1}
      - {field: lifestyle.smoking, equals: current}
  message: Alcohol or smoking.
  instruction: {days_before: 2, text: "From {start}: no alcohol."}
  source: [azpmu-mesotherapy-pre-post-care]

- id: recent-filler
  title: Recent filler
  severity: defer
  when: {field: treatments.last_on.filler, within_days_before: 14}
  message: Recent filler.
  source: [cashmore-profhilo-pre-post-care]
"""


PASSING = """\
- name: a healthy patient is suitable
  on: 2026-11-25
  answers: base
  expect:
    outcome: suitable
    flags: []

- name: an anticoagulant is a contraindication
  on: 2026-11-25
  answers: base
  change:
    medications.has_medications: true
    medications.items:
      - {name: Eliquis 5mg, status: taking, prescribed: true}
  expect:
    outcome: contraindicated
    flags: [anticoagulant]
    instructions_include: [anticoagulant]

- name: a filler 13 days before the appointment defers it until 14 days after the filler
  on: 2026-11-25
  answers: base
  change:
    treatments.has_recent_treatments: true
    treatments.items: [{kind: filler, on: 2026-11-20, area: face}]
  expect:
    outcome: defer
    defer_until: 2026-12-04
    flags_include: [recent-filler]
    flags_exclude: [anticoagulant]
"""



# --- rule files with mistakes ---------------------------------------------------------------

GOOD = """\
- id: pregnancy
  severity: defer
  when:
    field: health.pregnant
    equals: true
  message: Pregnant.
  source: [konda-thappa-mesotherapy-2013]
  title: Pregnant
"""



# --- plans --------------------------------------------------------------------------------

def base_document() -> dict[str, Any]:
    """An intake that triggers no adjustment: hydration for the face, booked for 3 December."""
    return {
        "about": {
            "full_name": "Ana Silva", "date_of_birth": "1986-04-02", "sex": "female",
            "email": "ana@example.org", "phone": "", "appointment_date": APPOINTMENT.isoformat(),
        },
        "goals": {"goals": ["hydration"], "other_goal": "", "areas": ["face"]},
        "skin": {
            "concerns": [], "fitzpatrick_type": 2, "sensitive_skin": False,
            "active_infection_at_area": False, "active_cold_sore": False,
            "cold_sore_history": False, "keloid_scarring": False,
        },
        "health": {
            "pregnant": False, "trying_to_conceive": False, "breastfeeding": False,
            "recently_gave_birth": False, "hormonal_contraception": False, "conditions": [],
            "recent_illness": False, "recent_antibiotics": False,
        },
        "medications": {"has_medications": False, "items": []},
        "allergies": {
            "local_anaesthetic_allergy": False, "anaphylaxis_history": False,
            "injection_reaction": False, "active_allergies": [],
        },
        "lifestyle": {"alcohol_drinks_per_week": 0, "smoking": "never", "recent_tanning": False},
        "treatments": {"had_mesotherapy_before": True, "has_recent_treatments": False, "items": []},
        "events": {"has_upcoming_events": False, "items": []},
        "consent": {
            "understands_procedure": True, "accepts_after_effects": True,
            "answers_accurate": True, "data_processing": True, "signature": "Ana Silva",
        },
    }


def document_with(changes: dict[str, Any]) -> dict[str, Any]:
    """The base document with dotted answers changed (``about.sex: male``)."""
    document = copy.deepcopy(base_document())
    for dotted, value in changes.items():
        section, name = dotted.split(".", 1)
        document[section][name] = value
    if document["about"]["sex"] == "male":
        for name in ("pregnant", "trying_to_conceive", "breastfeeding", "recently_gave_birth",
                     "hormonal_contraception"):
            document["health"].pop(name, None)
    return document


def flag(rule_id: str, severity: str = "defer", lifts_on: dt.date | None = None,
         unanswered: tuple[str, ...] = ()) -> Flag:
    return Flag(rule_id=rule_id, severity=severity, message="", source=("konda-thappa-mesotherapy-2013",),
                file="x.yaml", line=1, lifts_on=lifts_on, unanswered=unanswered)



# --- random complete intakes (hypothesis) ----------------------------------------------------

FALLBACK_RULES = """\
- id: anticoagulant
  title: Anticoagulant
  severity: contraindicated
  when: {field: medications.taking, includes_any: [doac]}
  message: Anticoagulant.
  source: [doctor-medica-restylane-vital-light]
- id: pregnancy
  title: Pregnancy
  severity: defer
  when:
    all:
      - {field: about.sex, not_equals: male}
      - {field: health.pregnant, equals: true}
  message: Pregnant.
  source: [konda-thappa-mesotherapy-2013]
- id: infection
  title: Infection
  severity: defer
  when: {field: skin.active_infection_at_area, equals: true}
  defer_for_days: 14
  message: Infection.
  source: [vedamurthy-mesotherapy-2007]
- id: bruising
  title: Bruising
  severity: precaution
  when:
    any:
      - {field: medications.taking, includes_any: [nsaid]}
      - {field: lifestyle.alcohol_drinks_per_week, at_least: 1}
  message: Bruising.
  source: [azpmu-mesotherapy-pre-post-care]
"""


@functools.cache
def property_ruleset() -> Ruleset:
    """The shipped rules when they load; otherwise a small ruleset of the same kind."""
    try:
        return load_ruleset(SHIPPED_RULES)
    except RulesetInvalid:
        root = Path(tempfile.mkdtemp(prefix="meso-rules-"))
        (root / "precautions").mkdir()
        (root / "sources.yaml").write_text(SOURCES)
        (root / "medications.yaml").write_text(SMALL_LEXICON)
        (root / "precautions" / "rules.yaml").write_text(FALLBACK_RULES)
        return load_ruleset(root)


def medicine_names() -> list[str]:
    lexicon = property_ruleset().lexicon
    known = [" ".join(name) for name in lexicon.names[:200]] if lexicon is not None else []
    return known + ["Eliquis 5mg", "ibuprofen", "Nurofen", "vitamin D", "Moonflower tincture", "aspirin 75mg"]


def days(low: int, high: int) -> st.SearchStrategy[dt.date]:
    return st.integers(low, high).map(lambda n: ON + dt.timedelta(days=n))


def subset(choices: tuple[tuple[Any, str], ...], min_size: int = 0) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.sampled_from(values(choices)), min_size=min_size, max_size=len(choices), unique=True)


#: How sure a patient is of a date: blank (the exact day, as stored intakes) or any precision.
PRECISION = st.sampled_from([None, "exact", "month", "year", "roughly"])


@st.composite
def intakes(draw: st.DrawFn) -> dict[str, Any]:
    """A complete intake that the answers schema accepts on ON (JSON form)."""
    sex = draw(st.sampled_from(["female", "male", "prefer_not_to_say"]))
    booked = draw(st.booleans())
    about = {
        "full_name": "Sam Lee",
        "date_of_birth": draw(days(-80 * 365, -16 * 365)).isoformat(),
        "sex": sex,
        "email": "sam@example.org",
        "appointment_date": draw(days(0, 90)).isoformat() if booked else None,
    }
    goals = {"goals": draw(subset(GOALS, 1)), "areas": draw(subset(AREAS, 1))}
    skin = {"concerns": draw(subset(SKIN_CONCERNS)), "fitzpatrick_type": draw(st.integers(1, 6))}
    for name in (
        "sensitive_skin",
        "active_infection_at_area",
        "active_cold_sore",
        "cold_sore_history",
        "keloid_scarring",
    ):
        skin[name] = draw(st.booleans())
    conditions = draw(subset(CONDITIONS))
    health: dict[str, Any] = {
        "conditions": conditions,
        "recent_illness": draw(st.booleans()),
        "recent_antibiotics": draw(st.booleans()),
    }
    if sex != "male":
        for name in (
            "pregnant",
            "trying_to_conceive",
            "breastfeeding",
            "recently_gave_birth",
            "hormonal_contraception",
        ):
            health[name] = draw(st.booleans())
        if health["pregnant"]:
            health["pregnancy_weeks"] = draw(st.integers(1, 42))
        if health["recently_gave_birth"]:
            health["delivery_date"] = draw(days(-300, 0)).isoformat()
    if "other" in conditions:
        health["other_condition"] = "Migraine"
    if "diabetes" in conditions:
        health["diabetes_controlled"] = draw(st.booleans())
        health["uses_insulin"] = draw(st.booleans())
    items = []
    for _ in range(draw(st.integers(0, 4))):
        item = {
            "name": draw(st.sampled_from(medicine_names())),
            "prescribed": draw(st.booleans()),
            "status": draw(st.sampled_from(["taking", "stopped"])),
        }
        if item["status"] == "stopped":
            item["stopped_on"] = draw(days(-400, 0)).isoformat()
            item["stopped_on_precision"] = draw(PRECISION)
        else:
            item["how_taken"] = draw(st.sampled_from([None, "regularly", "as_needed"]))
            if item["how_taken"] == "as_needed":
                item["last_taken_on"] = draw(days(-60, 0)).isoformat()
                item["last_taken_on_precision"] = draw(PRECISION)
        items.append(item)
    medications = {"has_medications": bool(items), "items": items}
    reaction = draw(st.booleans())
    allergies = {
        "local_anaesthetic_allergy": draw(st.booleans()),
        "anaphylaxis_history": draw(st.booleans()),
        "injection_reaction": reaction,
        "injection_reaction_details": "Swelling" if reaction else "",
        "active_allergies": draw(subset(ACTIVE_ALLERGIES)),
    }
    lifestyle = {
        "alcohol_drinks_per_week": draw(st.integers(0, 60)),
        "smoking": draw(st.sampled_from(values(SMOKING))),
        "recent_tanning": draw(st.booleans()),
    }
    treatments = [
        {
            "kind": draw(st.sampled_from(values(TREATMENT_KINDS))),
            "on": draw(days(-200, 0)).isoformat(),
            "area": draw(st.none() | st.sampled_from(values(TREATMENT_AREAS))),
            "on_precision": draw(PRECISION),
        }
        for _ in range(draw(st.integers(0, 3)))
    ]
    if lifestyle["alcohol_drinks_per_week"] and draw(st.booleans()):
        lifestyle["last_drink_on"] = draw(days(-20, 0)).isoformat()
        lifestyle["last_drink_on_precision"] = draw(PRECISION)
    events = [
        {"kind": draw(st.sampled_from(values(EVENT_KINDS))), "on": draw(days(0, 120)).isoformat()}
        for _ in range(draw(st.integers(0, 2)))
    ]
    return {
        "about": about,
        "goals": goals,
        "skin": skin,
        "health": health,
        "medications": medications,
        "allergies": allergies,
        "lifestyle": lifestyle,
        "treatments": {
            "had_mesotherapy_before": draw(st.booleans()),
            "has_recent_treatments": bool(treatments),
            "items": treatments,
        },
        "events": {"has_upcoming_events": bool(events), "items": events},
        "consent": {
            "understands_procedure": True,
            "accepts_after_effects": True,
            "answers_accurate": True,
            "data_processing": True,
            "signature": "Sam Lee",
        },
    }


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def bench_intakes(count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` of bench/bench_rules.py's synthetic intakes (JSON form), seeded."""
    rng = random.Random(seed)
    return [make_intake(i, rng) for i in range(count)]


# --- one condition, compiled and evaluated (tests of the condition language) ----------------------------------

#: The reference date and catalogue the condition tests compile and evaluate against.
CONDITION_REF = dt.date(2026, 12, 3)
CONDITION_CATALOGUE = Catalogue(["doac", "nsaid", "aspirin"])


def compile_yaml(text: str) -> Condition:
    """One condition written in YAML, compiled against CONDITION_CATALOGUE (no error allowed)."""
    errors: list[RuleFileError] = []
    condition = compile_condition(
        load_located(text, "t.yaml"), CONDITION_CATALOGUE, file="t.yaml", rule_id="r", errors=errors
    )
    assert errors == []
    assert condition is not None
    return condition


def facts_values(**given: Any) -> list[Any]:
    """Facts values with the given fields (dots written as __) and everything else unanswered."""
    found: list[Any] = [MISSING] * CONDITION_CATALOGUE.size
    found[REFERENCE_INDEX] = CONDITION_REF
    for name, value in given.items():
        spec = CONDITION_CATALOGUE.get(name.replace("__", "."))
        assert spec is not None, name
        found[spec.index] = value
    return found


def fast_result(condition: Condition, facts: list[Any]) -> bool | None:
    """What the engine's fast path (one generated function per ruleset) gives for one condition."""
    found = batch_test([condition], ["true"], ["unknown"])(facts)
    if not found:
        return False
    tag, result = found[0]
    assert (tag == "unknown") is (result is None)
    return result  # type: ignore[no-any-return]

"""Print how fast the precaution rules assess intakes, against a hand-written ceiling and PyPI engines.

Run from the repo root:  .venv/bin/python bench/bench_rules.py [--count N] [--seed S] [--profile]

Figures, not assertions (DESIGN.md: speed is measured by benchmarks, never by timed
tests). It generates ``--count`` varied, valid synthetic intakes (seeded: the same
intakes every run; medicines typed as patients type them, typos included), pins itself
to one CPU core, and times:

1. **engine, rules only** - the compiled conditions of ``rules/precautions`` run on
   precomputed derived facts (``rule.when.test(facts.values)`` for every rule, with the
   engine's if_unanswered handling): which rules fire and which need a question.
   Also shown: ``assess_facts`` without the plan (flags with their triggers, lift
   dates, dated instructions, outcome), the real cost of the rules step.
2. **hand-written Python** - the same checks written as plain Python functions over the
   same facts (the practical ceiling). They rely on what the answers schema guarantees,
   as a programmer would, and handle the one unknown the valid answers leave open.
3. **PyPI engines** - the same ruleset translated, rule by rule, for
   ``zen-engine`` (a JDM decision table with hit policy "collect", and the fastest zen
   path: one compiled zen expression that returns every rule's result) and
   ``business-rules``. Their inputs (facts in their own shape, dates as day offsets)
   are precomputed outside the timing: their best case.
4. **full assessment** - ``assess(answers, ruleset, on)``: fact derivation, medication
   matching with the lexicon, rules, flags, instructions and the session plan. Shown
   cold (fresh lexicon caches, first sight of every typed medicine) and warm.

Before timing, every implementation's answer (rules fired, rules asked) is compared with
the engine's on every intake, and the agreement is printed.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import io
import json
import os
import platform
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from intake.answers import (  # noqa: E402
    ACTIVE_ALLERGIES,
    ALLERGY_REACTIONS,
    AREA_PARTS,
    CONDITIONS,
    EVENT_KINDS,
    GOALS,
    SECTIONS,
    SKIN_CONCERNS,
    TREATMENT_AREAS,
    TREATMENT_KINDS,
    load_answers,
    values,
)
from intake.assessment import MISSING, assess, assess_facts, derive_facts, load_ruleset  # noqa: E402

RULES = ROOT / "rules"
ON = dt.date(2026, 11, 25)

# --- synthetic intakes -------------------------------------------------------------------

#: Medicines as patients type them: brands, doses, forms, case, past use, negations, and
#: names the lexicon does not know (a realistic share of lines is unrecognised).
TYPED_MEDICINES = [
    "Eliquis 5mg", "apixaban 2.5 mg twice daily", "warfarin", "Xarelto 20mg", "clexane injections",
    "Plavix 75mg", "clopidogrel", "aspirin 75mg", "Aspirin", "baby aspirin", "ibuprofen 400mg",
    "Nurofen", "Advil", "naproxen 500mg", "Voltaren gel", "Excedrin", "paracetamol", "co-codamol",
    "fish oil", "Omega 3 capsules", "cod liver oil", "vitamin E", "ginkgo biloba", "garlic tablets",
    "turmeric", "St John's wort", "green tea extract", "Roaccutane 20mg", "accutane", "isotretinoin",
    "tretinoin 0.05% cream", "retinol serum", "Differin gel", "glycolic acid toner", "salicylic acid",
    "sertraline 50mg", "citalopram", "Prozac", "venlafaxine", "prednisolone 5mg", "methotrexate weekly",
    "Humira", "hydrocortisone cream", "Microgynon", "the pill", "Mirena coil", "Lantus", "insulin",
    "metformin 500mg", "levothyroxine 50mcg", "Keppra", "lamotrigine", "amoxicillin", "doxycycline",
    "Valtrex", "finasteride 1mg", "minoxidil 5%", "vitamin D", "omeprazole", "atorvastatin",
    "amlodipine", "cetirizine", "salbutamol inhaler", "folic acid", "magnesium", "collagen powder",
    "biotin", "melatonin", "none", "no blood thinners", "Tranexamic acid", "lidocaine patch",
]
OTHER_TEXT = ["", "", "", "Asthma", "Migraines", "Underactive thyroid"]
#: Allergies as patients name them: recognised (some misspelt), negated and unknown names.
TYPED_ALLERGENS = [
    "penicillin", "Penicilin", "amoxicillin", "lidocaine", "xylocain at the dentist", "EMLA cream",
    "bee stings", "wasps", "latex", "plasters", "peanuts", "shellfish", "salmon", "bacterial proteins",
    "hyaluronic acid", "cats", "hay fever", "ibuprofen", "no known allergies", "not allergic to penicillin",
]


def typo(word: str, rng: random.Random) -> str:
    """A realistic slip: a dropped, doubled or swapped letter."""
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 2)
    kind = rng.choice("dsw")
    if kind == "d":
        return word[:i] + word[i + 1:]
    if kind == "s":
        return word[:i] + word[i] + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def typed_medicine(rng: random.Random) -> str:
    name = rng.choice(TYPED_MEDICINES)
    if rng.random() < 0.2:
        name = typo(name, rng)
    return rng.choice([name, name, name.lower(), name.upper()])


def _chance(rng: random.Random, p: float) -> bool:
    return rng.random() < p


def _sample(rng: random.Random, choices: tuple, low: int, high: int) -> list:
    pool = values(choices)
    return rng.sample(pool, rng.randint(low, min(high, len(pool))))


def _areas(rng: random.Random) -> list[str]:
    """The whole face or some of its parts (or neither), and maybe areas off the face."""
    face = rng.random()
    chosen = ["face"] if face < 0.5 else (rng.sample(AREA_PARTS[0].parts, rng.randint(1, 3)) if face < 0.8 else [])
    chosen += [area for area in ("neck", "decolletage", "scalp", "hands") if _chance(rng, 0.15)]
    return chosen or [rng.choice(["neck", "scalp"])]


def make_intake(i: int, rng: random.Random) -> dict[str, Any]:
    """One valid answers document (JSON-like) on ON, with risks at realistic-ish rates."""
    sex = rng.choices(["female", "male", "prefer_not_to_say"], [75, 20, 5])[0]
    age = rng.choice([rng.randint(16, 80), rng.randint(25, 55)])
    birth = ON - dt.timedelta(days=365 * age + rng.randint(0, 364))
    appointment = None if _chance(rng, 0.15) else ON + dt.timedelta(days=rng.randint(0, 60))
    goals = _sample(rng, GOALS, 1, 3)
    areas = _areas(rng)
    asked = sex != "male"
    pregnant = asked and _chance(rng, 0.04)
    gave_birth = asked and _chance(rng, 0.05)
    conditions = [c for c in values(CONDITIONS) if _chance(rng, 0.04)]
    diabetes = "diabetes" in conditions
    medications = []
    if _chance(rng, 0.55):
        for _ in range(rng.randint(1, 4)):
            stopped = _chance(rng, 0.2)
            medications.append({
                "name": typed_medicine(rng),
                "dose": rng.choice(["", "", "once a day", "twice daily", "as needed"]),
                "status": "stopped" if stopped else "taking",
                "stopped_on": (ON - dt.timedelta(days=rng.randint(1, 400))).isoformat() if stopped else None,
                "prescribed": _chance(rng, 0.5),
            })
    treatments = []
    if _chance(rng, 0.35):
        for _ in range(rng.randint(1, 3)):
            treatments.append({
                "kind": rng.choice(values(TREATMENT_KINDS)),
                "on": (ON - dt.timedelta(days=rng.randint(0, 180))).isoformat(),
                "area": None if _chance(rng, 0.1) else rng.choice(values(TREATMENT_AREAS)),
            })
    events = []
    if _chance(rng, 0.25):
        for _ in range(rng.randint(1, 2)):
            events.append({"kind": rng.choice(values(EVENT_KINDS)),
                           "on": (ON + dt.timedelta(days=rng.randint(0, 90))).isoformat(),
                           "description": ""})
    reaction = _chance(rng, 0.05)
    name = f"Patient {i}"
    # Drawn from a generator of their own (getstate draws nothing), so every other answer is
    # what it was before the allergy list was asked.
    named = _named_allergies(random.Random(hash(rng.getstate())))
    document = {
        "about": {"full_name": name, "date_of_birth": birth.isoformat(), "sex": sex,
                  "email": f"p{i}@example.org", "phone": "",
                  "appointment_date": appointment.isoformat() if appointment else None},
        "goals": {"goals": goals, "other_goal": "", "areas": areas},
        "skin": {"concerns": _sample(rng, SKIN_CONCERNS, 0, 3), "fitzpatrick_type": rng.randint(1, 6),
                 "sensitive_skin": _chance(rng, 0.2), "active_infection_at_area": _chance(rng, 0.04),
                 "active_cold_sore": _chance(rng, 0.03), "cold_sore_history": _chance(rng, 0.2),
                 "keloid_scarring": _chance(rng, 0.04)},
        "health": {
            "pregnant": pregnant if asked else None,
            "pregnancy_weeks": rng.randint(4, 38) if pregnant else None,
            "trying_to_conceive": _chance(rng, 0.06) if asked else None,
            "planning_pregnancy": _chance(rng, 0.05) if asked else None,
            "breastfeeding": _chance(rng, 0.05) if asked else None,
            "recently_gave_birth": gave_birth if asked else None,
            "delivery_date": (ON - dt.timedelta(days=rng.randint(1, 300))).isoformat()
            if gave_birth else None,
            "hormonal_contraception": rng.choices([True, False, None], [25, 65, 10])[0] if asked else None,
            "conditions": conditions,
            "other_condition": "Asthma" if "other" in conditions else "",
            "diabetes_controlled": _chance(rng, 0.7) if diabetes else None,
            "uses_insulin": _chance(rng, 0.3) if diabetes else None,
            "recent_illness": _chance(rng, 0.05),
            "recent_antibiotics": _chance(rng, 0.04),
        },
        "medications": {"has_medications": bool(medications), "items": medications},
        "allergies": {"local_anaesthetic_allergy": _chance(rng, 0.03),
                      "anaphylaxis_history": _chance(rng, 0.02),
                      "injection_reaction": reaction,
                      "injection_reaction_details": "Swelling for a week" if reaction else "",
                      "active_allergies": _sample(rng, ACTIVE_ALLERGIES, 0, 2) if _chance(rng, 0.08) else [],
                      "has_allergies": bool(named), "items": named,
                      "other_allergies": rng.choice(OTHER_TEXT)},
        "lifestyle": _lifestyle(rng, appointment),
        "treatments": {"had_mesotherapy_before": _chance(rng, 0.3), "has_recent_treatments": bool(treatments),
                       "items": treatments},
        "events": {"has_upcoming_events": bool(events), "items": events},
        "consent": {"understands_procedure": True, "accepts_after_effects": True, "answers_accurate": True,
                    "data_processing": True, "signature": name, "signed_at": None},
    }
    _uncertain_dates(document, random.Random(f"dates-{i}"))
    return document


def _uncertain_dates(document: dict[str, Any], rng: random.Random) -> None:
    """Painkillers taken only when needed, and dates patients are not sure of, at plausible rates
    (a random stream of their own, so the rest of each intake is as it was)."""
    precision = [None, None, None, "exact", "month", "year", "roughly"]
    for item in document["medications"]["items"]:
        if item["status"] == "taking":
            how = rng.choice([None, "regularly", "as_needed"])
            if how is not None:
                item["how_taken"] = how
            if how == "as_needed":
                item["last_taken_on"] = (ON - dt.timedelta(days=rng.randint(0, 60))).isoformat()
                item["last_taken_on_precision"] = rng.choice(precision)
        elif item["stopped_on"] is not None:
            item["stopped_on_precision"] = rng.choice(precision)
    for item in document["treatments"]["items"]:
        item["on_precision"] = rng.choice(precision)
    if document["lifestyle"].get("last_drink_on"):
        document["lifestyle"]["last_drink_on_precision"] = rng.choice(precision)


def _lifestyle(rng: random.Random, appointment: dt.date | None) -> dict[str, Any]:
    """Drinking as patients report it: most drinkers last drank within the week before filling in
    the form (weeks before the appointment); a few leave the dates blank, a few plan to drink
    in the two days before; an intake filled the day before may report last night's drink."""
    drinks = 0 if _chance(rng, 0.35) else rng.choice([rng.randint(1, 7), rng.randint(1, 14), rng.randint(5, 40)])
    answers: dict[str, Any] = {"alcohol_drinks_per_week": drinks,
                               "smoking": rng.choice(["never", "never", "former", "current"]),
                               "recent_tanning": _chance(rng, 0.06)}
    if drinks and not _chance(rng, 0.2):
        answers["last_drink_on"] = (ON - dt.timedelta(days=rng.randint(0, 10))).isoformat()
        answers["drinking_before_appointment"] = _chance(rng, 0.08)
    return answers


def make_intakes(count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` intakes, each validated with the answers schema (as the app stores them)."""
    rng = random.Random(seed)
    return [load_answers(make_intake(i, rng), today=ON) for i in range(count)]


def _named_allergies(rng: random.Random) -> list[dict[str, str]]:
    """About one patient in six names an allergy or two, with how they reacted."""
    return [{"name": rng.choice(TYPED_ALLERGENS), "reaction": rng.choice(values(ALLERGY_REACTIONS))}
            for _ in range(rng.randint(1, 2))] if _chance(rng, 0.16) else []


# --- 1. the engine, rules only ---------------------------------------------------------------

Outcome = tuple[tuple[str, ...], tuple[str, ...]]  # (rules fired, rules asked)


def engine_checker(ruleset: Any) -> Callable[[Any], Outcome]:
    """Which rules fire and which ask, as the engine decides them: its fast path (one generated
    function per ruleset, what assess_facts runs), read back as rule ids."""
    decide = product_rules_step(ruleset)
    names = {}
    checks = ruleset.checks.checks if hasattr(ruleset, "checks") else ruleset._checks
    for check in checks:
        names[id(check.fired)] = (check.rule.id, True)
        names[id(check.asked)] = (check.rule.id, False)

    def check(facts: Any) -> Outcome:
        fired: list[str] = []
        asked: list[str] = []
        for handler, _result in decide(facts.values):
            rule_id, fires = names[id(handler)]
            (fired if fires else asked).append(rule_id)
        return tuple(fired), tuple(asked)

    return check


def product_rules_step(ruleset: Any) -> Callable[[Any], Any]:
    """The function assess_facts calls to decide which rules flag (values -> [(handler, result)]).

    (Before issue 12 it was ``ruleset._test_all``: kept here so that the bench runs on that
    code too, for before/after figures.)
    """
    checks = getattr(ruleset, "checks", None)
    return checks.decide if checks is not None else ruleset._test_all


def plain_checker(ruleset: Any) -> Callable[[Any], Outcome]:
    """The same decisions through the plain evaluator (every node traced): the path without code generation."""
    rules = tuple((rule.id, rule.when, rule.if_unanswered) for rule in ruleset.rules)

    def check(facts: Any) -> Outcome:
        fired: list[str] = []
        asked: list[str] = []
        for rule_id, when, if_unanswered in rules:
            result = when.evaluate(facts)
            if result is None:
                if if_unanswered == "ask":
                    asked.append(rule_id)
                elif if_unanswered == "fire":
                    fired.append(rule_id)
            elif result is not False:
                fired.append(rule_id)
        return tuple(fired), tuple(asked)

    return check


# --- 2. hand-written Python ------------------------------------------------------------------


def handwritten_checker(ruleset: Any) -> Callable[[Any], Outcome]:
    """The same 53 checks written as ONE plain Python function over the same facts: the real ceiling.

    One function, every check inline (no call per rule), answers read once into locals, as
    a programmer writing these rules by hand would; it relies on what the answers schema
    guarantees and handles the one unknown valid answers leave open (hormonal contraception
    unanswered before tranexamic acid). Rules are appended in the engine's rule order.
    """
    ix = {name: spec.index for name, spec in ruleset.catalogue.fields.items()}
    planned = "treatments.last_on_planned_area."
    expected = [rule.id for rule in ruleset.rules]
    written = list(HANDWRITTEN_ORDER)
    if expected != written:
        missing, extra = sorted(set(expected) - set(written)), sorted(set(written) - set(expected))
        raise SystemExit("bench_rules: the hand-written function does not cover the ruleset's rules in order: "
                         f"missing {missing}, extra {extra}")
    SEX, AGE = ix["about.sex"], ix["derived.age"]  # noqa: N806
    PREG, TTC, BF = ix["health.pregnant"], ix["health.trying_to_conceive"], ix["health.breastfeeding"]  # noqa: N806
    PLAN = ix["health.planning_pregnancy"]  # noqa: N806
    RGB, DELIV = ix["health.recently_gave_birth"], ix["health.delivery_date"]  # noqa: N806
    HC, COND = ix["health.hormonal_contraception"], ix["health.conditions"]  # noqa: N806
    DCTRL, INS = ix["health.diabetes_controlled"], ix["health.uses_insulin"]  # noqa: N806
    ILL, ABX = ix["health.recent_illness"], ix["health.recent_antibiotics"]  # noqa: N806
    INF, SORE, SORE_H = ix["skin.active_infection_at_area"], ix["skin.active_cold_sore"], ix["skin.cold_sore_history"]  # noqa: N806,E501
    KEL, FITZ, CONC = ix["skin.keloid_scarring"], ix["skin.fitzpatrick_type"], ix["skin.concerns"]  # noqa: N806
    TAN, ALC = ix["lifestyle.recent_tanning"], ix["lifestyle.alcohol_drinks_per_week"]  # noqa: N806
    LAST_DRINK, PLANNED_DRINK = ix["lifestyle.last_drink_on"], ix["lifestyle.drinking_before_appointment"]  # noqa: N806
    TAKE, TAKE_P = ix["medications.taking"], ix["medications.taking_prescribed"]  # noqa: N806
    TAKE_U, STOP_P = ix["medications.taking_unprescribed"], ix["medications.stopped_prescribed"]  # noqa: N806
    STOP_RET, UNREC = ix["medications.stopped_on.oral_retinoid"], ix["medications.unrecognised"]  # noqa: N806
    STOP_RET_E = ix["earliest.medications.stopped_on.oral_retinoid"]  # noqa: N806
    DOSE_NSAID, DOSE_ASPIRIN = ix["medications.last_taken_on.nsaid"], ix["medications.last_taken_on.aspirin"]  # noqa: N806,E501
    DOSE_NSAID_E = ix["earliest.medications.last_taken_on.nsaid"]  # noqa: N806
    DOSE_ASPIRIN_E = ix["earliest.medications.last_taken_on.aspirin"]  # noqa: N806
    LAST_DRINK_E = ix["earliest.lifestyle.last_drink_on"]  # noqa: N806
    LA, ANA = ix["allergies.local_anaesthetic_allergy"], ix["allergies.anaphylaxis_history"]  # noqa: N806
    ACT, INJ = ix["allergies.active_allergies"], ix["allergies.injection_reaction"]  # noqa: N806
    A_CLS, A_REACT, A_UNREC = ix["allergies.classes"], ix["allergies.reactions"], ix["allergies.unrecognised"]  # noqa: N806,E501
    GOALS_, AREAS_ = ix["goals.goals"], ix["goals.areas"]  # noqa: N806
    FILLER, BOOSTER, TOXIN = ix[planned + "filler"], ix[planned + "skin_booster"], ix[planned + "botulinum_toxin"]  # noqa: N806,E501
    PEEL, LASER = ix[planned + "chemical_peel"], ix[planned + "laser"]  # noqa: N806
    NEEDLE, DERM = ix[planned + "microneedling"], ix[planned + "microdermabrasion"]  # noqa: N806
    DENTAL, EVENT = ix["treatments.last_on.dental_work"], ix["events.next_on"]  # noqa: N806
    date = dt.date
    anticoagulants = frozenset({"vitamin_k_antagonist", "doac", "heparin"})
    antithrombotics = frozenset({"vitamin_k_antagonist", "doac", "heparin", "antiplatelet", "aspirin"})
    face = frozenset({"face", "forehead", "periorbital", "under_eye", "cheeks", "nasolabial", "perioral", "jawline"})
    skin_areas = face | {"neck", "decolletage"}
    planned_allergens = frozenset({"hyaluronic_acid", "bacterial_protein", "vitamins", "polynucleotides_fish",
                                   "tranexamic_acid", "minoxidil"})

    def check(facts: Any) -> Outcome:  # noqa: C901, PLR0912, PLR0915 - one function on purpose
        v, ref = facts.values, facts.reference_date
        fired: list[str] = []
        asked: list[str] = []
        add = fired.append
        female = v[SEX] != "male"
        conditions, taking, goals, areas = v[COND], v[TAKE], v[GOALS_], v[AREAS_]
        prescribed, unprescribed, alcohol = v[TAKE_P], v[TAKE_U], v[ALC]
        ill, antibiotics, cold_sore, tanning = v[ILL], v[ABX], v[SORE], v[TAN]
        if v[AGE] < 18:
            add("under-18")
        allergens = v[A_CLS]
        if v[LA] is True or "local_anaesthetic" in allergens:
            add("anaesthetic-allergy")
        if v[ANA] is True or "anaphylaxis" in v[A_REACT]:
            add("anaphylaxis-history")
        if len(v[ACT]) > 0 or not planned_allergens.isdisjoint(allergens):
            add("allergy-to-planned-active")
        if v[INJ] is True:
            add("previous-injection-reaction")
        if "latex" in allergens:
            add("latex-allergy")
        if len(v[A_UNREC]) > 0:
            add("unrecognised-allergen")
        if not anticoagulants.isdisjoint(taking):
            add("anticoagulant")
        if "antiplatelet" in taking:
            add("antiplatelet")
        if "aspirin" in prescribed:
            add("prescribed-aspirin")
        if not antithrombotics.isdisjoint(v[STOP_P]):
            add("self-stopped-antithrombotic")
        if "nsaid" in unprescribed or "aspirin" in unprescribed:
            # By the last dose (the latest day it may have been): the day of the appointment and the 7 before.
            nsaid, aspirin = v[DOSE_NSAID], v[DOSE_ASPIRIN]
            nsaid_in = type(nsaid) is date and 0 <= (ref - nsaid).days < 8
            aspirin_in = type(aspirin) is date and 0 <= (ref - aspirin).days < 8
            if nsaid_in or aspirin_in:
                add("unprescribed-nsaid-or-aspirin")
            else:
                add("as-needed-nsaid-or-aspirin")
            nsaid_e, aspirin_e = v[DOSE_NSAID_E], v[DOSE_ASPIRIN_E]
            if ((nsaid_in and not (type(nsaid_e) is date and 0 <= (ref - nsaid_e).days < 8))
                    or (aspirin_in and not (type(aspirin_e) is date and 0 <= (ref - aspirin_e).days < 8))):
                add("nsaid-or-aspirin-last-dose-uncertain")
        if "nsaid" in prescribed or "bleeding_supplement" in prescribed:
            add("prescribed-bleeding-risk-medicine")
        if "bleeding_supplement" in unprescribed:
            add("bleeding-risk-supplement")
        if "ssri_snri" in taking:
            add("ssri-snri")
        day = v[STOP_RET]
        stopped_within = type(day) is date and 0 <= (ref - day).days < 182
        if "oral_retinoid" in taking or stopped_within:
            add("oral-isotretinoin")
        day = v[STOP_RET_E]
        if stopped_within and not (type(day) is date and 0 <= (ref - day).days < 182):
            add("isotretinoin-stop-date-uncertain")
        if "topical_retinoid" in taking or "topical_acid" in taking:
            add("topical-retinoid-or-acid")
        if len(v[UNREC]) > 0:
            add("unrecognised-medication")
        if ill is True:
            add("acute-illness")
        if antibiotics is True or "antibiotic" in taking:
            add("recent-antibiotics")
        if "bleeding_disorder" in conditions:
            add("bleeding-disorder")
        if "autoimmune" in conditions:
            add("autoimmune-disease")
        if "immune_suppression" in conditions or "immunosuppressant" in taking:
            add("immune-suppression")
        if "corticosteroid" in taking and "immunosuppressant" not in taking:
            add("corticosteroid")
        if "cancer_treatment" in conditions:
            add("active-cancer-treatment")
        diabetes = "diabetes" in conditions
        if diabetes and v[DCTRL] is True and v[INS] is False and "insulin" not in taking:
            add("diabetes-controlled")
        if (diabetes and (v[DCTRL] is False or v[INS] is True)) or "insulin" in taking:
            add("diabetes-uncontrolled-or-insulin")
        if "epilepsy" in conditions or "antiepileptic" in taking:
            add("epilepsy")
        day = v[EVENT]
        if type(day) is date:
            days = (day - ref).days
            if 0 <= days <= 7:
                add("event-within-7-days")
            elif 0 <= days <= 14:
                add("event-within-14-days")
        if not skin_areas.isdisjoint(areas):
            add("arrive-make-up-free")
        if tanning is False:
            add("no-resurfacing-or-sun-before")
        if ill is False and antibiotics is False and cold_sore is False:
            add("reschedule-if-unwell")
        if alcohol >= 1:
            add("alcohol-before-appointment")
        day = v[LAST_DRINK]
        drank_within = type(day) is date and 0 <= (ref - day).days < 3
        if drank_within or v[PLANNED_DRINK] is True:
            add("alcohol-close-to-appointment")
        day = v[LAST_DRINK_E]
        if drank_within and not (type(day) is date and 0 <= (ref - day).days < 3):
            add("last-drink-date-uncertain")
        if (alcohol > 14) if not female else (alcohol > 7):
            add("heavy-drinking")
        if "pigmentation" in goals or "even_tone" in goals:
            if "blood_clots" in conditions or "epilepsy" in conditions or "hormonal_contraceptive" in taking:
                add("tranexamic-acid-screen")
            elif female:
                hormonal = v[HC]
                if hormonal is MISSING:
                    asked.append("tranexamic-acid-screen")
                elif hormonal is True:
                    add("tranexamic-acid-screen")
        if "hair_loss" in goals and female and (v[PREG] is True or v[TTC] is True):
            add("dutasteride-pregnancy")
        if "under_eye" in goals or "under_eye" in areas:
            add("under-eye-caution")
        if "acne_scars" in goals and "breakouts" in v[CONC]:
            add("acne-scars-check-acne")
        if "lift" in goals:
            add("lift-expectations")
        if female:
            if v[PREG] is True:
                add("pregnancy")
            if v[BF] is True:
                add("breastfeeding")
            day = v[DELIV]
            if v[RGB] is True and type(day) is date and 0 <= (ref - day).days < 42:
                add("recently-gave-birth")
            if v[TTC] is True:
                add("trying-to-conceive")
            if v[PLAN] is True and v[TTC] is False:
                add("pregnancy-planned-during-course")
        if v[INF] is True:
            add("active-infection-at-area")
        if "skin_disease_at_area" in conditions:
            add("skin-disease-at-area")
        if cold_sore is True:
            add("active-cold-sore")
        if v[SORE_H] is True and not face.isdisjoint(areas):
            add("cold-sore-history")
        if v[KEL] is True:
            add("keloid-scarring")
        if tanning is True:
            add("recent-tanning")
        if v[FITZ] >= 4:
            add("darker-skin-pigment-risk")
        day, other = v[FILLER], v[BOOSTER]
        if (type(day) is date and 0 <= (ref - day).days < 14) or (type(other) is date and 0 <= (ref - other).days < 14):
            add("recent-filler-or-booster-in-area")
        day = v[TOXIN]
        if type(day) is date and 0 <= (ref - day).days < 14:
            add("recent-botulinum-toxin-in-area")
        for day in (v[PEEL], v[LASER], v[NEEDLE], v[DERM]):
            if type(day) is date and 0 <= (ref - day).days < 14:
                add("recent-resurfacing-in-area")
                break
        day = v[DENTAL]
        if type(day) is date and 0 <= (ref - day).days < 14:
            add("recent-dental-work")
        return tuple(fired), tuple(asked)

    return check


#: The rules the hand-written function checks, in the order it appends them (the ruleset's order).
HANDWRITTEN_ORDER = (
    "under-18", "anaesthetic-allergy", "anaphylaxis-history", "allergy-to-planned-active",
    "previous-injection-reaction", "latex-allergy", "unrecognised-allergen",
    "anticoagulant", "antiplatelet", "prescribed-aspirin",
    "self-stopped-antithrombotic", "unprescribed-nsaid-or-aspirin", "as-needed-nsaid-or-aspirin",
    "nsaid-or-aspirin-last-dose-uncertain", "prescribed-bleeding-risk-medicine",
    "bleeding-risk-supplement", "ssri-snri", "oral-isotretinoin", "isotretinoin-stop-date-uncertain",
    "topical-retinoid-or-acid",
    "unrecognised-medication", "acute-illness", "recent-antibiotics", "bleeding-disorder", "autoimmune-disease",
    "immune-suppression", "corticosteroid", "active-cancer-treatment", "diabetes-controlled",
    "diabetes-uncontrolled-or-insulin", "epilepsy", "event-within-7-days", "event-within-14-days",
    "arrive-make-up-free", "no-resurfacing-or-sun-before", "reschedule-if-unwell", "alcohol-before-appointment",
    "alcohol-close-to-appointment", "last-drink-date-uncertain", "heavy-drinking", "tranexamic-acid-screen",
    "dutasteride-pregnancy",
    "under-eye-caution",
    "acne-scars-check-acne", "lift-expectations", "pregnancy", "breastfeeding", "recently-gave-birth",
    "trying-to-conceive", "pregnancy-planned-during-course", "active-infection-at-area", "skin-disease-at-area",
    "active-cold-sore",
    "cold-sore-history", "keloid-scarring", "recent-tanning", "darker-skin-pigment-risk",
    "recent-filler-or-booster-in-area", "recent-botulinum-toxin-in-area", "recent-resurfacing-in-area",
    "recent-dental-work",
)


# --- 3. PyPI engines: translating the ruleset --------------------------------------------------


def _optional_answers() -> frozenset[str]:
    """Answers the schema lets a valid intake leave empty (pregnancy questions for men…)."""
    from marshmallow import missing  # noqa: PLC0415

    optional = set()
    for section, schema in SECTIONS.items():
        for name, field in schema().fields.items():
            if field.allow_none or (not field.required and field.load_default is missing):
                optional.add(f"{section}.{name}")
    return frozenset(optional)


def _uses(ruleset: Any) -> dict[str, Any]:
    """Every field the rules read, with its catalogue spec."""
    used = {}
    for rule in ruleset.rules:
        for node in rule.when.nodes:
            if node.kind == "field":
                used[node.field.name] = node.field
    return used


def context_of(facts: Any, used: dict[str, Any]) -> dict[str, Any]:
    """The facts as nested JSON data: dates as days before the reference date, unanswered as null."""
    ref = facts.reference_date
    context: dict[str, Any] = {}
    for name, spec in used.items():
        value = facts.values[spec.index]
        if value is MISSING:
            value = None
        elif isinstance(value, dt.date):
            value = (ref - value).days
        elif isinstance(value, tuple):
            value = list(value)
        *path, last = name.split(".")
        target = context
        for part in path:
            target = target.setdefault(part, {})
        target[last] = value
    return context


def _zen_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("'", "\\'") + "'"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_zen_literal(v) for v in value) + "]"
    return repr(value)


def zen_expression(node: Any, optional: frozenset[str]) -> str:
    """One condition node as a zen expression (unanswered optional answers make a test false)."""
    if node.kind == "all":
        return "(" + " and ".join(zen_expression(p, optional) for p in node.parts) + ")"
    if node.kind == "any":
        return "(" + " or ".join(zen_expression(p, optional) for p in node.parts) + ")"
    if node.kind == "not":
        return "not (" + zen_expression(node.part, optional) + ")"
    name, op, value = node.field.name, node.operator, node.operand
    if op == "overlaps":  # every area overlapping a listed one, tested like includes_any / in
        value = tuple(sorted(node.wanted))
        op = "includes_any" if node.field.type in ("choice_list", "text_list") else "in"
    lit = _zen_literal(value)
    tests = {
        "equals": f"{name} == {lit}",
        "not_equals": f"{name} != {lit}",
        "in": f"{name} in {lit}",
        "not_in": f"not ({name} in {lit})",
        "includes_any": f"some({name}, # in {lit})",
        "includes_all": f"all({lit}, # in {name})",
        "includes_none": f"none({name}, # in {lit})",
        "less_than": f"{name} < {lit}",
        "at_most": f"{name} <= {lit}",
        "greater_than": f"{name} > {lit}",
        "at_least": f"{name} >= {lit}",
        "is_empty": f"len({name}) {'==' if value else '>'} 0",
        "answered": f"{name} {'!=' if value else '=='} null",
        # dates are days before the reference date (negative: after it)
        "within_days_before": f"({name} != null and {name} >= 0 and {name} < {value})",
        "within_days_after": f"({name} != null and {name} <= 0 and {name} >= -{value})",
    }
    test = tests[op]
    if op not in ("answered", "within_days_before", "within_days_after") and (
            name in optional or node.field.type in ("date",)):
        test = f"({name} != null and {test})"
    return test


#: The one unknown valid answers leave open, written for the two-valued engines: a
#: woman (or undisclosed) with a pigmentation goal, no other reason to screen, and the
#: hormonal contraception question unanswered -> ask.
TXA_ASK_ZEN = ("(some(goals.goals, # in ['pigmentation', 'even_tone'])"
               " and none(health.conditions, # in ['blood_clots', 'epilepsy'])"
               " and none(medications.taking, # in ['hormonal_contraceptive'])"
               " and about.sex != 'male' and health.hormonal_contraception == null)")


def zen_rules(ruleset: Any) -> list[tuple[str, str]]:
    """(rule id or 'ask:rule id', zen expression) for every rule, plus the asked question."""
    optional = _optional_answers()
    rules = [(rule.id, zen_expression(rule.when.root, optional)) for rule in ruleset.rules]
    rules.append(("ask:tranexamic-acid-screen", TXA_ASK_ZEN))
    return rules


def zen_decision_content(rules: list[tuple[str, str]]) -> str:
    """A JDM graph: input -> decision table (hit policy collect, one row per rule) -> output."""
    table_rules = [{"_id": f"r{i}", "c": expression, "o": _zen_literal(rule_id)}
                   for i, (rule_id, expression) in enumerate(rules)]
    graph = {
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "Request", "position": {"x": 0, "y": 0}},
            {"id": "table", "type": "decisionTableNode", "name": "precautions",
             "position": {"x": 200, "y": 0},
             "content": {"hitPolicy": "collect",
                         "inputs": [{"id": "c", "name": "condition", "type": "expression", "field": ""}],
                         "outputs": [{"id": "o", "name": "rule", "type": "expression", "field": "rule"}],
                         "rules": table_rules}},
            {"id": "out", "type": "outputNode", "name": "Response", "position": {"x": 400, "y": 0}},
        ],
        "edges": [{"id": "e1", "sourceId": "in", "targetId": "table", "type": "edge"},
                  {"id": "e2", "sourceId": "table", "targetId": "out", "type": "edge"}],
    }
    return json.dumps(graph)


def _split(ids: Sequence[str], order: dict[str, int]) -> Outcome:
    fired = sorted((i for i in ids if not i.startswith("ask:")), key=order.__getitem__)
    asked = sorted((i[4:] for i in ids if i.startswith("ask:")), key=order.__getitem__)
    return tuple(fired), tuple(asked)


def zen_checkers(ruleset: Any) -> tuple[Callable[[dict], Outcome], Callable[[dict], Outcome], str]:
    """(decision table check, compiled map-expression check, zen version) over a context dict."""
    import zen  # noqa: PLC0415

    order = {rule.id: i for i, rule in enumerate(ruleset.rules)}
    rules = zen_rules(ruleset)
    decision = zen.ZenEngine().create_decision(zen_decision_content(rules))
    keys = {f"r{i}": rule_id for i, (rule_id, _) in enumerate(rules)}
    mapping = zen.compile_expression("{" + ", ".join(f"r{i}: {e}" for i, (_, e) in enumerate(rules)) + "}")

    def table(context: dict) -> Outcome:
        result = decision.evaluate(context)["result"]
        return _split([row["rule"] for row in result], order)

    def expression(context: dict) -> Outcome:
        result = mapping.evaluate(context)
        return _split([keys[k] for k, fired in result.items() if fired], order)

    from importlib.metadata import version  # noqa: PLC0415

    return table, expression, version("zen-engine")


# business-rules: variables are methods; conditions are nested all/any of
# {name, operator, value}; there is no "not", so negations are pushed down to the leaves.

_BR_NEGATE = {
    "is_true": "is_false", "is_false": "is_true",
    "shares_at_least_one_element_with": "shares_no_elements_with",
    "shares_no_elements_with": "shares_at_least_one_element_with",
    "less_than": "greater_than_or_equal_to", "greater_than_or_equal_to": "less_than",
    "greater_than": "less_than_or_equal_to", "less_than_or_equal_to": "greater_than",
}
NO_DATE = 10**9  # a date that does not exist, as "days before": far outside every window


def _br_leaf(name: str, op: str, value: Any) -> dict:
    return {"name": name, "operator": op, "value": value}


def business_rules_condition(node: Any, optional: frozenset[str], negate: bool = False) -> dict:
    """One condition node in business-rules' JSON form."""
    if node.kind in ("all", "any"):
        kind = node.kind if not negate else ("any" if node.kind == "all" else "all")
        return {kind: [business_rules_condition(p, optional, negate) for p in node.parts]}
    if node.kind == "not":
        return business_rules_condition(node.part, optional, not negate)
    spec, op, value = node.field, node.operator, node.operand
    if op == "overlaps":  # every area overlapping a listed one, tested like includes_any / in
        value = tuple(sorted(node.wanted))
        op = "includes_any" if spec.type in ("choice_list", "text_list") else "in"
    var = spec.name.replace(".", "__")
    if op == "within_days_before":  # 0 <= days < N
        parts = [_br_leaf(var, "greater_than_or_equal_to", 0), _br_leaf(var, "less_than", value)]
    elif op == "within_days_after":  # -N <= days <= 0
        parts = [_br_leaf(var, "less_than_or_equal_to", 0), _br_leaf(var, "greater_than_or_equal_to", -value)]
    elif op == "answered":
        parts = [_br_leaf(var + "__answered", "is_true" if value else "is_false", True)]
    elif op == "is_empty":
        parts = [_br_leaf(var + "__count", "equal_to" if value else "greater_than", 0)]
    elif spec.type == "bool" and op in ("equals", "not_equals"):
        parts = [_br_leaf(var, "is_true" if (value is True) == (op == "equals") else "is_false", True)]
    elif op in ("includes_any", "includes_none", "includes_all"):
        name = {"includes_any": "shares_at_least_one_element_with",
                "includes_none": "shares_no_elements_with", "includes_all": "contains_all"}[op]
        parts = [_br_leaf(var, name, list(value))]
    elif op in ("less_than", "at_most", "greater_than", "at_least"):
        name = {"less_than": "less_than", "at_most": "less_than_or_equal_to", "greater_than": "greater_than",
                "at_least": "greater_than_or_equal_to"}[op]
        parts = [_br_leaf(var, name, value)]
    elif op in ("equals", "in", "not_equals", "not_in") and spec.choices is not None:
        wanted = [value] if op in ("equals", "not_equals") else list(value)
        if op in ("not_equals", "not_in"):  # strings have no "not equal": the other choices
            wanted = [c for c in spec.choices if c not in wanted]
        parts = [{"any": [_br_leaf(var, "equal_to", w) for w in wanted]}]
    else:
        raise SystemExit(f"bench_rules: no business-rules form for {spec.name} {op}")
    if spec.name in optional:
        parts.insert(0, _br_leaf(var + "__answered", "is_true", True))
    condition = parts[0] if len(parts) == 1 else {"all": parts}
    if not negate:
        return condition
    return _br_negate(condition)


def _br_negate(condition: dict) -> dict:
    if "all" in condition:
        return {"any": [_br_negate(c) for c in condition["all"]]}
    if "any" in condition:
        return {"all": [_br_negate(c) for c in condition["any"]]}
    op = condition["operator"]
    if op not in _BR_NEGATE:
        raise SystemExit(f"bench_rules: cannot negate business-rules operator {op}")
    return {**condition, "operator": _BR_NEGATE[op]}


def business_rules_checker(ruleset: Any) -> tuple[Callable[[dict], Outcome], Callable[[Any], dict], str]:
    """(check over a flat variable dict, facts -> that dict, business-rules version)."""
    from importlib.metadata import version  # noqa: PLC0415

    from business_rules import engine, variables  # noqa: PLC0415
    from business_rules.actions import BaseActions, rule_action  # noqa: PLC0415
    from business_rules.fields import FIELD_TEXT  # noqa: PLC0415

    optional = _optional_answers()
    used = _uses(ruleset)
    order = {rule.id: i for i, rule in enumerate(ruleset.rules)}
    rules = [{"conditions": business_rules_condition(rule.when.root, optional),
              "actions": [{"name": "flag", "params": {"rule_id": rule.id}}]} for rule in ruleset.rules]
    rules.append({"conditions": {"all": [
        _br_leaf("goals__goals", "shares_at_least_one_element_with", ["pigmentation", "even_tone"]),
        _br_leaf("health__conditions", "shares_no_elements_with", ["blood_clots", "epilepsy"]),
        _br_leaf("medications__taking", "shares_no_elements_with", ["hormonal_contraceptive"]),
        {"any": [_br_leaf("about__sex", "equal_to", "female"),
                 _br_leaf("about__sex", "equal_to", "prefer_not_to_say")]},
        _br_leaf("health__hormonal_contraception__answered", "is_false", True),
    ]}, "actions": [{"name": "flag", "params": {"rule_id": "ask:tranexamic-acid-screen"}}]})

    kinds = {"bool": variables.boolean_rule_variable, "number": variables.numeric_rule_variable,
             "date": variables.numeric_rule_variable, "choice": variables.string_rule_variable,
             "text": variables.string_rule_variable, "choice_list": variables.select_multiple_rule_variable,
             "text_list": variables.select_multiple_rule_variable}
    defaults = {"bool": False, "number": 0, "date": NO_DATE, "choice": "", "text": "",
                "choice_list": [], "text_list": []}
    methods: dict[str, Any] = {"__init__": lambda self, data: setattr(self, "data", data)}

    def getter(key: str, default: Any) -> Callable[[Any], Any]:
        def get(self: Any) -> Any:
            value = self.data[key]
            return default if value is None else value
        return get

    for name, spec in used.items():
        var = name.replace(".", "__")
        decorate = kinds[spec.type]
        methods[var] = decorate()(getter(var, defaults[spec.type]))
        methods[var + "__answered"] = variables.boolean_rule_variable()(getter(var + "__answered", False))
        methods[var + "__count"] = variables.numeric_rule_variable()(getter(var + "__count", 0))
    variables_class = type("IntakeVariables", (variables.BaseVariables,), methods)

    class Collect(BaseActions):
        def __init__(self) -> None:
            self.ids: list[str] = []

        @rule_action(params={"rule_id": FIELD_TEXT})
        def flag(self, rule_id: str) -> None:
            self.ids.append(rule_id)

    def flat(facts: Any) -> dict:
        ref = facts.reference_date
        data: dict[str, Any] = {}
        for name, spec in used.items():
            var = name.replace(".", "__")
            value = facts.values[spec.index]
            answered = value is not MISSING and value is not None
            data[var + "__answered"] = answered
            if value is MISSING or value is None:
                value = None
            elif isinstance(value, dt.date):
                value = (ref - value).days
            elif isinstance(value, tuple):
                data[var + "__count"] = len(value)
                value = list(value)
            data[var] = value
            data.setdefault(var + "__count", 0)
        return data

    def check(data: dict) -> Outcome:
        actions = Collect()
        engine.run_all(rules, variables_class(data), actions, stop_on_first_trigger=False)
        return _split(actions.ids, order)

    return check, flat, version("business-rules")


# --- timing ------------------------------------------------------------------------------------


#: The clock of every figure: this thread's CPU time (time spent waiting for the core while
#: other processes run is not counted), or wall time with --clock wall.
CLOCK: dict[str, Callable[[], int]] = {"cpu": time.thread_time_ns, "wall": time.perf_counter_ns}
clock_ns = CLOCK["cpu"]


def measure_group(entries: Sequence[Entry], repeat: int, results: dict[str, float],
                  chunk: int = 250) -> None:
    """Time several implementations side by side and print calls/s and latencies.

    They are interleaved chunk by chunk (``chunk`` intakes of one, then of the next…) so
    that all of them run under the same conditions; each chunk keeps its best time of
    ``repeat`` passes, so a pass slowed down by other processes does not count. Then one
    more pass of each times every call, for the latencies.
    """
    count = len(entries[0].inputs)
    starts = range(0, count, chunk)
    best = [[float("inf")] * len(starts) for _ in entries]
    clock = clock_ns
    for _ in range(repeat):
        fns = [entry.fresh() if entry.fresh is not None else entry.fn for entry in entries]
        for n, first in enumerate(starts):
            for e, (entry, fn) in enumerate(zip(entries, fns, strict=True)):
                part = entry.inputs[first:first + chunk]
                began = clock()
                for item in part:
                    fn(item)
                best[e][n] = min(best[e][n], clock() - began)
    timed = [e for e, entry in enumerate(entries) if entry.fresh is None]
    seen: dict[int, list[int]] = {e: [] for e in timed}
    for e in timed:
        fn, record = entries[e].fn, seen[e].append
        for item in entries[e].inputs:
            began = clock()
            fn(item)
            record(clock() - began)
    for e, entry in enumerate(entries):
        per_second = count / (sum(best[e]) / 1e9)
        results[entry.label] = per_second
        line = f"  {entry.label:<52} {per_second:>12,.0f}/s"
        if e in seen:
            values_ = sorted(seen[e])
            median = statistics.median(values_) / 1000
            p99 = values_[min(len(values_) - 1, int(len(values_) * 0.99))] / 1000
            line += f"   median {median:>9.2f} µs   p99 {p99:>9.2f} µs"
        print(line, flush=True)


@dataclass
class Entry:
    """One implementation to time: a label, the function, its inputs (one per intake)."""

    label: str
    fn: Callable[[Any], Any]
    inputs: Sequence[Any]
    #: Makes a fresh function before each pass (cold caches); no latencies are taken.
    fresh: Callable[[], Callable[[Any], Any]] | None = None


def clock_overhead() -> float:
    """The cost of reading the clock twice, in microseconds (included in every latency)."""
    clock = clock_ns
    seen = []
    for _ in range(20_000):
        began = clock()
        seen.append(clock() - began)
    return min(seen) / 1000


def agreement(label: str, check: Callable[[Any], Outcome], inputs: Sequence[Any],
              expected: Sequence[Outcome]) -> None:
    same = sum(1 for item, want in zip(inputs, expected, strict=True) if check(item) == want)
    note = "" if same == len(expected) else "   <-- DIFFERS: its figures do not compare like with like"
    print(f"  {label:<52} {same:>6} of {len(expected)} intakes agree with the engine{note}")


def profile(fn: Callable[[Any], Any], items: Sequence[Any], title: str, lines: int = 22) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for item in items:
        fn(item)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(lines)
    print(f"\n--- cProfile: {title} (sorted by own time) ---")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="synthetic intakes (default 10000)")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--repeat", type=int, default=4,
                        help="timed passes; each 250-intake chunk keeps its best time (default 4)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one CPU core")
    parser.add_argument("--clock", choices=sorted(CLOCK), default="cpu",
                        help="cpu: this thread's CPU time (default: robust on a busy machine); "
                             "wall: wall time")
    parser.add_argument("--profile", action="store_true", help="cProfile the engine and the full assessment")
    args = parser.parse_args()
    global clock_ns
    clock_ns = CLOCK[args.clock]

    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"bench_rules: {args.count} intakes, seed {args.seed}, Python {platform.python_version()}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs (running on {cores}), {dt.date.today()}, "
          f"{args.clock} clock, load average {os.getloadavg()[0]:.1f}")

    start = time.perf_counter()
    intakes = make_intakes(args.count, args.seed)
    ruleset = load_ruleset(RULES)
    facts = [derive_facts(a, ruleset.lexicon, ON, ruleset.catalogue) for a in intakes]
    print(f"  generated and validated in {time.perf_counter() - start:.1f} s; "
          f"{len(ruleset.rules)} rules, ruleset {ruleset.version[:12]}")

    engine_check = engine_checker(ruleset)
    expected = [engine_check(f) for f in facts]
    fired = sum(len(e[0]) for e in expected)
    asked = sum(len(e[1]) for e in expected)
    with_meds = sum(1 for f in facts if f.medications)
    unrecognised = sum(1 for f in facts for m in f.medications if not m.matches)
    print(f"  {fired / len(facts):.1f} rules fire per intake on average; {asked} questions in all; "
          f"{with_meds} intakes list medicines, {unrecognised} typed lines unrecognised")
    outcomes: dict[str, int] = {}
    no_plan = load_ruleset(RULES)
    no_plan.protocols = None
    decide = product_rules_step(ruleset)
    values_ = [f.values for f in facts]
    for f in facts:
        outcome = assess_facts(f, no_plan).outcome
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    print("  outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))

    hand = handwritten_checker(ruleset)
    zen_table, zen_map, zen_version = zen_checkers(ruleset)
    br_check, br_flat, br_version = business_rules_checker(ruleset)
    used = _uses(ruleset)
    zen_contexts = [context_of(f, used) for f in facts]
    br_inputs = [br_flat(f) for f in facts]

    print("\nAgreement (rules fired and questions asked, per intake):")
    agreement("one hand-written Python function", hand, facts, expected)
    agreement("the plain evaluator (every node traced)", plain_checker(ruleset), facts, expected)
    agreement(f"zen-engine {zen_version} decision table", zen_table, zen_contexts, expected)
    agreement(f"zen-engine {zen_version} compiled expression", zen_map, zen_contexts, expected)
    agreement(f"business-rules {br_version}", br_check, br_inputs, expected)

    gc.collect()
    gc.freeze()
    overhead = clock_overhead()
    print(f"\nLatencies are per call on the {args.clock} clock; reading the clock costs {overhead:.2f} µs "
          "(included in every latency below). Implementations are interleaved, chunk by chunk.")
    results: dict[str, float] = {}
    print("\n(1)-(3) Rules on precomputed derived facts (one core):")
    measure_group([
        Entry("(1) engine: the rules step of assess_facts", decide, values_),
        Entry("(1p) engine: plain evaluator, every node traced", plain_checker(ruleset), facts),
        Entry("(1b) engine: assess_facts, no plan (flags, dates)", lambda f: assess_facts(f, no_plan), facts),
        Entry("(2) one hand-written Python function", hand, facts),
        Entry(f"(3) zen-engine {zen_version}: compiled expression", zen_map, zen_contexts),
        Entry(f"(3) zen-engine {zen_version}: JDM decision table", zen_table, zen_contexts),
        Entry(f"(3) business-rules {br_version}", br_check, br_inputs),
    ], args.repeat, results)

    def cold_assess() -> Callable[[Any], Any]:
        fresh = load_ruleset(RULES)  # new lexicon caches: every typed line is new to it
        return lambda a: assess(a, fresh, ON)

    others = make_intakes(args.count, args.seed + 1)  # other patients, to warm the memos with

    def first_sight() -> Callable[[Any], Any]:
        # A fresh ruleset warmed on other intakes: every memo (lexicon lines, flags, plans) is
        # as warm as a running worker's, but no intake timed has been seen before. (The warm
        # figure below re-assesses the same intakes pass after pass: what re-assessment does,
        # and every memo hits.)
        warmed = load_ruleset(RULES)
        for other in others:
            assess(other, warmed, ON)
        return lambda a: assess(a, warmed, ON)

    print("\n(4) Full assessment: assess(answers, ruleset, on) - derivation, medicines, rules, plan:")
    measure_group([
        Entry("(4) full assessment, cold lexicon caches", cold_assess(), intakes, fresh=cold_assess),
        Entry("(4s) full assessment, first sight, warm memos", first_sight(), intakes, fresh=first_sight),
        Entry("(4) full assessment, warm", lambda a: assess(a, ruleset, ON), intakes),
        Entry("(4b) full assessment without the plan, warm", lambda a: assess(a, no_plan, ON), intakes),
        Entry("(4c) derive_facts only (answers -> facts), warm",
              lambda a: derive_facts(a, ruleset.lexicon, ON, ruleset.catalogue), intakes),
    ], args.repeat, results)
    cold = results["(4) full assessment, cold lexicon caches"]

    engine_rate = results["(1) engine: the rules step of assess_facts"]
    hand_rate = results["(2) one hand-written Python function"]
    pypi = {k: v for k, v in results.items() if k.startswith("(3)")}
    fastest_label, fastest = max(pypi.items(), key=lambda kv: kv[1])
    full = results["(4) full assessment, warm"]
    seen_once = results["(4s) full assessment, first sight, warm memos"]
    print("\nRatios:")
    within = "met" if hand_rate / engine_rate <= 3 else "MISSED"
    print(f"  one function / engine (rules only):  {hand_rate / engine_rate:5.2f}x   "
          f"(goal: the rules on derived facts within 3x of the one-function baseline -> {within})")
    print(f"  engine / fastest PyPI engine:        {engine_rate / fastest:5.2f}x   ({fastest_label.strip()}; "
          f"goal >= 3x -> {'met' if engine_rate / fastest >= 3 else 'MISSED'})")
    for label, rate in pypi.items():
        print(f"  engine / {label[4:].strip():<44} {engine_rate / rate:8.1f}x")
    print(f"  full assessment with the plan, warm: {full:,.0f}/s   "
          f"(goal >= 20,000/s on one core -> {'met' if full >= 20_000 else 'MISSED'}); cold {cold:,.0f}/s")
    print(f"  the same, each intake seen for the first time by warm memos: {seen_once:,.0f}/s   "
          f"(-> {'met' if seen_once >= 20_000 else 'MISSED'})")

    if args.profile:
        profile(decide, values_, "(1) engine, the rules step of assess_facts")
        profile(lambda a: assess(a, ruleset, ON), intakes, "(4) full assessment, warm")


if __name__ == "__main__":
    main()

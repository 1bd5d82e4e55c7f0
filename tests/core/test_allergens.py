"""The allergen lexicon (rules/allergens.yaml), the allergy facts and what the rules and plan make of them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from intake.answers import ACTIVE_ALLERGIES, ALLERGY_REACTIONS, load_answers, values
from intake.assessment import MISSING, Layer, Ruleset, RulesetInvalid, assess, derive_facts, load_layers
from intake.assessment.allergens import AllergenLexicon, parse_allergens
from intake.assessment.understood import understood_allergies

from .support import ON, SHIPPED_RULES, document_with


@pytest.fixture(scope="module")
def allergens(shipped: Ruleset) -> AllergenLexicon:
    lexicon = shipped.catalogue.allergens
    assert lexicon is not None
    return lexicon


def recognised(lexicon: AllergenLexicon, typed: str) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(m.typed, m.allergen, tuple(sorted(m.classes))) for m in lexicon.match(typed)]


def named(*items: tuple[str, str], other: str = "") -> dict[str, Any]:
    """The base intake with these allergies named (name, reaction)."""
    return load_answers(document_with({
        "allergies.has_allergies": True,
        "allergies.items": [{"name": name, "reaction": reaction} for name, reaction in items],
        "allergies.other_allergies": other,
    }))


# --- the lexicon ------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "allergen", "classes"), [
    ("lidocaine", "lidocaine", ("local_anaesthetic",)),
    ("Xylocaine", "lidocaine", ("local_anaesthetic",)),
    ("lignocaine", "lidocaine", ("local_anaesthetic",)),
    ("EMLA cream", "lidocaine-prilocaine", ("local_anaesthetic",)),
    ("numbing cream", "lidocaine-prilocaine", ("local_anaesthetic",)),
    ("Novocaine at the dentist", "procaine", ("local_anaesthetic",)),
    ("Restylane", "hyaluronic acid", ("hyaluronic_acid",)),
    ("bacterial proteins", "gram-positive bacterial proteins", ("bacterial_protein",)),
    ("streptococcus", "gram-positive bacterial proteins", ("bacterial_protein",)),
    ("salmon", "fish", ("polynucleotides_fish",)),
    ("Rejuran", "polynucleotides", ("polynucleotides_fish",)),
    ("Regaine", "minoxidil", ("minoxidil",)),
    ("TXA", "tranexamic acid", ("tranexamic_acid",)),
    ("vitamin B12 injections", "vitamins", ("vitamins",)),
    ("latex gloves", "latex", ("latex",)),
    ("Augmentin", "co-amoxiclav", ("penicillin",)),
    ("wasps", "wasp sting", ("insect_venom",)),
    ("peanut butter", "peanuts", ("food",)),
    ("Elastoplast", "plasters", ("adhesive",)),
])
def test_names_brands_and_synonyms_are_recognised(allergens: AllergenLexicon, typed: str, allergen: str,
                                                   classes: tuple[str, ...]) -> None:
    assert [(m.allergen, tuple(sorted(m.classes))) for m in allergens.match(typed)] == [(allergen, classes)]


@pytest.mark.parametrize(("typed", "allergen"), [
    ("lidokaine", "lidocaine"),  # a slip the file does not list: caught by the typo matcher
    ("Xylocane", "lidocaine"),  # a listed misspelling
    ("penicilline", "penicillin"),
    ("penicillinn", "penicillin"),
    ("amoxicilin", "amoxicillin"),
    ("hyaluronc acid", "hyaluronic acid"),
    ("polynucleotids", "polynucleotides"),
    ("tranexemic acid", "tranexamic acid"),
])
def test_typos_are_recognised(allergens: AllergenLexicon, typed: str, allergen: str) -> None:
    matches = allergens.match(typed)
    assert [m.allergen for m in matches] == [allergen]


def test_a_near_spelling_is_not_exact_and_keeps_what_was_typed(allergens: AllergenLexicon) -> None:
    [match] = allergens.match("Allergic to lidokaine (swelling)")
    assert (match.typed, match.allergen, match.exact) == ("lidokaine", "lidocaine", False)


def test_several_allergens_on_one_line_are_all_recognised(allergens: AllergenLexicon) -> None:
    assert recognised(allergens, "penicillin and lidocaine, also bee stings") == [
        ("penicillin", "penicillin", ("penicillin",)),
        ("lidocaine", "lidocaine", ("local_anaesthetic",)),
        ("bee stings", "bee sting", ("insect_venom",)),
    ]


@pytest.mark.parametrize("typed", [
    "not allergic to penicillin", "no known allergies", "none", "None known", "NKDA", "n/a", "nil",
    "No allergy to lidocaine", "I'm not allergic to anything",
])
def test_negations_name_no_allergen_and_are_not_unrecognised(allergens: AllergenLexicon, typed: str) -> None:
    assert allergens.match(typed) == ()
    assert AllergenLexicon.says_none(typed)


def test_a_negation_covers_only_what_follows_it(allergens: AllergenLexicon) -> None:
    assert recognised(allergens, "lidocaine but not penicillin") == [("lidocaine", "lidocaine", ("local_anaesthetic",))]


@pytest.mark.parametrize("typed", ["cats", "hay fever", "ibuprofen", "sulfa drugs", "nitrile gloves", "later",
                                   "tetracycline", "HIV positive"])
def test_unknown_names_are_unrecognised_not_guessed(allergens: AllergenLexicon, typed: str) -> None:
    assert allergens.match(typed) == ()
    assert not AllergenLexicon.says_none(typed)


def test_the_planned_actives_checklist_has_a_class_of_the_same_id_each(allergens: AllergenLexicon) -> None:
    """A ticked box and a named allergy are read the same way by the rules and the plan."""
    assert set(values(ACTIVE_ALLERGIES)) <= set(allergens.classes)


def test_every_class_cites_a_source_of_the_bibliography(shipped: Ruleset, allergens: AllergenLexicon) -> None:
    for cls in allergens.classes.values():
        assert cls.source and set(cls.source) <= set(shipped.sources), cls.id


@pytest.mark.parametrize(("text", "expected"), [
    ("classes:\n  - id: x\n    label: X\n    source: [nice-anaphylaxis-cg134]\n    allergens:\n"
     "      - name: cats\n        aliases: [cats]\n", "'cats' is listed twice in class 'x'"),
    ("classes:\n  - id: x\n    label: X\n    source: [nice-anaphylaxis-cg134]\n    allergens:\n"
     "      - name: cats and dogs\n", "splits a typed line"),
    ("classes:\n  - id: x\n    label: X\n    source: [nice-anaphylaxis-cg134]\n    allergens:\n"
     "      - name: allergic rhinitis\n", "contains 'allergic', which is passed over"),
    ("classes:\n  - id: x\n    label: X\n    source: [nice-anaphylaxis-cg134]\n    allergens:\n"
     "      - name: cats\n  - id: y\n    label: Y\n    source: [nice-anaphylaxis-cg134]\n    allergens:\n"
     "      - name: pets\n        aliases: [cats]\n", "already stands for 'cats'"),
    ("classes:\n  - id: x\n    label: X\n    source: [no-such-source]\n    allergens:\n      - name: cats\n",
     "no-such-source"),
    ("classes:\n  - id: x\n    label: X\n    source: [nice-anaphylaxis-cg134]\n    allergens:\n"
     "      - name: cats\n        synonyms: [kitty]\n", "unknown key"),
    ("not_allergens: [two words]\nclasses: []\n", "must be a single word"),
    ("", "the file is empty"),
])
def test_mistakes_in_a_lexicon_file_are_errors_with_their_line(text: str, expected: str) -> None:
    with pytest.raises(RulesetInvalid) as raised:
        parse_allergens(text, "clinic/allergens.yaml", sources={"nice-anaphylaxis-cg134"})
    assert any(expected in error.message for error in raised.value.errors), raised.value.errors
    assert all(error.file == "clinic/allergens.yaml" for error in raised.value.errors)


CLINIC_ALLERGENS = """\
classes:
  - id: local_anaesthetic
    label: ignored, the default's label stays
    source: [rule-default-anaesthetics]
    allergens:
      - name: lidocaine tape
        brands: [Numbrite]
  - id: chlorhexidine
    label: Chlorhexidine (skin antiseptic)
    source: [rule-default-anaesthetics]
    allergens:
      - name: chlorhexidine
        brands: [Hibiscrub]
"""
CLINIC_SOURCES = """\
- id: rule-default-anaesthetics
  title: The clinic's own list of products
  published_in: clinic.example
  url: https://clinic.example/products
  supports: What the clinic uses.
"""
CLINIC_RULE = """\
- id: chlorhexidine-allergy
  title: Allergy to our skin antiseptic
  severity: precaution
  when: {field: allergies.classes, includes_any: [chlorhexidine]}
  message: Use another antiseptic.
  source: [rule-default-anaesthetics]
"""


def test_a_clinic_layer_adds_names_and_classes_that_rules_can_read() -> None:
    ruleset = load_layers([Layer.from_folder(SHIPPED_RULES), Layer("clinic", {
        "allergens.yaml": CLINIC_ALLERGENS, "sources.yaml": CLINIC_SOURCES, "precautions/ours.yaml": CLINIC_RULE})])
    lexicon = ruleset.catalogue.allergens
    assert lexicon is not None
    assert [m.allergen for m in lexicon.match("Numbrite")] == ["lidocaine tape"]
    assert [m.allergen for m in lexicon.match("lidocaine")] == ["lidocaine"]  # the defaults stay
    assert lexicon.classes["local_anaesthetic"].label.startswith("Local anaesthetics")
    result = assess(named(("Hibiscrub", "rash"), ("Numbrite", "swelling")), ruleset, ON)
    assert {"chlorhexidine-allergy", "anaesthetic-allergy"} <= {f.rule_id for f in result.flags}


def test_a_rule_on_an_allergen_class_no_lexicon_has_is_an_error() -> None:
    rule = CLINIC_RULE.replace("[chlorhexidine]", "[chlorhexidene]").replace(
        "[rule-default-anaesthetics]", "[nice-anaphylaxis-cg134]")
    with pytest.raises(RulesetInvalid) as raised:
        load_layers([Layer.from_folder(SHIPPED_RULES), Layer("clinic", {"precautions/ours.yaml": rule})])
    assert any("chlorhexidene" in error.message for error in raised.value.errors)


def test_the_version_changes_with_the_allergen_lexicon(shipped: Ruleset) -> None:
    layer = Layer.from_folder(SHIPPED_RULES)
    files = dict(layer.files)
    files["allergens.yaml"] = bytes(files["allergens.yaml"]) + b"\n# edited\n"
    assert load_layers([Layer(layer.name, files)]).version != shipped.version


# --- facts ------------------------------------------------------------------------------------


def test_named_allergies_give_classes_reactions_and_unrecognised_names(shipped: Ruleset) -> None:
    facts = derive_facts(named(("Lidocane", "swelling"), ("penicillin", "anaphylaxis"), ("cats", "rash"),
                               ("no known allergies", "unsure"), other="EMLA made me itch; also hay fever"),
                         shipped.lexicon, ON, shipped.catalogue)
    assert facts["allergies.classes"] == ("local_anaesthetic", "penicillin")
    assert facts["allergies.reactions"] == ("anaphylaxis", "rash", "swelling", "unsure")
    assert facts["allergies.unrecognised"] == ("cats",)
    assert facts.evidence("allergies.classes", ["local_anaesthetic"]) == (
        "Lidocane (swelling) → local_anaesthetic (lidocaine)",
        "EMLA made me itch; also hay fever → local_anaesthetic (lidocaine-prilocaine)",
    )
    assert facts.evidence("allergies.reactions", ["anaphylaxis"]) == (
        "penicillin (anaphylaxis) → penicillin (penicillin)",)
    assert facts.evidence("allergies.unrecognised") == ("cats (rash) → not recognised",)


@pytest.mark.parametrize("has_allergies", [False, None])
def test_without_a_yes_to_the_list_question_no_allergy_is_named(shipped: Ruleset, has_allergies: bool | None) -> None:
    """None: an intake stored before the question was asked (it still loads)."""
    document = document_with({"allergies.has_allergies": has_allergies})
    if has_allergies is None:
        del document["allergies"]["has_allergies"]
    facts = derive_facts(load_answers(document), shipped.lexicon, ON, shipped.catalogue)
    assert (facts["allergies.classes"], facts["allergies.reactions"], facts["allergies.unrecognised"]) == ((), (), ())


def test_the_allergy_facts_are_unknown_without_the_allergies_section(shipped: Ruleset) -> None:
    answers = load_answers(document_with({}))
    del answers["allergies"]
    facts = derive_facts(answers, shipped.lexicon, ON, shipped.catalogue)
    assert facts["allergies.classes"] is MISSING and facts["allergies.unrecognised"] is MISSING
    result = assess(answers, shipped, ON)
    asked = {f.rule_id for f in result.flags if f.unanswered}
    assert {"anaesthetic-allergy", "anaphylaxis-history"} <= asked


def test_the_reactions_are_the_vocabulary_of_the_question(shipped: Ruleset) -> None:
    assert shipped.catalogue.fields["allergies.reactions"].choices == tuple(values(ALLERGY_REACTIONS))


# --- rules, flags and plan --------------------------------------------------------------------


def test_a_flag_shows_the_allergy_that_triggered_it(shipped: Ruleset) -> None:
    result = assess(named(("Xylocaine at the dentist", "swelling")), shipped, ON)
    [flag] = [f for f in result.flags if f.rule_id == "anaesthetic-allergy"]
    assert any("Xylocaine at the dentist (swelling) → local_anaesthetic (lidocaine)" in t.evidence
               for t in flag.triggered_by)
    assert result.plan is not None and result.plan.no_numbing_cream


@pytest.mark.parametrize(("typed", "left_out"), [
    ("salmon", "polynucleotides"),
    ("bacterial proteins", "non_cross_linked_ha"),
    ("Juvederm", "non_cross_linked_ha"),
])
def test_a_named_allergy_to_an_active_leaves_it_out_of_the_plan(shipped: Ruleset, typed: str, left_out: str) -> None:
    answers = load_answers(document_with({
        "allergies.has_allergies": True, "allergies.items": [{"name": typed, "reaction": "rash"}],
        "goals.goals": ["hydration", "under_eye"], "goals.areas": ["face", "under_eye"]}))
    result = assess(answers, shipped, ON)
    assert "allergy-to-planned-active" in {f.rule_id for f in result.flags}
    assert result.plan is not None
    assert left_out in {a.id for a in result.plan.excluded_actives}
    assert left_out not in {a.id for a in result.plan.actives}


def test_the_same_allergies_give_the_same_flags_with_and_without_the_fast_path(shipped: Ruleset) -> None:
    answers = named(("lidocaine", "anaphylaxis"), ("latex", "rash"), ("kiwi", "swelling"), other="bee stings")
    fast = assess(answers, shipped, ON)
    again = assess(answers, shipped, ON)  # from the flag memos
    plain = assess(answers, shipped, ON, fast=False)
    assert fast.flags == again.flags == plain.flags
    assert {"anaesthetic-allergy", "anaphylaxis-history", "latex-allergy", "unrecognised-allergen"} <= {
        f.rule_id for f in fast.flags}


# --- as understood on the record --------------------------------------------------------------


def test_each_allergy_is_shown_as_the_lexicon_understood_it(allergens: AllergenLexicon) -> None:
    understood = understood_allergies(named(("lidokaine", "swelling"), ("cats", "rash"), ("none", "unsure"),
                                            other="latex")["allergies"], allergens)
    assert [(a.typed, a.reaction, a.is_recognised, a.near_spelling, a.free_text, a.says_none)
            for a in understood] == [
        ("lidokaine", "swelling", True, True, False, False),
        ("cats", "rash", False, False, False, False),
        ("none", "unsure", False, False, False, True),
        ("latex", "", True, False, True, False),
    ]
    assert understood[0].classes == (("local_anaesthetic", allergens.classes["local_anaesthetic"].label),)
    assert understood_allergies(None, allergens) == ()


def test_on_a_date_the_facts_do_not_depend_on_it(shipped: Ruleset) -> None:
    answers = named(("penicillin", "rash"))
    assert (derive_facts(answers, shipped.lexicon, ON, shipped.catalogue)["allergies.classes"]
            == derive_facts(answers, shipped.lexicon, ON + dt.timedelta(days=300), shipped.catalogue)[
                "allergies.classes"])


def test_an_intake_stored_before_the_list_was_asked_loads_and_dumps_as_none_named() -> None:
    from intake.answers import dump_answers

    old = document_with({})
    assert "has_allergies" not in old["allergies"] and "items" not in old["allergies"]
    loaded = load_answers(old)
    assert dump_answers(loaded)["allergies"]["items"] == []
    del loaded["allergies"]["items"]  # as the demo and older code paths hand it over
    assert dump_answers(loaded)["allergies"]["items"] == []

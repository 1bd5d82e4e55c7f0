"""Sources that resolve, and flags in words: the bibliography, the citations checked against it, rule titles."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from intake.assessment import Flag, Layer, RulesetInvalid, Source, assess, load_layers, load_ruleset
from intake.assessment.model import Assessment
from intake.assessment.sources import LEGACY_SOURCE_IDS, RULE_DEFAULT, parse_sources, resolve_legacy

from .support import ON, SHIPPED_RULES, SMALL_LEXICON, SOURCES, answers

ONE_SOURCE = """\
# A clinic's own bibliography.
- id: clinic-protocol-2026
  authors: The clinic
  title: Our treatment protocol
  published_in: Clinic handbook
  year: 2026
  url: https://example.org/protocol
  supports: The clinic's own alcohol window.

- id: otley-2003
  authors: Otley CC
  title: Continuation of medically necessary aspirin and warfarin during cutaneous surgery
  published_in: Mayo Clinic Proceedings
  doi: 10.4065/78.11.1392
  supports: Blood thinners are continued.
"""

RULE = """\
- id: alcohol
  title: Alcohol in the 48 hours before
  severity: precaution
  when: {field: lifestyle.alcohol_drinks_per_week, at_least: 1}
  message: Alcohol increases bruising.
  source: [azpmu-mesotherapy-pre-post-care]
"""

PROTOCOLS = """\
scheduling:
  event_window_days: 14
  event_window_source: [delight-medical-mesotherapy-safety]
protocols:
  - id: monthly
    label: Monthly
    goals: [hydration]
    actives: [{id: ha, label: HA}]
    sessions: {min: 2, max: 6, default: 3}
    interval_days: {min: 30, default: 30}
    depth_mm: {min: 1, max: 3}
    areas: [face]
    maintenance_interval_days: 120
    downtime: None.
    after_effects: [Redness]
    source: [konda-thappa-mesotherapy-2013]
adjustments:
  - id: smoker
    when: {field: lifestyle.smoking, equals: current}
    reason: Smoking slows healing.
    sessions: 1
    source: [rule-default]
"""


def defaults(files: dict[str, str] | None = None) -> Layer:
    """A small default layer: the shipped sources, the small lexicon, one rule; ``files`` replace or add."""
    base: dict[str, str | bytes] = {"sources.yaml": SOURCES, "medications.yaml": SMALL_LEXICON,
                                    "precautions/main.yaml": RULE}
    base.update(files or {})
    return Layer("rules", base)


def errors_of(*layers: Layer) -> list[str]:
    with pytest.raises(RulesetInvalid) as raised:
        load_layers(list(layers))
    return [str(error) for error in raised.value.errors]


# --- the sources file -------------------------------------------------------------------------


def test_a_good_sources_file_loads_every_entry() -> None:
    sources = parse_sources(ONE_SOURCE, "clinic/sources.yaml")
    assert list(sources) == ["clinic-protocol-2026", "otley-2003"]
    clinic, otley = sources.values()
    assert clinic == Source(id="clinic-protocol-2026", authors="The clinic", title="Our treatment protocol",
                            published_in="Clinic handbook", year=2026, url="https://example.org/protocol", doi=None,
                            supports="The clinic's own alcohol window.")
    assert clinic.link == "https://example.org/protocol"
    assert clinic.citation() == "The clinic. Our treatment protocol. Clinic handbook, 2026."
    assert (otley.year, otley.url, otley.link) == (None, None, "https://doi.org/10.4065/78.11.1392")
    assert otley.citation() == ("Otley CC. Continuation of medically necessary aspirin and warfarin during cutaneous "
                                "surgery. Mayo Clinic Proceedings.")


def test_a_title_ending_in_a_question_mark_keeps_it_alone() -> None:
    source = Source("q", "", "Mesotherapy: what is new?", "IJDVL", 2013, "https://example.org", None, "x")
    assert source.citation() == "Mesotherapy: what is new? IJDVL, 2013."


def test_an_empty_sources_file_holds_nothing() -> None:
    assert parse_sources("# nothing yet\n", "sources.yaml") == {}


def test_a_source_needs_a_url_or_a_doi() -> None:
    text = ONE_SOURCE.replace("  doi: 10.4065/78.11.1392\n", "")
    with pytest.raises(RulesetInvalid) as raised:
        parse_sources(text, "clinic/sources.yaml")
    assert [str(e) for e in raised.value.errors] == [
        "clinic/sources.yaml:10:3 [rule otley-2003]: a source needs a 'url' or a 'doi' (or both), so it can be found",
    ]


def test_a_duplicate_source_id_names_where_it_was_first() -> None:
    text = ONE_SOURCE.replace("- id: otley-2003", "- id: clinic-protocol-2026")
    with pytest.raises(RulesetInvalid) as raised:
        parse_sources(text, "clinic/sources.yaml")
    assert [str(e) for e in raised.value.errors] == [
        "clinic/sources.yaml:10:7 [rule clinic-protocol-2026]: duplicate source id 'clinic-protocol-2026': "
        "first defined on line 2",
    ]


def test_malformed_yaml_in_a_sources_file_is_placed() -> None:
    text = ONE_SOURCE.replace("  title: Our treatment protocol\n", "  title: Our: treatment protocol\n")
    with pytest.raises(RulesetInvalid) as raised:
        parse_sources(text, "clinic/sources.yaml")
    [error] = raised.value.errors
    assert (error.file, error.line) == ("clinic/sources.yaml", 4)
    assert "malformed YAML" in error.message


def test_every_field_problem_is_reported_with_its_place() -> None:
    text = """\
- id: Bad_Id
  title: T
  published_in: P
  url: https://example.org
  supports: S
- id: no-title
  published_in: P
  year: 20
  doi: https://doi.org/10.1/x
  url: example.org
  supports: S
  colour: red
- id: rule-default
  title: T
  published_in: P
  url: https://example.org
  supports: S
"""
    with pytest.raises(RulesetInvalid) as raised:
        parse_sources(text, "s.yaml")
    assert [str(e) for e in raised.value.errors] == [
        "s.yaml:1:7 [rule Bad_Id]: 'id' must be lowercase words joined by '-', like otley-aspirin-2003",
        "s.yaml:6:3 [rule no-title]: missing 'title'",
        "s.yaml:8:9 [rule no-title]: 'year' needs a year such as 2017",
        "s.yaml:9:8 [rule no-title]: 'doi' needs a DOI such as 10.4065/78.11.1392 (without https://doi.org/)",
        "s.yaml:10:8 [rule no-title]: 'url' needs a web address starting with https:// or http://",
        "s.yaml:12:3 [rule no-title]: unknown key 'colour' (known keys: id, authors, title, published_in, year, url, "
        "doi, supports)",
        "s.yaml:13:7 [rule rule-default]: 'id' 'rule-default' is kept for decisions of the clinic: choose another id",
    ]


def test_a_sources_file_is_a_list() -> None:
    with pytest.raises(RulesetInvalid) as raised:
        parse_sources("id: x\n", "s.yaml")
    assert [str(e) for e in raised.value.errors] == [
        "s.yaml:1:1: a sources file is a list of sources, each starting with '- id:'"]


# --- titles -----------------------------------------------------------------------------------


def test_a_rule_without_a_title_fails_with_file_line_and_rule() -> None:
    untitled = RULE.replace("  title: Alcohol in the 48 hours before\n", "")
    assert errors_of(defaults({"precautions/main.yaml": untitled})) == [
        "rules/precautions/main.yaml:1:3 [rule alcohol]: missing 'title'"]


@pytest.mark.parametrize(("title", "problem"), [
    ("x" * 81, "needs a short line of text (at most 80 characters), such as: Alcohol in the 48 hours before"),
    ("''", "needs a short line of text (at most 80 characters), such as: Alcohol in the 48 hours before"),
    ("|\n    Two\n    lines", "needs one short line of text, such as: Alcohol in the 48 hours before"),
    ("[a, b]", "needs a short line of text, such as: Alcohol in the 48 hours before"),
])
def test_a_title_is_one_short_line(title: str, problem: str) -> None:
    text = RULE.replace("Alcohol in the 48 hours before", title)
    [error] = errors_of(defaults({"precautions/main.yaml": text}))
    assert error.startswith("rules/precautions/main.yaml:2:") and "[rule alcohol]" in error
    assert error.endswith(f"'title' {problem}")


def test_flags_carry_the_title_of_their_rule_on_every_path() -> None:
    ruleset = load_layers([defaults()])
    given = answers(lifestyle__alcohol_drinks_per_week=2)
    fast, plain = assess(given, ruleset, ON), assess(given, ruleset, ON, fast=False)
    assert fast == plain
    assert fast.flag("alcohol").title == "Alcohol in the 48 hours before"  # type: ignore[union-attr]
    unanswered = answers()
    del unanswered["lifestyle"]["alcohol_drinks_per_week"]
    question = assess(unanswered, ruleset, ON).flag("alcohol")
    assert question is not None and question.is_question
    assert question.title == "Alcohol in the 48 hours before"
    assert assess(unanswered, ruleset, ON, fast=False).flag("alcohol") == question


def test_flag_to_dict_has_the_title_and_old_flags_read_back_titled_by_their_rule_id() -> None:
    flag = Flag(rule_id="alcohol", severity="precaution", message="m", source=("azpmu-mesotherapy-pre-post-care",),
                file="precautions/main.yaml", line=1, title="Alcohol in the 48 hours before")
    stored = flag.to_dict()
    assert stored["title"] == "Alcohol in the 48 hours before"
    assert Flag.from_dict(stored) == flag
    del stored["title"]
    assert Flag.from_dict(stored) == replace(flag, title="alcohol")


def test_a_stored_assessment_round_trips_with_titles() -> None:
    ruleset = load_ruleset(SHIPPED_RULES)
    result = assess(answers(lifestyle__alcohol_drinks_per_week=3), ruleset, ON)
    assert result.flags and all(flag.title for flag in result.flags)
    stored = Assessment.from_dict(result.to_dict())
    assert [flag.title for flag in stored.flags] == [ruleset.rule(flag.rule_id).title for flag in result.flags]


# --- citations --------------------------------------------------------------------------------


def test_a_rule_citing_an_unknown_source_fails_with_file_and_line() -> None:
    text = RULE.replace("[azpmu-mesotherapy-pre-post-care]", "[azpmu-mesotherapy-pre-post-car, S10]")
    assert errors_of(defaults({"precautions/main.yaml": text})) == [
        "rules/precautions/main.yaml:6:12 [rule alcohol]: 'source' cites 'azpmu-mesotherapy-pre-post-car', "
        "which is not in sources.yaml (did you mean 'azpmu-mesotherapy-pre-post-care'?)",
        "rules/precautions/main.yaml:6:44 [rule alcohol]: 'source' must be the id of a source in sources.yaml "
        "(lowercase words joined by '-'), or rule-default",
    ]


def test_a_rule_may_cite_rule_default() -> None:
    text = RULE.replace("[azpmu-mesotherapy-pre-post-care]", f"[{RULE_DEFAULT}]")
    assert load_layers([defaults({"precautions/main.yaml": text})]).rule("alcohol").source == (RULE_DEFAULT,)


def test_without_any_sources_file_every_citation_fails() -> None:
    layer = defaults()
    files = dict(layer.files)
    del files["sources.yaml"]
    errors = errors_of(Layer("rules", files))
    assert errors and all("which is not in sources.yaml" in error for error in errors)
    assert any(error.startswith("rules/medications.yaml:4:") for error in errors)
    assert any(error.startswith("rules/precautions/main.yaml:6:") for error in errors)


def test_a_broken_sources_file_is_reported_alone() -> None:
    broken = defaults({"sources.yaml": "- id: x\n  title: T\n"})
    # Only the sources file's own errors: what cites it is not checked against a broken file.
    assert errors_of(broken) == ["rules/sources.yaml:1:3 [rule x]: missing 'published_in'",
                                 "rules/sources.yaml:1:3 [rule x]: missing 'supports'"]


def test_a_medication_class_citing_an_unknown_source_fails_with_file_and_line() -> None:
    lexicon = SMALL_LEXICON.replace("source: [azpmu-mesotherapy-pre-post-care]", "source: [nsaid-list, rule-default]")
    assert errors_of(defaults({"medications.yaml": lexicon})) == [
        "rules/medications.yaml:10:14 [rule nsaid]: source: cites 'nsaid-list', which is not in sources.yaml",
        "rules/medications.yaml:10:26 [rule nsaid]: source: 'rule-default' is not a document: cite a source from "
        "sources.yaml",
    ]


def test_a_protocol_an_adjustment_and_the_event_window_citing_unknown_sources_fail() -> None:
    text = (PROTOCOLS.replace("[delight-medical-mesotherapy-safety]", "[delight-medical]")
            .replace("[konda-thappa-mesotherapy-2013]", "[konda-2013]")
            .replace("[rule-default]", "[rule-default, smoking-study]"))
    errors = errors_of(defaults({"protocols.yaml": text}))
    assert errors == [
        "rules/protocols.yaml:3:25: 'event_window_source' cites 'delight-medical', which is not in sources.yaml",
        "rules/protocols.yaml:16:14 [rule monthly]: 'source' cites 'konda-2013', which is not in sources.yaml",
        "rules/protocols.yaml:22:28 [rule smoker]: 'source' cites 'smoking-study', which is not in sources.yaml",
    ]
    assert load_layers([defaults({"protocols.yaml": PROTOCOLS})]).protocols is not None


def test_a_clinic_layer_adds_sources_and_its_rules_cite_them() -> None:
    clinic_rule = """\
- id: clinic-alcohol
  title: Alcohol in the 72 hours before
  severity: precaution
  when: {field: lifestyle.alcohol_drinks_per_week, at_least: 1}
  message: Our window is 72 hours.
  source: [clinic-protocol-2026, otley-2003, azpmu-mesotherapy-pre-post-care]
"""
    clinic = Layer("clinic", {"sources.yaml": ONE_SOURCE, "precautions/ours.yaml": clinic_rule})
    ruleset = load_layers([defaults(), clinic])
    assert ruleset.rule("clinic-alcohol").source == ("clinic-protocol-2026", "otley-2003",
                                                     "azpmu-mesotherapy-pre-post-care")
    assert ruleset.sources["clinic-protocol-2026"].title == "Our treatment protocol"
    assert "azpmu-mesotherapy-pre-post-care" in ruleset.sources
    assert "layer1/sources.yaml" in ruleset.files
    # Without the clinic's sources file, its rule does not load.
    assert errors_of(defaults(), Layer("clinic", {"precautions/ours.yaml": clinic_rule})) == [
        "clinic/precautions/ours.yaml:6:12 [rule clinic-alcohol]: 'source' cites 'clinic-protocol-2026', which is "
        "not in sources.yaml",
        "clinic/precautions/ours.yaml:6:34 [rule clinic-alcohol]: 'source' cites 'otley-2003', which is not in "
        "sources.yaml",
    ]


def test_a_clinic_source_replaces_the_default_of_the_same_id() -> None:
    own = ONE_SOURCE.replace("id: otley-2003", "id: azpmu-mesotherapy-pre-post-care")
    ruleset = load_layers([defaults(), Layer("clinic", {"sources.yaml": own})])
    assert ruleset.sources["azpmu-mesotherapy-pre-post-care"].authors == "Otley CC"
    assert ruleset.with_rules(ruleset.rules).sources == ruleset.sources


def test_the_sources_are_part_of_the_version() -> None:
    first = load_layers([defaults()])
    again = load_layers([defaults()])
    edited = load_layers([defaults({"sources.yaml": SOURCES + "\n# reviewed\n"})])
    assert first.version == again.version != edited.version
    assert "sources.yaml" in first.files


def test_a_folder_layer_reads_its_sources_file(tmp_path: Path) -> None:
    (tmp_path / "precautions").mkdir()
    (tmp_path / "sources.yaml").write_text(ONE_SOURCE)
    assert Layer.from_folder(tmp_path).files["sources.yaml"] == ONE_SOURCE.encode()


# --- the shipped rules --------------------------------------------------------------------------


def test_the_shipped_ruleset_is_titled_and_every_citation_resolves() -> None:
    ruleset = load_ruleset(SHIPPED_RULES)
    known = set(ruleset.sources)
    assert len(known) >= 100
    for rule in ruleset.rules:
        assert rule.title and len(rule.title) <= 80 and "\n" not in rule.title, rule.id
        assert rule.title[0].isupper() and not rule.title.endswith("."), rule.id
        assert set(rule.source) <= known, rule.id
    assert ruleset.lexicon is not None and ruleset.protocols is not None
    for cls in ruleset.lexicon.classes.values():
        assert cls.source and set(cls.source) <= known, cls.id
    for protocol in ruleset.protocols.protocols:
        assert set(protocol.source) <= known, protocol.id
    for adjustment in ruleset.protocols.adjustments:
        assert set(adjustment.source) <= known | {RULE_DEFAULT}, adjustment.id
    assert len({rule.title for rule in ruleset.rules}) == len(ruleset.rules)


def test_every_shipped_source_is_findable_and_says_what_it_supports() -> None:
    sources = load_ruleset(SHIPPED_RULES).sources
    for source in sources.values():
        assert source.link.startswith(("https://", "http://")), source.id
        assert source.title and source.published_in and source.supports, source.id
        assert source.citation().endswith("."), source.id


def test_nothing_shipped_cites_the_old_numbering() -> None:
    for path in sorted(SHIPPED_RULES.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\bS\d{1,2}\b", text), path


def test_the_legacy_map_covers_every_old_label_with_shipped_ids() -> None:
    known = set(load_ruleset(SHIPPED_RULES).sources)
    old = {f"S{n}" for n in range(1, 63)} - {"S42"}  # S42 was retired before anything cited it
    assert set(LEGACY_SOURCE_IDS) == old
    for label, ids in LEGACY_SOURCE_IDS.items():
        assert ids and set(ids) <= known, label
    # Every shipped source is reachable from some old label, or was added since (announced here).
    assert {i for ids in LEGACY_SOURCE_IDS.values() for i in ids} | ADDED_SINCE_THE_LABELS == known


#: Sources shipped after the old labels were retired, so no old label leads to them.
ADDED_SINCE_THE_LABELS = frozenset({
    # The allergen lexicon (rules/allergens.yaml) and its rules.
    "owczarczyk-saczonek-ha-immunogenicity-2021", "sarfani-penicillin-allergy-preoperative-2022",
    "yadav-gupta-latex-allergy-healthcare-2023", "naranje-latex-nitrile-gloves-2023", "nice-anaphylaxis-cg134",
    "hamnerius-colophonium-adhesive-tape-2023",
    # As-needed painkillers by their last dose (rules/precautions/bleeding-and-medicines.yaml).
    "schafer-nsaids-platelet-function-1995",
})


def test_resolve_legacy_replaces_old_labels_and_keeps_new_ids() -> None:
    assert resolve_legacy(["S20", "otley-aspirin-warfarin-cutaneous-surgery-2003", "rule-default"]) == (
        "otley-aspirin-warfarin-cutaneous-surgery-2003", "ucsd-perioperative-anticoagulation-dermatology",
        "rule-default")


def test_a_stored_flag_with_old_labels_resolves_to_shipped_sources() -> None:
    ruleset = load_ruleset(SHIPPED_RULES)
    stored = assess(answers(lifestyle__alcohol_drinks_per_week=3), ruleset, ON).to_dict()
    for flag in stored["flags"]:
        flag["source"] = ["S10", "S12"]
        del flag["title"]
    old = Assessment.from_dict(stored)
    for flag in old.flags:
        assert flag.title == flag.rule_id
        assert set(resolve_legacy(flag.source)) <= set(ruleset.sources)

"""Layered rule folders: a clinic folder overrides, disables and adds rules over the defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.answers import load_answers
from intake.assessment import Layer, RulesetInvalid, assess, load_layers, load_ruleset
from intake.assessment.ruletests import run_rule_tests

from .support import BASES, ENGINE_RULES, ON, PASSING, RULETEST_RULES, SMALL_LEXICON, SOURCES, document, make_rules

CLINIC_RULES = """\
- id: alcohol
  title: Alcohol
  override: true
  severity: defer
  when: {field: lifestyle.alcohol_drinks_per_week, at_least: 3}
  defer_for_days: 30
  message: Stricter alcohol window at this clinic.
  source: [rule-default]

- id: lidocaine-product
  title: Lidocaine product
  severity: contraindicated
  when: {field: medications.taking, includes_any: [clinic_numbing]}
  message: Takes a product with the local anaesthetic our numbing cream contains.
  source: [rule-default]
"""

CLINIC_LEXICON = """\
classes:
  - id: clinic_numbing
    label: Numbing products
    source: [konda-thappa-mesotherapy-2013]
    medications:
      - generic: lidocaine
        brands: [Numbrite]
  - id: doac
    label: ignored, the class exists
    source: [konda-thappa-mesotherapy-2013]
    medications:
      - generic: edoxaban
        brands: [Lixiana]
"""


@pytest.fixture
def layers(tmp_path: Path) -> tuple[Path, Path]:
    defaults = make_rules(tmp_path / "defaults")
    clinic = tmp_path / "clinic"
    (clinic / "precautions").mkdir(parents=True)
    (clinic / "precautions" / "ours.yaml").write_text(CLINIC_RULES)
    (clinic / "disabled.yaml").write_text("- keloids\n- event-soon\n")
    (clinic / "medications.yaml").write_text(CLINIC_LEXICON)
    return defaults, clinic


def flags(ruleset, **changes) -> set[str]:  # type: ignore[no-untyped-def]
    return {flag.rule_id for flag in assess(load_answers(document(**changes)), ruleset, ON).flags}


def test_one_folder_in_a_list_is_the_folder(layers: tuple[Path, Path]) -> None:
    defaults, _ = layers
    alone, listed = load_ruleset(defaults), load_ruleset([defaults])
    assert alone.version == listed.version
    assert [r.id for r in alone.rules] == [r.id for r in listed.rules]


def test_override_disable_add(layers: tuple[Path, Path]) -> None:
    defaults, clinic = layers
    base = load_ruleset(defaults)
    ruleset = load_ruleset([defaults, clinic])
    ids = [rule.id for rule in ruleset.rules]
    assert "keloids" not in ids and "event-soon" not in ids
    assert "lidocaine-product" in ids
    assert len(ids) == len(base.rules) - 2 + 1
    alcohol = ruleset.rule("alcohol")
    assert alcohol.severity == "defer" and alcohol.folder == str(clinic)
    assert (alcohol.file, alcohol.line) == ("precautions/ours.yaml", 1)
    assert ruleset.rule("anticoagulant").folder == str(defaults)
    assert [(n.action, n.rule_id) for n in ruleset.notes] == [
        ("override", "alcohol"), ("disable", "keloids"), ("disable", "event-soon")]
    assert ruleset.notes[0].replaced.endswith("defaults/precautions/main.yaml:25")
    # The overridden rule behaves as the clinic wrote it: 2 drinks no longer flag, 3 defer.
    assert "alcohol" in flags(base, lifestyle__alcohol_drinks_per_week=2)
    assert "alcohol" not in flags(ruleset, lifestyle__alcohol_drinks_per_week=2)
    deferred = assess(load_answers(document(lifestyle__alcohol_drinks_per_week=3)), ruleset, ON)
    assert deferred.outcome == "defer"
    # A clinic brand name joins the lexicon; a name added to a known class carries it.
    numb = [{"name": "Numbrite", "status": "taking", "prescribed": False}]
    assert "lidocaine-product" in flags(ruleset, medications__has_medications=True, medications__items=numb)
    lixiana = [{"name": "Lixiana", "status": "taking", "prescribed": True}]
    assert "anticoagulant" in flags(ruleset, medications__has_medications=True, medications__items=lixiana)
    assert "anticoagulant" not in flags(base, medications__has_medications=True, medications__items=lixiana)
    # The version covers every layer.
    assert ruleset.version != base.version
    (clinic / "disabled.yaml").write_text("- keloids\n")
    assert load_ruleset([defaults, clinic]).version != ruleset.version


def test_same_id_without_override_names_both_files(layers: tuple[Path, Path]) -> None:
    defaults, clinic = layers
    text = CLINIC_RULES.replace("  override: true\n", "")
    (clinic / "precautions" / "ours.yaml").write_text(text)
    with pytest.raises(RulesetInvalid) as raised:
        load_ruleset([defaults, clinic])
    [error] = raised.value.errors
    assert error.file == str(clinic / "precautions" / "ours.yaml") and error.line == 1
    assert error.rule_id == "alcohol"
    assert str(defaults / "precautions" / "main.yaml") + ":25" in error.message
    assert "override: true" in error.message


def test_override_within_the_defaults_is_still_a_duplicate(tmp_path: Path) -> None:
    root = make_rules(tmp_path / "d")
    (root / "precautions" / "zz.yaml").write_text(CLINIC_RULES.split("\n\n")[0] + "\n")
    with pytest.raises(RulesetInvalid, match="duplicate rule id 'alcohol'"):
        load_ruleset(root)


def test_override_of_an_unknown_id_is_noted(layers: tuple[Path, Path]) -> None:
    defaults, clinic = layers
    (clinic / "precautions" / "ours.yaml").write_text(CLINIC_RULES.replace("id: alcohol", "id: alcohool"))
    ruleset = load_ruleset([defaults, clinic])
    assert ("override-unknown", "alcohool") in [(n.action, n.rule_id) for n in ruleset.notes]


def test_disabling_an_unknown_id_is_an_error(layers: tuple[Path, Path]) -> None:
    defaults, clinic = layers
    (clinic / "disabled.yaml").write_text("- keloids\n- keloid\n")
    with pytest.raises(RulesetInvalid) as raised:
        load_ruleset([defaults, clinic])
    [error] = raised.value.errors
    assert (error.file, error.line, error.rule_id) == (str(clinic / "disabled.yaml"), 2, "keloid")
    assert "cannot disable 'keloid'" in error.message


def test_bad_clinic_file_while_defaults_are_fine(layers: tuple[Path, Path]) -> None:
    defaults, clinic = layers
    broken = "- id: bad\n  title: Bad\n  severity: awful\n  when: {field: nope, equals: 1}\n"
    (clinic / "precautions" / "broken.yaml").write_text(broken)
    with pytest.raises(RulesetInvalid) as raised:
        load_ruleset([defaults, clinic])
    assert raised.value.errors
    assert {error.file for error in raised.value.errors} == {str(clinic / "precautions" / "broken.yaml")}
    assert all(error.rule_id == "bad" for error in raised.value.errors)
    load_ruleset(defaults)  # the defaults alone still load


def test_bad_clinic_lexicon_is_reported_with_its_file(layers: tuple[Path, Path]) -> None:
    defaults, clinic = layers
    (clinic / "medications.yaml").write_text("classes: [{id: x}]\n")
    with pytest.raises(RulesetInvalid) as raised:
        load_ruleset([defaults, clinic])
    assert {error.file for error in raised.value.errors} == {str(clinic / "medications.yaml")}


def test_missing_folder(layers: tuple[Path, Path], tmp_path: Path) -> None:
    defaults, _ = layers
    with pytest.raises(RulesetInvalid, match="no such rules folder"):
        load_ruleset([defaults, tmp_path / "nowhere"])


TESTS_DEFAULT = """\
- name: healthy
  on: 2026-11-25
  answers: base
  expect: {outcome: suitable, flags: []}

- name: two drinks is a precaution
  on: 2026-11-25
  answers: base
  change: {lifestyle.alcohol_drinks_per_week: 2}
  expect: {flags: [alcohol]}
"""

TESTS_CLINIC = """\
- name: two drinks is fine here
  on: 2026-11-25
  answers: base
  change: {lifestyle.alcohol_drinks_per_week: 2}
  expect: {outcome: suitable}

- name: three drinks defer
  on: 2026-11-25
  answers: base
  change: {lifestyle.alcohol_drinks_per_week: 3}
  expect: {outcome: defer, flags: [alcohol]}
"""


def test_rule_tests_are_layered_by_file_name(tmp_path: Path) -> None:
    defaults = tmp_path / "defaults"
    (defaults / "precautions").mkdir(parents=True)
    (defaults / "tests").mkdir()
    (defaults / "sources.yaml").write_text(SOURCES)
    (defaults / "medications.yaml").write_text(SMALL_LEXICON)
    (defaults / "precautions" / "main.yaml").write_text(
        "- id: alcohol\n  title: Alcohol\n  severity: precaution\n"
        "  when: {field: lifestyle.alcohol_drinks_per_week, at_least: 1}\n"
        "  message: Alcohol.\n  source: [azpmu-mesotherapy-pre-post-care]\n")
    (defaults / "tests" / "bases.yaml").write_text(BASES)
    (defaults / "tests" / "alcohol.yaml").write_text(TESTS_DEFAULT)
    clinic = tmp_path / "clinic"
    (clinic / "precautions").mkdir(parents=True)
    (clinic / "tests").mkdir()
    (clinic / "precautions" / "ours.yaml").write_text(
        "- id: alcohol\n  title: Alcohol\n  override: true\n  severity: defer\n  defer_for_days: 30\n"
        "  when: {field: lifestyle.alcohol_drinks_per_week, at_least: 3}\n  message: Alcohol.\n"
        "  source: [rule-default]\n")
    assert run_rule_tests(load_ruleset(defaults)).ok
    # Without its own tests the clinic override fails the defaults' case...
    report = run_rule_tests(load_ruleset([defaults, clinic]))
    assert not report.ok
    assert [case.name for case in report.failures] == ["two drinks is a precaution"]
    # ...and a clinic tests/alcohol.yaml replaces it, using the defaults' bases.
    (clinic / "tests" / "alcohol.yaml").write_text(TESTS_CLINIC)
    report = run_rule_tests(load_ruleset([defaults, clinic]))
    assert report.ok, report.format()
    assert [case.name for case in report.cases] == ["two drinks is fine here", "three drinks defer"]


def test_cli_show_prints_each_rule_with_its_origin(
    layers: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from intake.rulesets.cli import rules

    defaults, clinic = layers
    monkeypatch.setenv("RULES_DIRS", f"{defaults}:{clinic}")
    result = CliRunner().invoke(rules, ["show"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    [alcohol] = [line for line in lines if line.split()[:1] == ["alcohol"]]
    assert f"{clinic}/precautions/ours.yaml:1 (override)" in alcohol
    [anticoagulant] = [line for line in lines if line.split()[:1] == ["anticoagulant"]]
    assert f"{defaults}/precautions/main.yaml:" in anticoagulant
    assert f"disabled keloids by {clinic}/disabled.yaml:1" in result.output
    assert not any(line.split()[:1] == ["keloids"] for line in lines)
    check = CliRunner().invoke(rules, ["check"])
    assert check.exit_code == 0 and check.output.startswith(f"{defaults}:{clinic}: ")


# --- layers given as data --------------------------------------------------------------------------


def _memory(clinic_files: dict[str, str | bytes]) -> list[Layer]:
    return [Layer("rules", {"sources.yaml": SOURCES, "medications.yaml": SMALL_LEXICON,
                            "precautions/main.yaml": RULETEST_RULES, "tests/bases.yaml": BASES,
                            "tests/cases.yaml": PASSING}),
            Layer("clinic", clinic_files)]


def test_layers_in_memory_load_as_the_same_folders_do(layers: tuple[Path, Path]) -> None:
    defaults, clinic = layers
    from_folders = load_ruleset([defaults, clinic])
    in_memory = load_layers([Layer("rules", {"sources.yaml": SOURCES, "medications.yaml": SMALL_LEXICON,
                                             "precautions/main.yaml": ENGINE_RULES}),
                             Layer("clinic", {"precautions/ours.yaml": CLINIC_RULES,
                                              "disabled.yaml": "- keloids\n- event-soon\n",
                                              "medications.yaml": CLINIC_LEXICON})])
    assert in_memory.version == from_folders.version  # the same bytes, whatever their home
    assert in_memory.files == from_folders.files
    assert [(r.id, r.file, r.line) for r in in_memory.rules] == [(r.id, r.file, r.line) for r in from_folders.rules]
    assert in_memory.rule("alcohol").folder == "clinic" and in_memory.rule("anticoagulant").folder == "rules"
    assert [(n.action, n.rule_id, n.folder) for n in in_memory.notes] == [
        ("override", "alcohol", "clinic"), ("disable", "keloids", "clinic"), ("disable", "event-soon", "clinic")]
    assert in_memory.notes[0].replaced == "rules/precautions/main.yaml:25"
    given = load_answers(document(lifestyle__alcohol_drinks_per_week=3))
    assert assess(given, in_memory, ON).to_dict() == assess(given, from_folders, ON).to_dict()


def test_a_folder_read_into_a_layer_is_the_folder(layers: tuple[Path, Path]) -> None:
    defaults, clinic = layers
    read = load_layers([Layer.from_folder(defaults), Layer.from_folder(clinic)])
    assert read.version == load_ruleset([defaults, clinic]).version
    assert Layer.from_folder(clinic).name == str(clinic)


def test_errors_in_memory_name_the_layer_file_line_and_rule() -> None:
    broken = CLINIC_RULES.replace("severity: defer", "severity: deferred", 1)
    with pytest.raises(RulesetInvalid) as raised:
        load_layers(_memory({"precautions/ours.yaml": broken, "disabled.yaml": "- acohol\n",
                             "medications.yaml": CLINIC_LEXICON,
                             "precautions/latin1.yaml": "- id: caf\xe9\n".encode("latin-1")}))
    assert [str(error) for error in raised.value.errors] == [
        "clinic/disabled.yaml:1:3 [rule acohol]: cannot disable 'acohol': no earlier rule has that id "
        "(did you mean 'alcohol'?)",
        "clinic/precautions/latin1.yaml: cannot read the file: 'utf-8' codec can't decode byte 0xe9 in position "
        "9: invalid continuation byte",
        "clinic/precautions/ours.yaml:4:13 [rule alcohol]: 'severity' must be one of: info, precaution, defer, "
        "contraindicated",
    ]


def test_rule_tests_run_from_the_layers_in_memory() -> None:
    failing = PASSING + """
- name: a case the clinic got wrong
  on: 2026-11-25
  answers: base
  expect: {outcome: contraindicated}
"""
    report = run_rule_tests(load_layers(_memory({"tests/cases.yaml": failing})))
    assert [(case.file, case.name) for case in report.failures] == [
        ("clinic/tests/cases.yaml", "a case the clinic got wrong")]
    assert len(report.cases) == 4  # the clinic's cases.yaml replaces the default one of that name
    assert run_rule_tests(load_layers(_memory({}))).ok


def test_no_layers_is_an_error() -> None:
    with pytest.raises(RulesetInvalid, match="no rules folder given"):
        load_layers([])

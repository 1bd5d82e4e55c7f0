"""Rule files with mistakes: every error names file, line, column, rule and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.assessment import RulesetInvalid, load_ruleset
from intake.assessment.yamlkit import load_located

from .support import GOOD, SOURCES
from .support import SMALL_LEXICON as LEXICON


def write_rules(root: Path, files: dict[str, str], lexicon: str = LEXICON) -> None:
    (root / "precautions").mkdir(parents=True)
    (root / "sources.yaml").write_text(SOURCES)
    (root / "medications.yaml").write_text(lexicon)
    for name, text in files.items():
        (root / "precautions" / name).write_text(text)


@pytest.fixture
def errors_of(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Load a ruleset made of the given rule files; return its errors as printed."""
    monkeypatch.chdir(tmp_path)

    def load(files: dict[str, str], lexicon: str = LEXICON) -> list[str]:
        write_rules(Path("rules"), files, lexicon)
        with pytest.raises(RulesetInvalid) as raised:
            load_ruleset("rules")
        return [str(error) for error in raised.value.errors]

    return load


CASES = {
    "malformed YAML": (
        "- id: pregnancy\n  severity: defer\n   when: {}\n",
        [
            "rules/precautions/a.yaml:3:8: malformed YAML: unexpected ':' (put text containing ': ' in "
            "quotes, or check the indentation)"
        ],
    ),
    "tab indentation": (
        "- id: pregnancy\n\tseverity: defer\n",
        ["rules/precautions/a.yaml:2:1: malformed YAML: a tab character; indent with spaces"],
    ),
    "unclosed quote": (
        '- id: pregnancy\n  message: "Pregnant.\n',
        ["rules/precautions/a.yaml:2:12: malformed YAML: the quote opened on line 2 is never closed"],
    ),
    "key written twice": (
        GOOD.replace("  message: Pregnant.\n", "  message: Pregnant.\n  message: Again.\n"),
        [
            "rules/precautions/a.yaml:7:3: the key 'message' is written twice in this mapping (first on "
            "line 6)"
        ],
    ),
    "file is not a list": (
        "id: pregnancy\nseverity: defer\n",
        ["rules/precautions/a.yaml:1:1: a rule file is a list of rules, each starting with '- id:'"],
    ),
    "unknown top-level key of a rule": (
        GOOD.replace("  severity: defer\n", "  severity: defer\n  severty: defer\n"),
        ["rules/precautions/a.yaml:3:3 [rule pregnancy]: unknown key 'severty' (did you mean 'severity'?)"],
    ),
    "unknown field with a suggestion": (
        GOOD.replace("health.pregnant", "health.pregant"),
        [
            "rules/precautions/a.yaml:4:12 [rule pregnancy]: unknown field 'health.pregant' "
            "(did you mean 'health.pregnant'?)"
        ],
    ),
    "a list of items is read through derived facts": (
        GOOD.replace(
            "field: health.pregnant\n    equals: true", "field: medications.items\n    answered: true"
        ),
        [
            "rules/precautions/a.yaml:4:12 [rule pregnancy]: 'medications.items' is a list of items, read "
            "through the derived facts: medications.last_taken_on.CLASS, medications.stopped_on.CLASS, "
            "medications.stopped_prescribed, medications.taking, "
            "medications.taking_prescribed, medications.taking_unprescribed, medications.unrecognised"
        ],
    ),
    "operator that does not fit the type": (
        GOOD.replace("equals: true", "at_least: 1"),
        [
            "rules/precautions/a.yaml:5:5 [rule pregnancy]: 'at_least' does not apply to health.pregnant, a "
            "yes/no field (use one of: equals, not_equals, answered)"
        ],
    ),
    "value of the wrong type": (
        GOOD.replace("equals: true", "equals: 'yes please'"),
        [
            "rules/precautions/a.yaml:5:13 [rule pregnancy]: 'equals' on health.pregnant needs true or "
            "false, not 'yes please'"
        ],
    ),
    "number given as text": (
        GOOD.replace(
            "field: health.pregnant\n    equals: true",
            "field: lifestyle.alcohol_drinks_per_week\n    at_least: 'one'",
        ),
        [
            "rules/precautions/a.yaml:5:15 [rule pregnancy]: 'at_least' on lifestyle.alcohol_drinks_per_week "
            "needs a number, not 'one'"
        ],
    ),
    "unknown choice value": (
        GOOD.replace("field: health.pregnant\n    equals: true", "field: about.sex\n    not_equals: mal"),
        [
            "rules/precautions/a.yaml:5:17 [rule pregnancy]: 'mal' is not a choice of about.sex "
            "(did you mean 'male'?); choices: female, male, prefer_not_to_say"
        ],
    ),
    "unknown choice in a list": (
        GOOD.replace(
            "field: health.pregnant\n    equals: true",
            "field: health.conditions\n    includes_any: [diabetes, epilepsie]",
        ),
        [
            "rules/precautions/a.yaml:5:30 [rule pregnancy]: 'epilepsie' is not a choice of "
            "health.conditions "
            "(did you mean 'epilepsy'?); choices: bleeding_disorder, blood_clots, autoimmune, diabetes, "
            "cancer_treatment, epilepsy, immune_suppression, heart_condition, skin_disease_at_area, other"
        ],
    ),
    "unknown medication class": (
        GOOD.replace(
            "field: health.pregnant\n    equals: true",
            "field: medications.taking\n    includes_any: [doacs, nsaid]",
        ),
        [
            "rules/precautions/a.yaml:5:20 [rule pregnancy]: unknown medication class 'doacs' (did you mean "
            "'doac'?)"
        ],
    ),
    "unknown medication class in a derived field name": (
        GOOD.replace(
            "field: health.pregnant\n    equals: true",
            "field: medications.stopped_on.warfarin\n    within_days_before: 3",
        ),
        [
            "rules/precautions/a.yaml:4:12 [rule pregnancy]: unknown medication class 'warfarin' in "
            "'medications.stopped_on.warfarin'"
        ],
    ),
    "unknown treatment kind": (
        GOOD.replace(
            "field: health.pregnant\n    equals: true",
            "field: treatments.last_on.fillers\n    within_days_before: 14",
        ),
        [
            "rules/precautions/a.yaml:4:12 [rule pregnancy]: unknown treatment kind 'fillers' in "
            "'treatments.last_on.fillers' (did you mean 'filler'?)"
        ],
    ),
    "bad severity": (
        GOOD.replace("severity: defer", "severity: urgent"),
        [
            "rules/precautions/a.yaml:2:13 [rule pregnancy]: 'severity' must be one of: info, precaution, "
            "defer, contraindicated"
        ],
    ),
    "missing source": (
        GOOD.replace("  source: [konda-thappa-mesotherapy-2013]\n", ""),
        ["rules/precautions/a.yaml:1:3 [rule pregnancy]: missing 'source'"],
    ),
    "empty source": (
        GOOD.replace("source: [konda-thappa-mesotherapy-2013]", "source: []"),
        [
            "rules/precautions/a.yaml:7:11 [rule pregnancy]: 'source' needs at least one source id from "
            "sources.yaml, such as [niaaa-drinking-levels]"
        ],
    ),
    "bad id": (
        GOOD.replace("id: pregnancy", "id: Pregnancy_Rule"),
        [
            "rules/precautions/a.yaml:1:7 [rule Pregnancy_Rule]: 'id' must be lowercase words joined by '-', "
            "like recent-filler"
        ],
    ),
    "empty any": (
        GOOD.replace("field: health.pregnant\n    equals: true", "any: []"),
        ["rules/precautions/a.yaml:4:5 [rule pregnancy]: 'any' needs at least one condition"],
    ),
    "two operators in one node": (
        GOOD.replace("equals: true", "equals: true\n    not_equals: false"),
        [
            "rules/precautions/a.yaml:6:5 [rule pregnancy]: one operator per condition: found 'equals' and "
            "'not_equals' (combine conditions with 'all' or 'any')"
        ],
    ),
    "field and all in one node": (
        GOOD.replace("    equals: true\n", "    equals: true\n    all: []\n"),
        [
            "rules/precautions/a.yaml:6:5 [rule pregnancy]: one condition holds either 'field' with an "
            "operator or one of 'all', 'any', 'not': found 'field' and 'all' (nest one inside the other)"
        ],
    ),
    "unknown operator": (
        GOOD.replace("equals: true", "equal: true"),
        ["rules/precautions/a.yaml:5:5 [rule pregnancy]: unknown operator 'equal' (did you mean 'equals'?)"],
    ),
    "not with a list": (
        GOOD.replace(
            "field: health.pregnant\n    equals: true",
            "not:\n      - field: health.pregnant\n        equals: true",
        ),
        [
            "rules/precautions/a.yaml:5:7 [rule pregnancy]: 'not' takes one condition, not a list (to negate "
            "several, write 'not:' with 'any:' or 'all:' inside)"
        ],
    ),
    "bad if_unanswered": (
        GOOD.replace("  source:", "  if_unanswered: maybe\n  source:"),
        ["rules/precautions/a.yaml:7:18 [rule pregnancy]: 'if_unanswered' must be one of: ask, fire, skip"],
    ),
    "{start} without days_before": (
        GOOD.replace("  source:", "  instruction:\n    text: 'From {start}: no alcohol.'\n  source:"),
        [
            "rules/precautions/a.yaml:8:11 [rule pregnancy]: 'instruction.text' uses {start}, which needs "
            "instruction.days_before to date it"
        ],
    ),
    "unknown placeholder": (
        GOOD.replace("  source:", "  instruction:\n    days_before: 1\n    text: 'From {date}.'\n  source:"),
        [
            "rules/precautions/a.yaml:9:11 [rule pregnancy]: 'instruction.text' has an unknown placeholder "
            "{date}: only {start} is known"
        ],
    ),
    "days_before not a whole number": (
        GOOD.replace(
            "  source:", "  instruction:\n    days_before: -2\n    text: 'From {start}.'\n  source:"
        ),
        [
            "rules/precautions/a.yaml:8:18 [rule pregnancy]: 'instruction.days_before' needs a whole number "
            "of days of at least 0"
        ],
    ),
    "days_before true is not a number": (
        GOOD.replace(
            "  source:", "  instruction:\n    days_before: true\n    text: 'From {start}.'\n  source:"
        ),
        [
            "rules/precautions/a.yaml:8:18 [rule pregnancy]: 'instruction.days_before' needs a whole number "
            "of days of at least 0"
        ],
    ),
    "defer_for_days on a precaution rule": (
        GOOD.replace("severity: defer", "severity: precaution").replace(
            "  source:", "  defer_for_days: 14\n  source:"
        ),
        ["rules/precautions/a.yaml:7:19 [rule pregnancy]: 'defer_for_days' is only for defer rules"],
    ),
    "within_days_before of zero days": (
        GOOD.replace(
            "field: health.pregnant\n    equals: true",
            "field: treatments.last_on.filler\n    within_days_before: 0",
        ),
        [
            "rules/precautions/a.yaml:5:25 [rule pregnancy]: 'within_days_before' on "
            "treatments.last_on.filler needs a whole number of days of at least 1, not 0"
        ],
    ),
    "in needs a list": (
        GOOD.replace("field: health.pregnant\n    equals: true", "field: about.sex\n    in: female"),
        [
            "rules/precautions/a.yaml:5:9 [rule pregnancy]: 'in' on about.sex needs a list of values such as "
            "[a, b], not 'female'"
        ],
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_each_mistake_is_located_and_explained(errors_of, case: str) -> None:
    text, expected = CASES[case]
    assert errors_of({"a.yaml": text}) == expected


def test_every_error_of_a_file_is_reported_at_once(errors_of) -> None:
    text = """\
- id: first
  title: First
  severity: serious
  when:
    all:
      - field: health.pregant
        equals: true
      - field: about.sex
        equals: mal
  message: One.
  source: [konda-thappa-mesotherapy-2013]

- id: second
  title: Second
  severity: defer
  when:
    field: medications.taking
    includes_any: [doacs]
  message: Two.

- id: third
  title: Third
  severity: info
  when:
    any: []
  message: Three.
  defer_for_days: 3
  source: [mammucari-italian-mesotherapy-consensus-2011]
"""
    assert errors_of({"a.yaml": text}) == [
        "rules/precautions/a.yaml:3:13 [rule first]: 'severity' must be one of: info, precaution, defer, "
        "contraindicated",
        "rules/precautions/a.yaml:6:16 [rule first]: unknown field 'health.pregant' (did you mean "
        "'health.pregnant'?)",
        "rules/precautions/a.yaml:9:17 [rule first]: 'mal' is not a choice of about.sex (did you mean "
        "'male'?); choices: female, male, prefer_not_to_say",
        "rules/precautions/a.yaml:13:3 [rule second]: missing 'source'",
        "rules/precautions/a.yaml:18:20 [rule second]: unknown medication class 'doacs' (did you mean "
        "'doac'?)",
        "rules/precautions/a.yaml:25:5 [rule third]: 'any' needs at least one condition",
        "rules/precautions/a.yaml:27:19 [rule third]: 'defer_for_days' is only for defer rules",
    ]


def test_duplicate_ids_across_files_name_the_second_file_and_the_first(errors_of) -> None:
    second = "# the same id again\n" + GOOD
    assert errors_of({"a.yaml": GOOD, "b.yaml": second}) == [
        "rules/precautions/b.yaml:2:7 [rule pregnancy]: duplicate rule id 'pregnancy': first defined at "
        "rules/precautions/a.yaml:1",
    ]


def test_errors_of_every_file_are_reported_together(errors_of) -> None:
    errors = errors_of(
        {
            "a.yaml": GOOD.replace("severity: defer", "severity: later"),
            "b.yaml": "- id: other\n  title: Other\n  severity: info\n  when: {field: about.sex, equals: 1}\n"
            "  message: M.\n  source: [vedamurthy-mesotherapy-2007]\n",
        }
    )
    assert errors == [
        "rules/precautions/a.yaml:2:13 [rule pregnancy]: 'severity' must be one of: info, precaution, defer, "
        "contraindicated",
        "rules/precautions/b.yaml:4:36 [rule other]: 'equals' on about.sex needs a choice name, not 1",
    ]


def test_an_invalid_lexicon_is_reported_and_rule_files_are_still_checked(errors_of) -> None:
    errors = errors_of({"a.yaml": GOOD.replace("health.pregnant", "health.pregant")}, lexicon="classes: 3\n")
    assert errors[0].startswith("rules/medications.yaml:")
    assert errors[1] == (
        "rules/precautions/a.yaml:4:12 [rule pregnancy]: unknown field 'health.pregant' "
        "(did you mean 'health.pregnant'?)"
    )


def test_missing_folders_and_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RulesetInvalid) as raised:
        load_ruleset("nowhere")
    assert [str(e) for e in raised.value.errors] == ["nowhere: no such rules folder"]
    Path("empty").mkdir()
    with pytest.raises(RulesetInvalid) as raised:
        load_ruleset("empty")
    assert [str(e) for e in raised.value.errors] == [
        "empty/medications.yaml: the medication lexicon is missing",
        "empty/precautions: no rule files (precautions/*.yaml)",
    ]


def test_a_valid_ruleset_loads(tmp_path: Path) -> None:
    write_rules(tmp_path, {"a.yaml": GOOD, "empty.yaml": "# nothing yet\n"})
    ruleset = load_ruleset(tmp_path)
    assert [rule.id for rule in ruleset.rules] == ["pregnancy"]
    rule = ruleset.rule("pregnancy")
    assert (rule.file, rule.line, rule.if_unanswered, rule.source) == (
        "precautions/a.yaml",
        1,
        "ask",
        ("konda-thappa-mesotherapy-2013",),
    )
    assert ruleset.files == ("medications.yaml", "precautions/a.yaml", "precautions/empty.yaml", "sources.yaml")


def test_located_yaml_keeps_positions_and_reads_keys_as_text() -> None:
    document = load_located("- on: 2026-11-25\n  yes: no\n  list: [1, two]\n", "x.yaml")
    case = document[0]
    assert case.plain() == {"on": __import__("datetime").date(2026, 11, 25), "yes": False, "list": [1, "two"]}
    assert (case.key_node("yes").line, case.key_node("yes").column) == (2, 3)
    assert (case["list"][1].line, case["list"][1].column) == (3, 13)
    assert case.locate(["list", 1]).value == "two"
    assert case.locate(["list", 7]) is case["list"]

"""Fuzzing the rule-file loader: any file yields a ruleset or RulesetInvalid naming the file, never a crash.

A bounded run is part of the suite (500 examples, under ten seconds); a longer one is documented in
bench/README.md (``MESO_FUZZ_EXAMPLES=20000``). Inputs are the small rule files of the
core tests mutated the way hand edits and hostile uploads go wrong (a character flipped,
a line dropped or repeated, YAML syntax, anchors and aliases, tabs, deep nesting, bytes
that are not UTF-8), random YAML documents with the keys rule files use, and arbitrary
text. Each lands in one file of a clinic layer given in memory (precautions, lexicon,
protocols, disabled list or rule tests).
"""

from __future__ import annotations

import os
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.assessment import Layer, RulesetInvalid, load_layers
from intake.assessment.ruletests import run_rule_tests

from .support import BASES, PASSING, RULETEST_RULES, SMALL_LEXICON, SOURCES

PROTOCOLS = """\
protocols:
  - id: hydration_glow
    label: Hydration
    goals: [hydration]
    actives: [{id: non_cross_linked_ha, label: Hyaluronic acid}]
    sessions: {min: 3, max: 4, default: 3}
    interval_days: {min: 14, default: 14}
    depth_mm: {min: 1, max: 2}
    areas: [face]
    maintenance_interval_days: 90
    downtime: A day.
    after_effects: [Redness]
    source: [konda-thappa-mesotherapy-2013]
adjustments:
  - id: smoker
    when: {field: lifestyle.smoking, equals: current}
    reason: Smoking slows healing.
    source: [konda-thappa-mesotherapy-2013]
    sessions: 1
"""
CLINIC_SOURCES = """\
- id: clinic-protocol-2026
  authors: The clinic
  title: Our treatment protocol
  published_in: Clinic handbook
  year: 2026
  url: https://example.org/protocol
  supports: The clinic's own timings.
"""
#: The files a clinic layer may hold, each with a valid text to start mutating from.
SEEDS = {
    "precautions/fuzz.yaml": RULETEST_RULES,
    "medications.yaml": SMALL_LEXICON,
    "protocols.yaml": PROTOCOLS,
    "disabled.yaml": "- alcohol\n",
    "sources.yaml": CLINIC_SOURCES,
    "tests/fuzz.yaml": PASSING,
}
DEFAULTS = Layer("rules", {"sources.yaml": SOURCES, "medications.yaml": SMALL_LEXICON,
                           "precautions/main.yaml": RULETEST_RULES, "tests/bases.yaml": BASES})
SNIPPETS = ["&a ", "*a", "<<: *a\n", "[", "]", "{", "}", ": ", "- ", "\t", '"', "'", "!!python/object ", "!x ",
            "---\n", "...\n", "\n  ", "#", "%YAML 1.1\n", "? ", "|\n", ">-\n", "2026-02-30", "~", "0x1F", "1e999",
            "when:", "field: ", "all:\n  - ", "not: ", "id: ", "override: true\n", "\x00", "\ufeff"]
KEYS = ["id", "severity", "when", "message", "source", "field", "equals", "all", "any", "not", "includes_any",
        "within_days_before", "classes", "medications", "generic", "protocols", "adjustments", "name", "on",
        "answers", "expect", "change", "instruction", "days_before", "if_unanswered", "sessions", "title", "url", "doi"]

EXAMPLES = int(os.environ.get("MESO_FUZZ_EXAMPLES", "500"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 500,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def mutated(draw: st.DrawFn, seed: str) -> str | bytes:
    """A valid file with a few edits: characters changed, lines dropped or repeated, snippets inserted."""
    text = seed
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["insert", "delete", "replace", "line", "repeat", "nest"]))
        at = draw(st.integers(0, len(text)))
        if kind == "insert":
            text = text[:at] + draw(st.sampled_from(SNIPPETS) | st.text(max_size=6)) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 12)):]
        elif kind == "replace":
            text = text[:at] + draw(st.characters()) + text[at + 1:]
        elif kind in ("line", "repeat"):
            lines = text.split("\n")
            index = draw(st.integers(0, len(lines) - 1))
            lines[index:index + 1] = [] if kind == "line" else [lines[index]] * draw(st.integers(2, 40))
            text = "\n".join(lines)
        else:
            depth = draw(st.integers(1, 200))
            text = text[:at] + "[" * depth + "x" + "]" * depth + text[at:]
    if draw(st.integers(0, 9)) == 0:
        raw = text.encode("utf-8")
        cut = draw(st.integers(0, len(raw)))
        return raw[:cut] + bytes([draw(st.integers(0x80, 0xFF))]) + raw[cut:]
    return text


scalars = st.none() | st.booleans() | st.integers(-10, 10**20) | st.floats(allow_nan=True) | st.text(max_size=8) | \
    st.dates().map(lambda d: d)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5),
                                                                inner, max_size=5),
    max_leaves=25,
)


def dumped(value: Any) -> str:
    return yaml.safe_dump(value, allow_unicode=True)


@st.composite
def clinic_files(draw: st.DrawFn) -> tuple[str, str | bytes]:
    relative = draw(st.sampled_from(sorted(SEEDS)))
    text = draw(mutated(SEEDS[relative]) | documents.map(dumped) | st.text(max_size=200))
    return relative, text


@FUZZ
@given(clinic_files())
def test_any_rule_file_gives_a_ruleset_or_located_errors(file: tuple[str, str | bytes]) -> None:
    relative, text = file
    try:
        ruleset = load_layers([DEFAULTS, Layer("clinic", {relative: text})])
    except RulesetInvalid as invalid:
        assert invalid.errors
        for error in invalid.errors:
            assert error.file.startswith(("rules/", "clinic/")), error
            assert error.line >= 0 and error.column >= 0 and error.message, error
            assert str(error).startswith(error.file)
        return
    report = run_rule_tests(ruleset)
    for error in report.errors:
        assert error.file.startswith(("rules/", "clinic/")), error
        assert error.line >= 0 and error.message, error
    report.format()

"""Hostile YAML: alias bombs and deep nesting are refused quickly, in little memory, with file and line.

An admin can upload rule files, so the loader must not be a way to stop the server: a
342-byte file of aliases nested 9 deep once ran 182 s and took 4 GiB, and a list nested
60,000 deep raised RecursionError (a 500). Each file kind is attacked: precautions,
lexicon, protocols, disabled list and rule tests.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
import yaml

from intake.assessment import RulesetInvalid, load_ruleset
from intake.assessment.medications import Lexicon
from intake.assessment.ruletests import run_rule_tests

from .support import SMALL_LEXICON, SOURCES

TimeLimit = Callable[[float], AbstractContextManager[None]]

GOOD_RULE = """\
- id: pregnancy
  title: Pregnancy
  severity: defer
  when: {field: health.pregnant, equals: true}
  message: Pregnant.
  source: [konda-thappa-mesotherapy-2013]
"""


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """Each anchor lists the previous one ``width`` times: ``width ** levels`` scalars once expanded."""
    names = "abcdefghijklmnopqrstuvwxyz"
    lines = [f"a: &a [{','.join(['x'] * width)}]"]
    for level in range(1, levels):
        name, previous = names[level], names[level - 1]
        lines.append(f"{name}: &{name} [{','.join([f'*{previous}'] * width)}]")
    return "\n".join(lines) + "\n"


BOMB = alias_bomb()
DEEP = "[" * 60_000 + "]" * 60_000 + "\n"


def test_the_bomb_is_the_reported_attack() -> None:
    assert len(BOMB.encode()) <= 342
    assert BOMB.count("*") == 8 * 9


def _folder(root: Path, files: dict[str, str]) -> Path:
    (root / "precautions").mkdir(parents=True, exist_ok=True)
    (root / "sources.yaml").write_text(SOURCES)
    (root / "medications.yaml").write_text(SMALL_LEXICON)
    (root / "precautions" / "a.yaml").write_text(GOOD_RULE)
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


def _refused(folders: list[Path], time_limit: TimeLimit) -> list[str]:
    tracemalloc.start()
    try:
        with time_limit(10):
            load_ruleset(folders)
    except RulesetInvalid as invalid:
        _, peak = tracemalloc.get_traced_memory()
        errors = [str(error) for error in invalid.errors]
    except Exception as other:  # noqa: BLE001 - a RecursionError's traceback is too deep to report
        pytest.fail(f"{type(other).__name__} instead of RulesetInvalid: {str(other)[:200]}", pytrace=False)
    else:
        pytest.fail("the file was accepted", pytrace=False)
    finally:
        tracemalloc.stop()
    assert peak < 32 * 2**20, f"refusing took {peak / 2**20:.0f} MiB"
    return errors


@pytest.mark.parametrize("relative", ["precautions/bomb.yaml", "medications.yaml", "protocols.yaml"])
def test_an_alias_bomb_is_refused_with_its_file_and_line(tmp_path: Path, time_limit: TimeLimit,
                                                        relative: str) -> None:
    root = _folder(tmp_path / "rules", {relative: BOMB})
    errors = _refused([root], time_limit)
    assert len(errors) == 1
    assert errors[0].startswith(f"{root / relative}:")
    assert "aliases" in errors[0] and "expand" in errors[0]


def test_an_alias_bomb_in_a_clinic_layer_is_refused(tmp_path: Path, time_limit: TimeLimit) -> None:
    defaults = _folder(tmp_path / "rules", {})
    clinic = tmp_path / "clinic"
    clinic.mkdir()
    (clinic / "disabled.yaml").write_text(BOMB)
    errors = _refused([defaults, clinic], time_limit)
    assert len(errors) == 1 and errors[0].startswith(f"{clinic / 'disabled.yaml'}:")


@pytest.mark.parametrize("relative", ["precautions/deep.yaml", "medications.yaml", "protocols.yaml"])
def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path: Path, time_limit: TimeLimit,
                                                      relative: str) -> None:
    root = _folder(tmp_path / "rules", {relative: DEEP})
    errors = _refused([root], time_limit)
    assert len(errors) == 1
    assert errors[0].startswith(f"{root / relative}:1:")
    assert "nested" in errors[0] and "deep" in errors[0]


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path, time_limit: TimeLimit) -> None:
    root = _folder(tmp_path / "rules", {"precautions/loop.yaml": "- &a [1, *a]\n"})
    errors = _refused([root], time_limit)
    assert errors == [f"{root / 'precautions/loop.yaml'}:1:10: the alias *a is inside the anchor &a it refers to"]


def test_the_lexicon_alone_refuses_the_bomb(time_limit: TimeLimit) -> None:
    with time_limit(10), pytest.raises(RulesetInvalid) as raised:
        Lexicon.from_text(BOMB, "medications.yaml")
    (error,) = raised.value.errors
    assert error.file == "medications.yaml" and error.line > 0


def test_a_rule_test_file_bomb_is_a_located_error(tmp_path: Path, time_limit: TimeLimit) -> None:
    root = _folder(tmp_path / "rules", {"tests/bomb.yaml": BOMB, "tests/deep.yaml": DEEP})
    ruleset = load_ruleset(root)
    with time_limit(10):
        report = run_rule_tests(ruleset)
    assert sorted(error.file for error in report.errors) == [str(root / "tests/bomb.yaml"),
                                                            str(root / "tests/deep.yaml")]
    assert all(error.line >= 1 for error in report.errors)


def test_aliases_within_the_budget_still_load(tmp_path: Path) -> None:
    """A few aliases are fine YAML: a clinic may use them."""
    rules = """\
- id: pregnancy
  title: Pregnancy
  severity: defer
  when: &pregnant {field: health.pregnant, equals: true}
  message: Pregnant.
  source: &sources [konda-thappa-mesotherapy-2013, vedamurthy-mesotherapy-2007]
- id: pregnancy-info
  title: Pregnancy info
  severity: info
  when: *pregnant
  message: Pregnant.
  source: *sources
"""
    root = _folder(tmp_path / "rules", {"precautions/a.yaml": rules})
    ruleset = load_ruleset(root)
    assert [rule.id for rule in ruleset.rules] == ["pregnancy", "pregnancy-info"]
    assert ruleset.rule("pregnancy-info").source == ("konda-thappa-mesotherapy-2013", "vedamurthy-mesotherapy-2007")


def test_nesting_within_the_limit_still_loads(tmp_path: Path) -> None:
    nested = {"field": "health.pregnant", "equals": True}
    when: dict[str, object] = nested
    for _ in range(20):
        when = {"not": {"not": when}}

    rule = [{"id": "deep", "title": "Deep", "severity": "defer", "when": when, "message": "Deep.",
             "source": ["konda-thappa-mesotherapy-2013"]}]
    root = _folder(tmp_path / "rules", {"precautions/a.yaml": yaml.safe_dump(rule)})
    assert load_ruleset(root).rule("deep").when.root.kind == "not"

"""The rule-test runner: cases of ``rules/tests/*.yaml`` in, failures and coverage out.

A case (format in docs/rules.md, "Rule tests") names a base document of
``tests/bases.yaml`` (or gives a whole document), changes some answers by dotted name,
and states what it expects: ``outcome``, ``flags`` (exactly), ``flags_include``,
``flags_exclude``, ``asked`` (flagged because an answer is missing, not because the
condition held), ``defer_until``, ``instructions_include`` and ``plan`` (a subset of
the plan's ``to_dict()``). Answers are validated with ``intake.answers.load_answers``
on the case's date, so a typo in a case is reported with its file and line.

Coverage: the rules no case fires, and the condition nodes no case has seen both true
and false; ``min_coverage`` (a percentage of those true/false outcomes) fails the run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from ..answers import load_answers
from .conditions import format_value
from .engine import assess_facts
from .errors import RuleFileError, RulesetInvalid
from .facts import derive_facts, suggestion
from .model import OUTCOMES, Assessment, jsonable
from .ruleset import TESTS_DIR, Layer, Ruleset
from .yamlkit import Located, flatten_messages, load_located, schema_problems

BASES_FILE: Final = "bases.yaml"


# --- the schema of a case ------------------------------------------------------------------


def _ids(**kwargs: Any) -> fields.List[Any]:
    return fields.List(fields.String(error_messages={"invalid": "needs a rule id"}),
                       error_messages={"invalid": "needs a list of rule ids, such as [pregnancy]"}, **kwargs)


class _ExpectSchema(Schema):
    class Meta:
        unknown = RAISE

    outcome = fields.String(validate=validate.OneOf(OUTCOMES, error="must be one of: " + ", ".join(OUTCOMES)))
    flags = _ids()
    flags_include = _ids()
    flags_exclude = _ids()
    asked = _ids()
    defer_until = fields.Date(allow_none=True, error_messages={"invalid": "needs a date such as 2026-12-04"})
    instructions_include = _ids()
    plan = fields.Dict(keys=fields.String(), error_messages={"invalid": "needs a mapping"})


class _CaseSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1))
    on = fields.Date(required=True, error_messages={"invalid": "needs a date such as 2026-11-25"})
    answers = fields.Raw(required=True)
    change = fields.Dict(keys=fields.String(), error_messages={"invalid": "needs a mapping of dotted names"})
    expect = fields.Nested(_ExpectSchema, required=True)


_CASE_KEYS: Final = tuple(_CaseSchema().fields)
_EXPECT_KEYS: Final = tuple(_ExpectSchema().fields)


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case: the differences found (none when it passed)."""

    name: str
    file: str
    line: int
    problems: tuple[str, ...]
    assessment: Assessment | None = None

    @property
    def passed(self) -> bool:
        """True when the assessment matched every expectation."""
        return not self.problems


@dataclass(frozen=True)
class UncoveredBranch:
    """A condition node some outcome of which no case has produced."""

    rule_id: str
    file: str
    line: int
    node_id: int
    description: str
    never: tuple[bool, ...]


@dataclass
class Coverage:
    """Which rules and condition branches the cases exercised."""

    rules: tuple[str, ...] = ()
    fired: set[str] = field(default_factory=set)
    #: (rule id, node id) -> the results seen (True/False; unknown counts as neither).
    seen: dict[tuple[str, int], set[bool]] = field(default_factory=dict)
    uncovered: list[UncoveredBranch] = field(default_factory=list)

    @property
    def never_fired(self) -> list[str]:
        """The rules no case fires."""
        return [rule_id for rule_id in self.rules if rule_id not in self.fired]

    @property
    def branches_total(self) -> int:
        """Two outcomes (true, false) per condition node."""
        return 2 * len(self.seen)

    @property
    def branches_covered(self) -> int:
        """The node outcomes some case produced."""
        return sum(len(results) for results in self.seen.values())

    @property
    def percent(self) -> float:
        """Branch coverage, in percent (100 when there is nothing to cover)."""
        total = self.branches_total
        return 100.0 if total == 0 else 100.0 * self.branches_covered / total

    @property
    def rules_percent(self) -> float:
        """The share of rules that some case fires, in percent."""
        return 100.0 if not self.rules else 100.0 * len(self.fired & set(self.rules)) / len(self.rules)


@dataclass
class RuleTestReport:
    """Every case's result, the problems in the case files, and the coverage."""

    cases: list[CaseResult]
    errors: list[RuleFileError]
    coverage: Coverage
    min_coverage: float | None = None

    @property
    def failures(self) -> list[CaseResult]:
        """The cases that did not pass."""
        return [case for case in self.cases if not case.passed]

    @property
    def coverage_ok(self) -> bool:
        """True unless a minimum coverage was asked for and not reached."""
        return self.min_coverage is None or self.coverage.percent + 1e-9 >= self.min_coverage

    @property
    def ok(self) -> bool:
        """True when every case passed, every file was valid and the coverage is enough."""
        return not self.errors and not self.failures and self.coverage_ok

    def format(self) -> str:
        """The report as text, as `flask rules test` prints it."""
        lines: list[str] = [str(error) for error in sorted(self.errors)]
        for case in self.failures:
            lines.append(f"FAIL {case.file}:{case.line} {case.name}")
            lines.extend(f"  {problem}" for problem in case.problems)
        passed = len(self.cases) - len(self.failures)
        lines.append(f"{passed} of {len(self.cases)} cases passed" + (
            f"; {len(self.errors)} problem(s) in the test files" if self.errors else ""))
        coverage = self.coverage
        lines.append(
            f"Coverage: {len(coverage.fired & set(coverage.rules))} of {len(coverage.rules)} rules fired "
            f"({coverage.rules_percent:.1f}%); {coverage.branches_covered} of {coverage.branches_total} "
            f"condition branches seen ({coverage.percent:.1f}%)"
        )
        if coverage.never_fired:
            lines.append("Rules no case fires: " + ", ".join(coverage.never_fired))
        if coverage.uncovered:
            lines.append("Condition branches not seen both true and false:")
            for branch in coverage.uncovered:
                never = " or ".join("true" if outcome else "false" for outcome in branch.never)
                lines.append(f"  {branch.file}:{branch.line} [rule {branch.rule_id}] node {branch.node_id} "
                             f"'{branch.description}': never {never}")
        if not self.coverage_ok:
            lines.append(f"FAIL coverage {coverage.percent:.1f}% is below the minimum {self.min_coverage:g}%")
        return "\n".join(lines) + "\n"


# --- running ------------------------------------------------------------------------------


def case_files(root: Path | Sequence[Path]) -> list[Path]:
    """The case files of rules folders on disk: tests/*.yaml except the bases.

    For layered folders (defaults first), a later folder's tests/NAME.yaml replaces an
    earlier one of the same name; other files add.
    """
    by_name: dict[str, Path] = {}
    for base in [root] if isinstance(root, Path) else root:
        folder = base / TESTS_DIR
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            if path.name != BASES_FILE:
                by_name[path.name] = path
    return [by_name[name] for name in sorted(by_name)]


@dataclass(frozen=True)
class _CaseFile:
    """One file of cases: how errors name it, its text (None: unreadable, already reported), its bases."""

    name: str
    text: str | None
    bases: dict[str, Located] | None


def _layer_text(layer: Layer, relative: str, errors: list[RuleFileError]) -> str | None:
    """The text of one file of a layer; None (with an error when it exists) when it cannot be had."""
    problem = layer.unreadable.get(relative)
    raw = layer.files.get(relative)
    if problem is None and isinstance(raw, bytes):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            problem = f"cannot read the file: {error}"
    if problem is not None:
        errors.append(RuleFileError(layer.display(relative), 0, 0, None, problem))
        return None
    return raw if isinstance(raw, str) else None


def _disk_text(path: Path, errors: list[RuleFileError]) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        errors.append(RuleFileError(str(path), 0, 0, None, f"cannot read the file: {error}"))
        return None


def _case_files(ruleset: Ruleset, paths: Sequence[Path] | None, errors: list[RuleFileError]) -> list[_CaseFile]:
    """The case files to run with their bases: ``paths`` from disk, else the ruleset's layers' tests."""
    layers = ruleset.layers
    bases_file = f"{TESTS_DIR}/{BASES_FILE}"
    # Layered rules share their bases: a later tests/bases.yaml adds and replaces names.
    shared: dict[str, Located] | None = None
    if len(layers) > 1:
        for layer in layers:
            found = _load_bases(layer.display(bases_file), _layer_text(layer, bases_file, errors)
                                if layer.has(bases_file) else None, errors)
            if found is not None:
                shared = {**(shared or {}), **found}
    if paths is None:
        by_name: dict[str, tuple[Layer, str]] = {}
        for layer in layers:
            for relative in layer.under(TESTS_DIR):
                if relative != bases_file:
                    by_name[relative] = (layer, relative)
        own: dict[str, Located] | None = shared
        if len(layers) == 1:
            only = layers[0]
            own = _load_bases(only.display(bases_file), _layer_text(only, bases_file, errors)
                              if only.has(bases_file) else None, errors)
        return [_CaseFile(layer.display(relative), _layer_text(layer, relative, errors), own)
                for layer, relative in (by_name[name] for name in sorted(by_name))]
    layer_tests = [Path(layer.display(TESTS_DIR)) for layer in layers]
    bases: dict[Path, dict[str, Located] | None] = {}
    found_files = []
    for path in paths:
        folder = path.parent
        if folder not in bases:
            if len(layers) > 1 and folder in layer_tests:
                bases[folder] = shared
            else:
                where = folder / BASES_FILE
                bases[folder] = _load_bases(str(where), _disk_text(where, errors) if where.is_file() else None,
                                            errors)
        found_files.append(_CaseFile(str(path), _disk_text(path, errors), bases[folder]))
    return found_files


def run_rule_tests(
    ruleset: Ruleset,
    paths: Sequence[Path] | None = None,
    *,
    min_coverage: float | None = None,
) -> RuleTestReport:
    """Run the cases of ``paths`` (default: the tests/*.yaml of the ruleset's layers) and measure coverage."""
    errors: list[RuleFileError] = []
    files = _case_files(ruleset, paths, errors)
    if not files:
        last = ruleset.layers[-1].display(TESTS_DIR) if ruleset.layers else TESTS_DIR
        errors.append(RuleFileError(last, 0, 0, None, "no test files (tests/*.yaml)"))
    coverage = Coverage(rules=tuple(rule.id for rule in ruleset.rules))
    for rule in ruleset.rules:
        for node in rule.when.nodes:
            coverage.seen[(rule.id, node.id)] = set()
    results: list[CaseResult] = []
    for case_file in files:
        if case_file.text is not None:
            results.extend(_run_file(case_file.name, case_file.text, case_file.bases, ruleset, coverage, errors))
    for rule in ruleset.rules:
        for node in rule.when.nodes:
            outcomes = coverage.seen[(rule.id, node.id)]
            never = tuple(outcome for outcome in (True, False) if outcome not in outcomes)
            if never:
                where = str(Path(rule.folder or ruleset.root) / rule.file)
                coverage.uncovered.append(UncoveredBranch(rule.id, where, node.line,
                                                          node.id, node.description, never))
    return RuleTestReport(results, sorted(errors), coverage, min_coverage)


def _load_bases(name: str, text: str | None, errors: list[RuleFileError]) -> dict[str, Located] | None:
    if text is None:
        return None
    try:
        document = load_located(text, name)
    except RulesetInvalid as invalid:
        errors.extend(invalid.errors)
        return None
    if not document.is_mapping:
        errors.append(RuleFileError(name, document.line, document.column, None,
                                    "bases.yaml maps base names to complete answers documents"))
        return None
    return dict(document.entries())


def _run_file(
    name: str,
    text: str,
    bases: dict[str, Located] | None,
    ruleset: Ruleset,
    coverage: Coverage,
    errors: list[RuleFileError],
) -> list[CaseResult]:
    try:
        document = load_located(text, name)
    except RulesetInvalid as invalid:
        errors.extend(invalid.errors)
        return []
    if document.is_scalar and document.value is None:
        return []
    if not document.is_sequence:
        errors.append(RuleFileError(name, document.line, document.column, None,
                                    "a test file is a list of cases, each starting with '- name:'"))
        return []
    results = []
    for node in document.items_():
        result = _run_case(node, name, bases, ruleset, coverage, errors)
        if result is not None:
            results.append(result)
    return results


class _CaseErrors:
    def __init__(self, file: str, case: str | None, errors: list[RuleFileError]):
        self.file, self.case, self.errors, self.count = file, case, errors, 0

    def add(self, at: Located, message: str, file: str | None = None) -> None:
        prefix = f"case '{self.case}': " if self.case else ""
        where = file or at.file or self.file
        self.errors.append(RuleFileError(where, at.line, at.column, None, prefix + message))
        self.count += 1


def _run_case(
    node: Located,
    file: str,
    bases: dict[str, Located] | None,
    ruleset: Ruleset,
    coverage: Coverage,
    errors: list[RuleFileError],
) -> CaseResult | None:
    if not node.is_mapping:
        errors.append(RuleFileError(file, node.line, node.column, None,
                                    "each case is a mapping that starts with 'name:'"))
        return None
    name_node = node.get("name")
    case_name = name_node.value if name_node is not None and isinstance(name_node.value, str) else None
    problems = _CaseErrors(file, case_name, errors)
    try:
        case = _CaseSchema().load(node.plain())
    except ValidationError as invalid:
        for problem in schema_problems(invalid, node, missing="Missing data for required field."):
            _schema_problem(problem.path, problem.message, problem.at, problems)
        return None
    expect_node = node["expect"]
    _check_rule_ids(expect_node, ruleset, problems)
    if not case["expect"]:
        problems.add(expect_node, "'expect' has nothing to check")
    answers = _answers(node, case, bases, problems)
    if problems.count or answers is None:
        return None

    facts = derive_facts(answers, ruleset.lexicon, case["on"], ruleset.catalogue)
    assessment = assess_facts(facts, ruleset)
    for flag in assessment.flags:
        if not flag.unanswered:
            coverage.fired.add(flag.rule_id)
    for rule in ruleset.rules:
        for node_id, seen in rule.when.trace(facts).items():
            if seen.result is not None:
                coverage.seen[(rule.id, node_id)].add(seen.result)
    differences = _compare(case["expect"], assessment)
    return CaseResult(case["name"], file, node.line, tuple(differences), assessment)


def _schema_problem(path: tuple[Any, ...], message: str, at: Located, problems: _CaseErrors) -> None:
    if message == "Unknown field.":
        key = str(path[-1])
        known = _EXPECT_KEYS if path[:1] == ("expect",) else _CASE_KEYS
        hint = suggestion(key, list(known)) or f" (known keys: {', '.join(known)})"
        problems.add(at, f"unknown key '{key}'{hint}")
    elif message == "Missing data for required field.":
        problems.add(at, f"missing '{'.'.join(str(p) for p in path)}'")
    else:
        dotted = ".".join(str(p) for p in path if isinstance(p, str))
        problems.add(at, f"'{dotted}': {message}")


def _check_rule_ids(expect: Located, ruleset: Ruleset, problems: _CaseErrors) -> None:
    known = [rule.id for rule in ruleset.rules]
    for key in ("flags", "flags_include", "flags_exclude", "asked", "instructions_include"):
        for item in (expect.get(key) or Located(None, 0, 0)).items_():
            if isinstance(item.value, str) and item.value not in ruleset:
                problems.add(item, f"unknown rule id '{item.value}' in {key}{suggestion(item.value, known)}")


def _iso(value: Any) -> Any:
    """Dates as the JSON form the answers schema reads."""
    if isinstance(value, dict):
        return {key: _iso(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_iso(inner) for inner in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _answers(
    node: Located, case: Mapping[str, Any], bases: dict[str, Located] | None, problems: _CaseErrors
) -> dict[str, Any] | None:
    """The case's answers document, validated; problems point at the line that caused them."""
    answers_node = node["answers"]
    if isinstance(answers_node.value, str):
        base = (bases or {}).get(answers_node.value)
        if base is None:
            known = sorted(bases or {})
            hint = suggestion(answers_node.value, known) or (
                f" (bases: {', '.join(known)})" if known else " (there is no tests/bases.yaml)")
            problems.add(answers_node, f"unknown base '{answers_node.value}'{hint}")
            return None
    elif answers_node.is_mapping:
        base = answers_node
    else:
        problems.add(answers_node, "'answers' names a base from bases.yaml or gives a whole answers document")
        return None
    document = _iso(base.plain())
    changed: dict[tuple[Any, ...], Located] = {}
    change_node = node.get("change") or Located({}, node.line, node.column, "mapping")
    for dotted, value in change_node.entries():
        parts = dotted.split(".")
        if len(parts) != 2 or not all(parts):
            problems.add(change_node.key_node(dotted),
                         f"'{dotted}' is not a dotted name 'section.field' (a list is changed whole, "
                         "e.g. medications.items)")
            continue
        section = document.setdefault(parts[0], {})
        if not isinstance(section, dict):
            problems.add(change_node.key_node(dotted), f"'{parts[0]}' is not a section of the base")
            continue
        section[parts[1]] = _iso(value.plain())
        changed[(parts[0], parts[1])] = value
    if problems.count:
        return None
    try:
        return load_answers(document, today=case["on"])
    except ValidationError as invalid:
        for path, message in flatten_messages(invalid.messages):
            dotted = ".".join(str(p) for p in path)
            at = changed.get(tuple(path[:2]))
            if at is not None:
                problems.add(at.locate(path[2:]), f"answers {dotted}: {message}")
            elif message == "Unknown field." and len(path) >= 1:
                parent = base.locate(path[:-1])
                problems.add(parent.key_node(str(path[-1])), f"answers {dotted}: {message}")
            else:
                problems.add(base.locate(path), f"answers {dotted}: {message}")
        return None


# --- comparing -----------------------------------------------------------------------------


def _flag_line(assessment: Assessment, rule_id: str) -> str:
    flag = assessment.flag(rule_id)
    if flag is None:
        return rule_id
    if flag.unanswered:
        return f"{rule_id} [{flag.severity}, not answered: {', '.join(flag.unanswered)}]"
    because = "; ".join(f"{t.field} is {format_value(t.value)}" for t in flag.triggered_by)
    return f"{rule_id} [{flag.severity}]" + (f" because {because}" if because else "")


def _compare(expect: Mapping[str, Any], assessment: Assessment) -> list[str]:
    problems: list[str] = []
    actual = set(assessment.rule_ids)
    if "outcome" in expect and expect["outcome"] != assessment.outcome:
        problems.append(f"outcome: expected {expect['outcome']}, got {assessment.outcome}")
    if "flags" in expect:
        wanted = set(expect["flags"])
        if wanted != actual:
            problems.append(f"flags: expected [{', '.join(sorted(wanted))}], "
                            f"got [{', '.join(sorted(actual))}]")
            problems.extend(f"  missing:    {rule_id}" for rule_id in sorted(wanted - actual))
            problems.extend(f"  unexpected: {_flag_line(assessment, r)}" for r in sorted(actual - wanted))
    for rule_id in expect.get("flags_include", ()):
        if rule_id not in actual:
            problems.append(f"flags_include: {rule_id} did not fire")
    for rule_id in expect.get("asked", ()):
        flag = assessment.flag(rule_id)
        if flag is None:
            problems.append(f"asked: {rule_id} did not flag")
        elif not flag.unanswered:
            problems.append(f"asked: {_flag_line(assessment, rule_id)} fired on the answers, it did not ask")
    for rule_id in expect.get("flags_exclude", ()):
        if rule_id in actual:
            problems.append(f"flags_exclude: {_flag_line(assessment, rule_id)} fired")
    if "defer_until" in expect and expect["defer_until"] != assessment.defer_until:
        problems.append(f"defer_until: expected {format_value(expect['defer_until'])}, "
                        f"got {format_value(assessment.defer_until)}")
    instructed = {instruction.rule_id for instruction in assessment.instructions}
    for rule_id in expect.get("instructions_include", ()):
        if rule_id not in instructed:
            problems.append(f"instructions_include: no instruction from {rule_id}")
    if "plan" in expect:
        plan = assessment.plan.to_dict() if hasattr(assessment.plan, "to_dict") else assessment.plan
        if plan is None:
            problems.append("plan: expected a plan, but the ruleset has no protocols")
        else:
            problems.extend(_subset_differences(_iso(expect["plan"]), jsonable_plan(plan), "plan"))
    return problems


def jsonable_plan(plan: Any) -> Any:
    """A plan's dict with dates as ISO text, to compare with YAML expectations."""
    if isinstance(plan, Mapping):
        return {key: jsonable_plan(value) for key, value in plan.items()}
    if isinstance(plan, (list, tuple)):
        return [jsonable_plan(value) for value in plan]
    return jsonable(plan) if isinstance(plan, dt.date) else plan


def _subset_differences(expected: Any, actual: Any, where: str) -> list[str]:
    """Where ``actual`` differs from ``expected``; mappings need only the expected keys."""
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return [f"{where}: expected a mapping, got {actual!r}"]
        found = []
        for key, value in expected.items():
            if key not in actual:
                found.append(f"{where}.{key}: expected {value!r}, but the plan has no '{key}'")
            else:
                found.extend(_subset_differences(value, actual[key], f"{where}.{key}"))
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {expected!r}, got {actual!r}"]
        return [problem for index, (e, a) in enumerate(zip(expected, actual, strict=True))
                for problem in _subset_differences(e, a, f"{where}[{index}]")]
    if expected != actual:
        return [f"{where}: expected {expected!r}, got {actual!r}"]
    return []

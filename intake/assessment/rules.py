"""Precaution rules: loading and checking rule files, and assessing an intake with them.

``load_ruleset(root)`` reads ``root/medications.yaml`` (the lexicon),
``root/precautions/*.yaml`` (the rules) and, when the plan module is there,
``root/protocols.yaml``; it reports every problem of every file at once as
:class:`RulesetInvalid`. ``assess(answers, ruleset, on)`` derives the facts of one
intake, runs every rule, and returns the :class:`~intake.assessment.model.Assessment`.
The rule language is documented in docs/rules.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import importlib.util
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from .conditions import DATE_OPERATORS, Condition, Leaf, batch_test, compile_condition
from .errors import RuleFileError, RulesetInvalid
from .facts import (
    DERIVED_BOOKED,
    LIST_TYPES,
    MISSING,
    REFERENCE_INDEX,
    Catalogue,
    Facts,
    FieldSpec,
    derive_facts,
    suggestion,
)
from .model import (
    OUTCOMES,
    SEVERITIES,
    SEVERITY_RANK,
    Assessment,
    Flag,
    Instruction,
    Trigger,
    construct,
    defer_until_of,
)
from .source import Located, load_located

if TYPE_CHECKING:
    from .medications import Lexicon

IF_UNANSWERED: Final = ("ask", "fire", "skip")
RULE_ID: Final = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
PLACEHOLDER: Final = re.compile(r"\{([^{}]*)\}")
LEXICON_FILE: Final = "medications.yaml"
PROTOCOLS_FILE: Final = "protocols.yaml"
PRECAUTIONS_DIR: Final = "precautions"
#: In a clinic (later) folder: a list of rule ids from earlier folders to switch off.
DISABLED_FILE: Final = "disabled.yaml"

DateFormatter = Callable[[dt.date], str]


# --- rules ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstructionSpec:
    """A rule's instruction for the patient, before it is dated."""

    text: str
    days_before: int | None = None


@dataclass(frozen=True)
class Rule:
    """One precaution rule, compiled."""

    id: str
    severity: str
    when: Condition
    if_unanswered: str
    message: str
    instruction: InstructionSpec | None
    defer_for_days: int | None
    source: tuple[str, ...]
    #: The rule file, relative to the ruleset folder (precautions/skin.yaml).
    file: str
    line: int
    #: ``override: true`` in the file: replaces the rule of the same id of an earlier folder.
    override: bool = False
    #: The rules folder the rule comes from (set by load_ruleset; "" when parsed alone).
    folder: str = ""


@dataclass(frozen=True)
class LayerNote:
    """What a later folder did to the rules of the earlier ones (see load_ruleset)."""

    action: str  #: "override", "override-unknown" (an override of an id no earlier folder has), "disable"
    rule_id: str
    folder: str
    file: str
    line: int
    #: For "override": where the replaced rule was (folder/file:line).
    replaced: str = ""


# --- the schema of a rule file -----------------------------------------------------------


def _messages(what: str) -> dict[str, str | list[Any] | dict[Any, Any]]:
    return {
        "required": "missing",
        "null": f"needs {what}, not nothing (null)",
        "invalid": f"needs {what}",
    }


def _whole_days(minimum: int) -> fields.Integer:
    return fields.Integer(
        strict=True,
        validate=validate.Range(min=minimum, error=f"needs a whole number of days of at least {minimum}"),
        error_messages=_messages(f"a whole number of days of at least {minimum}"),
    )


class _InstructionSchema(Schema):
    class Meta:
        unknown = RAISE

    error_messages = {"type": "needs a mapping with 'text' (and 'days_before' to date it)"}

    text = fields.String(
        required=True, validate=validate.Length(min=1, error="needs some text"),
        error_messages=_messages("text"),
    )
    days_before = _whole_days(0)


class _RuleSchema(Schema):
    class Meta:
        unknown = RAISE

    id = fields.String(
        required=True,
        validate=validate.Regexp(RULE_ID, error="must be lowercase words joined by '-', like recent-filler"),
        error_messages=_messages("lowercase words joined by '-', like recent-filler"),
    )
    severity = fields.String(
        required=True,
        validate=validate.OneOf(SEVERITIES, error="must be one of: " + ", ".join(SEVERITIES)),
        error_messages=_messages("one of: " + ", ".join(SEVERITIES)),
    )
    when = fields.Raw(required=True, allow_none=True)  # checked by the condition compiler
    if_unanswered = fields.String(
        validate=validate.OneOf(IF_UNANSWERED, error="must be one of: " + ", ".join(IF_UNANSWERED)),
        error_messages=_messages("one of: " + ", ".join(IF_UNANSWERED)),
    )
    message = fields.String(
        required=True, validate=validate.Length(min=1, error="needs some text"),
        error_messages=_messages("text"),
    )
    instruction = fields.Nested(_InstructionSchema, error_messages=_messages("a mapping with 'text'"))
    defer_for_days = _whole_days(1)
    source = fields.List(
        fields.String(validate=validate.Length(min=1, error="needs some text"),
                      error_messages=_messages("text such as S10")),
        required=True,
        validate=validate.Length(min=1, error="needs at least one source reference, such as [S10]"),
        error_messages=_messages("a list of source references, such as [S10, S22]"),
    )
    override = fields.Boolean(truthy={True}, falsy={False}, error_messages=_messages("true or false"))

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, Any] = {}
        if data.get("defer_for_days") is not None and data.get("severity") != "defer":
            errors["defer_for_days"] = ["is only for defer rules"]
        instruction = data.get("instruction") or {}
        for name in PLACEHOLDER.findall(instruction.get("text", "")):
            if name != "start":
                problem = f"has an unknown placeholder {{{name}}}: only {{start}} is known"
            elif instruction.get("days_before") is None:
                problem = "uses {start}, which needs instruction.days_before to date it"
            else:
                continue
            errors["instruction"] = {"text": [problem]}
        if errors:
            raise ValidationError(errors)


_RULE_KEYS: Final = tuple(_RuleSchema().fields)
_INSTRUCTION_KEYS: Final = tuple(_InstructionSchema().fields)


def _flatten(messages: Any, path: tuple[str | int, ...] = ()) -> Iterable[tuple[tuple[str | int, ...], str]]:
    if isinstance(messages, Mapping):
        for key, inner in messages.items():
            yield from _flatten(inner, path if key == "_schema" else (*path, key))
    elif isinstance(messages, list):
        for message in messages:
            yield from _flatten(message, path)
    else:
        yield path, str(messages)


def _schema_errors(
    error: ValidationError, rule: Located, file: str, rule_id: str | None
) -> list[RuleFileError]:
    found = []
    for path, message in _flatten(error.messages):
        key = path[-1] if path else ""
        parent = rule.locate(path[:-1])
        where = rule.locate(path)
        dotted = ".".join(str(p) for p in path if isinstance(p, str))
        if message == "Unknown field.":
            known = _INSTRUCTION_KEYS if path[:1] == ("instruction",) else _RULE_KEYS
            hint = suggestion(str(key), list(known)) or f" (known keys: {', '.join(known)})"
            at, text = parent.key_node(str(key)), f"unknown key '{key}'{hint}"
        elif message == "missing":
            at, text = parent, f"missing '{dotted}'"
        else:
            at, text = where, f"'{dotted}' {message}"
        found.append(RuleFileError(file, at.line, at.column, rule_id, text))
    return found


# --- loading -------------------------------------------------------------------------------


class Ruleset:
    """Loaded, checked and compiled rules, with the lexicon and protocols they use."""

    def __init__(
        self,
        rules: Iterable[Rule],
        lexicon: Lexicon | None,
        catalogue: Catalogue,
        version: str,
        files: Iterable[str],
        root: Path,
        protocols: Any = None,
        *,
        roots: Sequence[Path] | None = None,
        notes: Iterable[LayerNote] = (),
    ):
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.lexicon = lexicon
        self.catalogue = catalogue
        #: sha256 of every file read (relative path and bytes), in path order.
        self.version = version
        #: The files read, relative to ``root``.
        self.files: tuple[str, ...] = tuple(files)
        self.root = root
        #: The session-plan protocols (intake.assessment.plan), or None.
        self.protocols = protocols
        #: Every rules folder, defaults first, clinic last (one folder: just ``root``).
        self.roots: tuple[Path, ...] = tuple(roots) if roots else (root,)
        #: Overrides and disabled rules of the later folders, in the order applied.
        self.notes: tuple[LayerNote, ...] = tuple(notes)
        self._by_id = {rule.id: rule for rule in self.rules}
        #: A _Check per rule, in file order, and every rule's test as one function that
        #: returns (handler, result) for the rules to flag (see assess_facts).
        self._checks = tuple(_Check(rule, catalogue) for rule in self.rules)
        # Flags sort by (severity, most severe first; rule id): the same order whatever the
        # intake, so each check's keys become that order's positions, cheaper to sort by.
        keys = sorted({c.order for c in self._checks} | {c.question_order for c in self._checks})
        position = {key: i for i, key in enumerate(keys)}
        for check in self._checks:
            check.order, check.question_order = position[check.order], position[check.question_order]
        self._test_all = batch_test(
            [rule.when for rule in self.rules],
            [check.fired for check in self._checks],
            [None if check.rule.if_unanswered == "skip" else check.asked if check.rule.if_unanswered == "ask"
             else check.fired for check in self._checks],
        )

    def __repr__(self) -> str:
        return f"<Ruleset {len(self.rules)} rules from {self.root} version {self.version[:12]}>"

    def rule(self, rule_id: str) -> Rule:
        """The rule called ``rule_id``; KeyError if there is none."""
        return self._by_id[rule_id]

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._by_id


@dataclass
class _Reading:
    """What load_ruleset has read so far from one folder: file contents for the version, and every error.

    Several readings (one per layered folder) share ``errors`` and ``contents``; the
    contents of a later folder are keyed ``layer<N>/<relative path>``.
    """

    root: Path
    errors: list[RuleFileError] = field(default_factory=list)
    contents: dict[str, bytes] = field(default_factory=dict)
    prefix: str = ""

    def display(self, relative: str) -> str:
        return str(self.root / relative)

    def read(self, relative: str) -> str | None:
        try:
            raw = (self.root / relative).read_bytes()
            text = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            problem = f"cannot read the file: {error}"
            self.errors.append(RuleFileError(self.display(relative), 0, 0, None, problem))
            return None
        self.contents[self.prefix + relative] = raw
        return text

    def version(self) -> str:
        digest = hashlib.sha256()
        for relative in sorted(self.contents):
            raw = self.contents[relative]
            digest.update(f"{relative}\0{len(raw)}\0".encode())
            digest.update(raw)
        return digest.hexdigest()


def rule_folders(root: str | Path | Sequence[str | Path]) -> list[Path]:
    """``root`` as a list of folders: one folder, or a sequence of them (defaults first)."""
    if isinstance(root, (str, Path)):
        return [Path(root)]
    return [Path(folder) for folder in root]


def load_ruleset(root: str | Path | Sequence[str | Path]) -> Ruleset:
    """Load every rule file of one folder, or of layered folders (defaults first, clinic last).

    RulesetInvalid lists every problem of every file. In a later folder, a rule whose id
    an earlier folder has replaces it only when marked ``override: true`` (else it is a
    duplicate); ``disabled.yaml`` lists ids to switch off; other rules are added. A later
    ``medications.yaml`` adds its classes and names to the lexicon; a later
    ``protocols.yaml`` replaces the earlier one whole; rule tests are layered by file name
    (see intake.assessment.ruletests.case_files).
    """
    roots = rule_folders(root)
    if not roots:
        raise RulesetInvalid([RuleFileError("RULES_DIRS", 0, 0, None, "no rules folder given")])
    missing = [RuleFileError(str(folder), 0, 0, None, "no such rules folder") for folder in roots
               if not folder.is_dir()]
    if missing:
        raise RulesetInvalid(missing)
    first = _Reading(roots[0])
    readings = [first] + [_Reading(folder, first.errors, first.contents, f"layer{i}/")
                          for i, folder in enumerate(roots[1:], start=1)]
    lexicon = _load_lexicon(readings)
    catalogue = Catalogue(None if lexicon is None else lexicon.classes.keys())
    notes: list[LayerNote] = []
    rules = _load_precautions(readings, catalogue, notes)
    protocols = _load_protocols(readings, catalogue, [rule.id for rule in rules])
    if first.errors:
        raise RulesetInvalid(first.errors)
    return Ruleset(
        rules, lexicon, catalogue, first.version(), sorted(first.contents), roots[-1], protocols,
        roots=roots, notes=notes,
    )


def _load_lexicon(readings: list[_Reading]) -> Lexicon | None:
    from .medications import Lexicon, _parse

    base = readings[0]
    if not (base.root / LEXICON_FILE).is_file():
        base.errors.append(RuleFileError(base.display(LEXICON_FILE), 0, 0, None,
                                         "the medication lexicon is missing"))
        return None
    merged: dict[str, Any] = {}
    texts: list[str] = []
    failed = False
    for index, reading in enumerate(readings):
        if index and not (reading.root / LEXICON_FILE).is_file():
            continue
        text = reading.read(LEXICON_FILE)
        if text is None:
            failed = True
            continue
        try:
            data = _parse(text, reading.display(LEXICON_FILE))
        except RulesetInvalid as invalid:
            reading.errors.extend(invalid.errors)
            failed = True
            continue
        texts.append(text)
        if index == 0:
            merged = data
        else:
            _merge_lexicon(merged, data)
    if failed or not merged:
        return None
    if len(texts) == 1:
        return Lexicon(merged, texts[0])
    return Lexicon(merged, "\n".join(texts))


def _merge_lexicon(merged: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """A clinic lexicon's classes into the earlier ones: names added to a known class, new classes added."""
    by_id = {cls["id"]: cls for cls in merged["classes"]}
    for cls in extra.get("classes") or []:
        known = by_id.get(cls["id"])
        if known is None:
            merged["classes"].append(cls)
            by_id[cls["id"]] = cls
        else:
            known["medications"] = list(known["medications"]) + list(cls["medications"])
    for key, value in extra.items():
        if key != "classes" and isinstance(value, list):
            merged[key] = list(merged.get(key) or []) + [v for v in value if v not in (merged.get(key) or [])]


def _load_precautions(readings: list[_Reading], catalogue: Catalogue, notes: list[LayerNote]) -> list[Rule]:
    effective: dict[str, Rule] = {}
    where: dict[str, str] = {}
    for index, reading in enumerate(readings):
        folder = reading.root / PRECAUTIONS_DIR
        paths = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
        if not paths and index == 0:
            reading.errors.append(RuleFileError(reading.display(PRECAUTIONS_DIR), 0, 0, None,
                                                "no rule files (precautions/*.yaml)"))
        seen_here: dict[str, str] = {}
        for path in paths:
            relative = f"{PRECAUTIONS_DIR}/{path.name}"
            text = reading.read(relative)
            if text is None:
                continue
            display = reading.display(relative)
            for rule, id_node in parse_rules(text, relative, display, catalogue, reading.errors):
                here = f"{display}:{id_node.line}"
                rule = replace(rule, folder=str(reading.root))
                if rule.id in seen_here:
                    reading.errors.append(RuleFileError(
                        display, id_node.line, id_node.column, rule.id,
                        f"duplicate rule id '{rule.id}': first defined at {seen_here[rule.id]}",
                    ))
                    continue
                seen_here[rule.id] = here
                if rule.id in effective:
                    if not (index and rule.override):
                        reading.errors.append(RuleFileError(
                            display, id_node.line, id_node.column, rule.id,
                            f"duplicate rule id '{rule.id}': first defined at {where[rule.id]}"
                            + (" (add 'override: true' to replace it)" if index else ""),
                        ))
                        continue
                    notes.append(LayerNote("override", rule.id, str(reading.root), relative, rule.line,
                                           where[rule.id]))
                elif rule.override:
                    notes.append(LayerNote("override-unknown", rule.id, str(reading.root), relative, rule.line))
                effective[rule.id] = rule
                where[rule.id] = here
        if index and (reading.root / DISABLED_FILE).is_file():
            _apply_disabled(reading, effective, notes)
    return list(effective.values())


def _apply_disabled(reading: _Reading, effective: dict[str, Rule], notes: list[LayerNote]) -> None:
    text = reading.read(DISABLED_FILE)
    if text is None:
        return
    display = reading.display(DISABLED_FILE)
    try:
        document = load_located(text, display)
    except RulesetInvalid as invalid:
        reading.errors.extend(invalid.errors)
        return
    if document.is_scalar and document.value is None:
        return
    if not document.is_sequence:
        reading.errors.append(RuleFileError(display, document.line, document.column, None,
                                            "disabled.yaml is a list of rule ids, each on a line starting with '- '"))
        return
    for item in document.items_():
        rule_id = item.value
        if not isinstance(rule_id, str) or not item.is_scalar:
            reading.errors.append(RuleFileError(display, item.line, item.column, None, "needs a rule id"))
        elif rule_id not in effective:
            hint = suggestion(rule_id, list(effective)) or ""
            reading.errors.append(RuleFileError(display, item.line, item.column, rule_id,
                                                f"cannot disable '{rule_id}': no earlier rule has that id{hint}"))
        else:
            del effective[rule_id]
            notes.append(LayerNote("disable", rule_id, str(reading.root), DISABLED_FILE, item.line))


def parse_rules(
    text: str, relative: str, display: str, catalogue: Catalogue, errors: list[RuleFileError]
) -> list[tuple[Rule, Located]]:
    """The valid rules of one precautions file, each with its id's node; problems go to ``errors``."""
    try:
        document = load_located(text, display)
    except RulesetInvalid as invalid:
        errors.extend(invalid.errors)
        return []
    if document.is_scalar and document.value is None:
        return []  # an empty file: nothing to check
    if not document.is_sequence:
        errors.append(RuleFileError(display, document.line, document.column, None,
                                    "a rule file is a list of rules, each starting with '- id:'"))
        return []
    found = []
    for node in document.items_():
        rule = _parse_rule(node, relative, display, catalogue, errors)
        if rule is not None:
            found.append((rule, node["id"]))
    return found


def _parse_rule(
    node: Located, relative: str, display: str, catalogue: Catalogue, errors: list[RuleFileError]
) -> Rule | None:
    if not node.is_mapping:
        errors.append(RuleFileError(display, node.line, node.column, None,
                                    "each rule is a mapping that starts with 'id:'"))
        return None
    id_node = node.get("id")
    rule_id = id_node.value if id_node is not None and isinstance(id_node.value, str) else None
    before = len(errors)
    data: dict[str, Any] | None
    try:
        data = _RuleSchema().load(node.plain())
    except ValidationError as invalid:
        errors.extend(_schema_errors(invalid, node, display, rule_id))
        data = None
    when_node = node.get("when")
    condition = None
    if when_node is not None:
        condition = compile_condition(when_node, catalogue, file=display, rule_id=rule_id, errors=errors)
    if data is None or condition is None or len(errors) > before:
        return None
    instruction = data.get("instruction")
    severity = data["severity"]
    return Rule(
        id=data["id"],
        severity=severity,
        when=condition,
        if_unanswered=data.get("if_unanswered") or ("skip" if severity == "info" else "ask"),
        message=data["message"].strip(),
        instruction=InstructionSpec(instruction["text"].strip(), instruction.get("days_before"))
        if instruction else None,
        defer_for_days=data.get("defer_for_days"),
        source=tuple(data["source"]),
        file=relative,
        line=node.line,
        override=bool(data.get("override", False)),
    )


def _load_protocols(readings: list[_Reading], catalogue: Catalogue, rule_ids: list[str]) -> Any:
    """The protocols of the last folder that has a protocols.yaml (a later one replaces it whole)."""
    having = [reading for reading in readings if (reading.root / PROTOCOLS_FILE).is_file()]
    if not having or importlib.util.find_spec(f"{__package__}.plan") is None:
        return None
    reading = having[-1]
    path = reading.root / PROTOCOLS_FILE
    plan = importlib.import_module(f"{__package__}.plan")
    load_protocols = getattr(plan, "load_protocols", None)
    if load_protocols is None:
        return None
    if reading.read(PROTOCOLS_FILE) is None:
        return None
    try:
        display = reading.display(PROTOCOLS_FILE)
        return load_protocols(path, catalogue, rule_ids=rule_ids, display_name=display)
    except RulesetInvalid as invalid:
        reading.errors.extend(invalid.errors)
        return None


# --- assessing -----------------------------------------------------------------------------

_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS: Final = ("January", "February", "March", "April", "May", "June", "July", "August",
                  "September", "October", "November", "December")


def english_date(day: dt.date) -> str:
    """'Thursday 3 December': the default date wording of patient instructions."""
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"


def relative_day(days_before: int) -> str:
    """When the appointment is not booked: '2 days before your appointment' and so on."""
    if days_before == 0:
        return "on the day of your appointment"
    if days_before == 1:
        return "the day before your appointment"
    return f"{days_before} days before your appointment"


def instruction_start(appointment: dt.date, days_before: int, on: dt.date | None) -> dt.date:
    """``days_before`` the appointment, or ``on`` when that day has passed (see render_instruction)."""
    starts_on = appointment - dt.timedelta(days=days_before)
    if on is not None and starts_on < on <= appointment:
        return on
    return starts_on


def render_instruction(
    spec: InstructionSpec,
    rule_id: str,
    appointment: dt.date | None,
    format_date: DateFormatter = english_date,
    *,
    on: dt.date | None = None,
) -> Instruction:
    """Date a rule's instruction against the appointment (None: not booked yet).

    An instruction that should have started before ``on`` (the assessment date: an
    appointment booked close) starts on ``on``: "From Thursday 19 November" read on the
    25th asks the impossible, and the patient can still do the rest of it.
    """
    days = spec.days_before
    starts_on = None
    if appointment is not None and days is not None:
        starts_on = instruction_start(appointment, days, on)
    text = spec.text
    if days is not None and "{start}" in text:
        when = format_date(starts_on) if starts_on is not None else relative_day(days)
        text = text.replace("{start}", when)
        text = text[:1].upper() + text[1:]
    return Instruction(rule_id, text, starts_on, days)


def assess(
    answers: Mapping[str, Any],
    ruleset: Ruleset,
    on: dt.date,
    *,
    format_date: DateFormatter = english_date,
) -> Assessment:
    """Assess one answers document (as loaded by intake.answers.load_answers) on ``on``."""
    facts = derive_facts(answers, ruleset.lexicon, on, ruleset.catalogue)
    return assess_facts(facts, ruleset, format_date=format_date)


def assess_facts(
    facts: Facts, ruleset: Ruleset, *, format_date: DateFormatter = english_date, plan: bool = True
) -> Assessment:
    """Run every rule on already derived facts (``plan=False``: without the session plan, as a preview needs)."""
    # _test_all gives, for each rule that is not false and not skipped, its handler (the
    # _Check's fired or asked) and its result; each handler returns (sort key, flag,
    # (sort key, instruction) or None).
    found = [handle(result, facts, format_date) for handle, result in ruleset._test_all(facts.values)]
    # The keys order flags as Flag.sort_key and instructions as Instruction.sort_key do; no
    # two are equal (one flag per rule; rule ids are unique), so entries are never compared.
    found.sort(key=_first)
    flags = tuple(map(_second, found))
    dated = [entry[2] for entry in found if entry[2] is not None]
    if len(dated) > 1:
        dated.sort(key=_first)
    # The first flag is the most severe: its rank is the outcome's (as outcome_of says).
    outcome = OUTCOMES[SEVERITY_RANK[flags[0].severity]] if flags else OUTCOMES[0]
    defer_until = defer_until_of(flags, outcome) if outcome == "defer" else None
    built = None
    if plan and ruleset.protocols is not None:
        built = ruleset.protocols.build(facts, flags, outcome, defer_until, facts.on)
    return construct(
        Assessment,
        on=facts.on,
        reference_date=facts.reference_date,
        outcome=outcome,
        defer_until=defer_until,
        flags=flags,
        instructions=tuple(map(_second, dated)),
        ruleset_version=ruleset.version,
        plan=built,
    )


_first = itemgetter(0)
_second = itemgetter(1)
_join = "".join
#: What assess_facts collects per flag: (sort key, flag, (sort key, instruction) or None).
_Entry = tuple[int, Flag, "tuple[tuple[Any, ...], Instruction] | None"]

#: At most this many flags (triggers, instructions) are remembered per rule. A full memo
#: keeps what it has and remembers nothing more: its keys rarely repeat, and dropping and
#: refilling it would make every miss a long-lived object for the garbage collector to
#: walk; what is not remembered is built as it was before and dropped with the assessment.
MEMO_LIMIT: Final = 2048


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) < MEMO_LIMIT:
        memo[key] = value


class _Check:
    """One rule as assess_facts runs it, with a memo of the flags it has built.

    A rule's flag depends only on the values its condition reads (and the reference date,
    when it tests dates), the assessment date (for ``defer_for_days``), the appointment
    (for a dated instruction) and, for medication facts, the medicines behind them.
    Patients share most of those, so a flag built once is reused: flags are immutable,
    and the memo key holds everything the flag is made from, so the flag is the one
    building it afresh gives. Values are compared with their types: True, 1 and 1.0 are
    equal in Python but are shown differently (see _handler).
    """

    __slots__ = ("rule", "order", "question_order", "defers_for_days", "formatted", "flags", "questions",
                 "instructions", "triggers", "fired", "asked")

    def __init__(self, rule: Rule, catalogue: Catalogue):
        self.rule = rule
        #: Flag.sort_key of its flag, and of its "ask" flag (Ruleset makes them positions).
        self.order: Any = (-SEVERITY_RANK[rule.severity], rule.id)
        asked = min(rule.severity, "precaution", key=SEVERITY_RANK.__getitem__)
        self.question_order: Any = (-SEVERITY_RANK[asked], rule.id)
        leaves = [node for node in rule.when.nodes if isinstance(node, Leaf)]
        fields = {leaf.index: leaf.field for leaf in leaves}
        reads = set(fields)
        spec = rule.instruction
        dated = spec is not None and spec.days_before is not None
        #: A deferral for a number of days from the assessment, which a later appointment may outlast.
        self.defers_for_days = rule.severity == "defer" and rule.defer_for_days is not None
        if dated or self.defers_for_days or any(leaf.operator in DATE_OPERATORS for leaf in leaves):
            # Date tests compare with the reference date; a dated instruction and a deferral
            # for days need the appointment, which is the reference date when booked.
            reads |= {REFERENCE_INDEX, catalogue.fields[DERIVED_BOOKED].index}
        self.formatted = dated and spec is not None and "{start}" in spec.text
        #: key -> entry, or (entry, the medicines it shows) when the key holds their ids.
        self.flags: dict[Any, tuple[Any, ...]] = {}
        self.questions: dict[Any, tuple[Any, ...]] = {}
        self.instructions: dict[dt.date | None, tuple[tuple[Any, ...], Instruction]] = {}
        self.triggers: dict[Any, Trigger] = {}
        #: (result, facts, format_date) -> the flag's entry, remembered: the rule fired.
        self.fired: Callable[[Any, Facts, DateFormatter], _Entry] = _handler(
            sorted(reads), fields, self.flags, self.build, formatted=self.formatted,
            uses_on=self.defers_for_days or dated,
            medicines=any(leaf.evidence_of is not None for leaf in leaves),
        )
        #: The same for the "not answered, ask" flag.
        self.asked: Callable[[Any, Facts, DateFormatter], _Entry] = _handler(
            sorted(reads), fields, self.questions, self.question, formatted=False, uses_on=False,
            medicines=False,
        )

    def question(self, result: None, facts: Facts, format_date: DateFormatter) -> _Entry:
        """The "not answered, ask" flag, built afresh."""
        return self.question_order, _question(self.rule, self.rule.when.unanswered_in(facts.values)), None

    def build(self, result: bool | None, facts: Facts, format_date: DateFormatter) -> _Entry:
        """The flag built afresh (triggers and lift date as Condition.triggers_in and lift_date_in say)."""
        rule, values = self.rule, facts.values
        severity, order = rule.severity, self.order
        lifts_on = None
        if rule.severity == "defer":
            lifts_on = rule.when.lift_date_in(values, result)
            if lifts_on is None and rule.defer_for_days is not None:
                lifts_on = facts.on + dt.timedelta(days=rule.defer_for_days)
                # Counted from the day of the intake, the deferral may be over by a later
                # appointment: then it is something to confirm on the day, not a reason to
                # rebook. Its instruction stays (rule files word it for both cases).
                if facts.appointment_booked and lifts_on <= facts.reference_date:
                    severity, order = "precaution", self.question_order
        appointment = facts.reference_date if facts.appointment_booked else None
        dated = self.instruction(appointment, facts.on, format_date)
        instruction = None if dated is None else dated[1]
        # The dataclass's own __init__, not model.construct: remembered flags live long, and
        # construct's instance dict costs memory and garbage-collector time for as long.
        flag = Flag(
            rule_id=rule.id,
            severity=severity,
            message=rule.message,
            source=rule.source,
            file=rule.file,
            line=rule.line,
            triggered_by=self.triggered_by(rule.when.deciding_leaves(values, result), facts),
            unanswered=(),
            lifts_on=lifts_on,
            instruction=instruction,
        )
        return order, flag, dated

    def triggered_by(self, leaves: list[Leaf], facts: Facts) -> tuple[Trigger, ...]:
        """What Condition.triggers_in gives, each Trigger remembered by its test, value and medicines."""
        found: list[Trigger] = []
        seen: set[str] = set()
        values = facts.values
        for leaf in leaves:
            if leaf.description in seen:
                continue
            seen.add(leaf.description)
            value = values[leaf.index] if leaf.index < len(values) else MISSING
            evidence: tuple[str, ...] = ()
            if leaf.evidence_of is not None:
                evidence = facts.evidence(leaf.field.name, leaf.evidence_of)
            try:
                if value.__class__ is tuple:
                    _join(value)  # TypeError unless it holds text only (see _handler)
                key = (leaf.id, value, value.__class__, evidence)
                trigger = self.triggers.get(key)
            except TypeError:
                key, trigger = None, None
            if trigger is None:
                trigger = Trigger(leaf.field.name, value, leaf.description, evidence)
                if key is not None:
                    _remember(self.triggers, key, trigger)
            found.append(trigger)
        return tuple(found)

    def instruction(
        self, appointment: dt.date | None, on: dt.date, format_date: DateFormatter
    ) -> tuple[tuple[Any, ...], Instruction] | None:
        """The rule's instruction for this appointment, with its Instruction.sort_key."""
        spec = self.rule.instruction
        if spec is None:
            return None
        if format_date is not english_date:
            instruction = render_instruction(spec, self.rule.id, appointment, format_date, on=on)
            return instruction.sort_key(), instruction
        key = None
        if spec.days_before is not None and appointment is not None:
            # The start date decides the text (see render_instruction); so it is the key.
            key = instruction_start(appointment, spec.days_before, on)
        dated = self.instructions.get(key)
        if dated is None:
            instruction = render_instruction(spec, self.rule.id, appointment, format_date, on=on)
            dated = (instruction.sort_key(), instruction)
            _remember(self.instructions, key, dated)
        return dated


def _handler(
    reads: list[int],
    fields: dict[int, FieldSpec],
    memo: dict[Any, tuple[Any, ...]],
    build: Callable[[Any, Facts, DateFormatter], _Entry],
    *,
    formatted: bool,
    uses_on: bool,
    medicines: bool,
) -> Callable[[Any, Facts, DateFormatter], _Entry]:
    """``build(result, facts, format_date)``, remembered in ``memo`` by what the flag depends on.

    The key is the values at ``reads`` (plus the assessment date, and the medicines, when
    the flag depends on them). Derived facts have one type per fact (dates, whole years,
    text, tuples of text), but answers are as the caller gave them: an answer's type goes
    into the key, since True, 1 and 1.0 are equal but are shown differently, and a list
    answer must hold text only (str.join raises TypeError otherwise; an unhashable value
    does too), else the flag is built without the memo. With another date formatter than
    english_date, a flag whose instruction shows a date is never remembered: it may not be
    pure. Written as the source of one small function per rule (see conditions.batch_test):
    this runs for every flag of every intake.
    """
    source = ["def handle(result, facts, format_date):"]
    if formatted:
        source += ["    if format_date is not english_date:", "        return build(result, facts, format_date)"]
    source += ["    values = facts.values", "    try:"]
    parts = []
    for index in reads:
        source.append(f"        v{index} = values[{index}]")
        parts.append(f"v{index}")
        field = fields.get(index)
        if field is None or field.derived:
            continue
        if field.type in LIST_TYPES:
            source += [f"        if v{index}.__class__ is tuple:", f"            join(v{index})"]
        else:
            parts.append(f"v{index}.__class__")
    if uses_on:
        parts.append("facts.on")
    if medicines:
        # Medicines by identity (Facts.medicines_key): the memo keeps them alive with the flag.
        parts.append("facts.medicines_key()")
    source += [
        f"        key = ({', '.join(parts)},)",
        "        found = memo_get(key)",
        "    except TypeError:",
        "        return build(result, facts, format_date)",
        "    if found is None:",
        "        entry = build(result, facts, format_date)",
        # With medicines, the memo holds them too: (entry, the medicines).
        "        remember(memo, key, (entry, tuple(facts.medications)) if medicines else entry)",
        "        return entry",
        "    return found[0]" if medicines else "    return found",
    ]
    namespace: dict[str, Any] = {"english_date": english_date, "build": build, "join": _join, "memo": memo,
                                 "memo_get": memo.get, "remember": _remember, "medicines": medicines}
    # exec of the text above: indexes and fixed names only, no value from a rule file.
    code = compile("\n".join(source) + "\n", "<intake.assessment.rules._handler>", "exec")
    exec(code, namespace)  # noqa: S102  # nosec B102 # generated above from fixed names, no rule-file value
    handle: Callable[[Any, Facts, DateFormatter], _Entry] = namespace["handle"]
    return handle


def _question(rule: Rule, unanswered: tuple[str, ...]) -> Flag:
    severity = min(rule.severity, "precaution", key=SEVERITY_RANK.__getitem__)
    return Flag(
        rule_id=rule.id,
        severity=severity,
        message=f"Not answered — ask the patient before treating ({', '.join(unanswered)}). {rule.message}",
        source=rule.source,
        file=rule.file,
        line=rule.line,
        unanswered=unanswered,
    )

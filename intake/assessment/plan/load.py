"""Loading and checking a protocol file (``protocols.yaml``): every problem at once, each located.

``parse_protocols(text, display, catalogue, rule_ids=..., sources=...)`` checks the file
and returns :class:`~.build.Protocols`, or raises
:class:`~intake.assessment.errors.RulesetInvalid` with every problem (file, line, column,
protocol or adjustment id, what is wrong); with ``sources`` (the ids of the merged
sources.yaml files), a cited id that is not among them (nor ``rule-default``) is one.
``load_protocols(path, catalogue)`` reads the file first.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from ..conditions import Condition, compile_condition
from ..errors import RuleFileError, RulesetInvalid
from ..facts import Catalogue, FieldSpec, suggestion
from ..sources import unknown_citations
from ..yamlkit import Located, load_located, read_text, schema_errors
from .build import Protocols
from .model import (
    ADJUSTMENT_ID,
    AREA_ORDER,
    DEFAULT_EVENT_WINDOW_DAYS,
    DEPTH_LIMITS,
    EFFECT_KEYS,
    FLAGS_FIRED,
    GOAL_ORDER,
    IF_UNANSWERED,
    PROTOCOL_ID,
    SOURCE_REF,
    Active,
    Adjustment,
    Effects,
    Protocol,
    plain_number,
)

# --- loading and checking the file ------------------------------------------------------------


def _messages(what: str) -> dict[str, str | list[Any] | dict[Any, Any]]:
    return {"required": "missing", "null": f"needs {what}, not nothing (null)", "invalid": f"needs {what}"}


def _text(required: bool = True) -> fields.String:
    return fields.String(required=required, validate=validate.Length(min=1, error="needs some text"),
                         error_messages=_messages("text"))


def _whole(minimum: int, what: str = "a whole number", required: bool = True) -> fields.Integer:
    return fields.Integer(
        required=required, strict=True,
        validate=validate.Range(min=minimum, error=f"needs {what} of at least {minimum}"),
        error_messages=_messages(f"{what} of at least {minimum}"),
    )


def _depth_field(required: bool = True) -> fields.Float:
    low, high = DEPTH_LIMITS
    what = f"a depth in mm from {plain_number(low)} to {plain_number(high)}"
    return fields.Float(
        required=required,
        validate=validate.Range(min=low, max=high, error=f"needs {what}"),
        error_messages=_messages(what),
    )


def _choices(choices: tuple[str, ...], what: str, minimum: int = 1, *, required: bool = False) -> fields.List[Any]:
    shown = ", ".join(choices)
    return fields.List(
        fields.String(
            validate=validate.OneOf(choices, error=f"{{input}} is not a known {what}; use one of: {shown}"),
            error_messages=_messages(f"a {what}"),
        ),
        required=required,
        validate=validate.Length(min=minimum, error=f"needs at least {minimum} {what}"),
        error_messages=_messages(f"a list of {what}s, such as [{choices[0]}]"),
    )


def _texts(required: bool = True) -> fields.List[Any]:
    return fields.List(
        fields.String(validate=validate.Length(min=1, error="needs some text"),
                      error_messages=_messages("text")),
        required=required, error_messages=_messages("a list of texts, each starting with '- '"),
    )


def _sources() -> fields.List[Any]:
    return fields.List(
        fields.String(
            validate=validate.Regexp(SOURCE_REF, error="must be the id of a source in sources.yaml "
                                                       "(lowercase words joined by '-'), or rule-default"),
            error_messages=_messages("a source id such as dierickx-ha-acne-scars-2018"),
        ),
        required=True,
        validate=validate.Length(min=1, error="needs at least one source, such as [dierickx-ha-acne-scars-2018] "
                                              "or [rule-default]"),
        error_messages=_messages("a list of source ids from sources.yaml, such as [dierickx-ha-acne-scars-2018]"),
    )


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _ActiveSchema(_Strict):
    id = fields.String(required=True, validate=validate.Regexp(PROTOCOL_ID, error="must be lowercase_words"),
                       error_messages=_messages("an id such as vitamin_c"))
    label = _text()


class _SessionsSchema(_Strict):
    min = _whole(1)
    max = _whole(1)
    default = _whole(1)

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if not data["min"] <= data["default"] <= data["max"]:
            raise ValidationError("needs min <= default <= max", "default")


class _IntervalSchema(_Strict):
    min = _whole(1, "a whole number of days")
    default = _whole(1, "a whole number of days")

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if data["default"] < data["min"]:
            raise ValidationError("needs default >= min", "default")


class _DepthSchema(_Strict):
    min = _depth_field()
    max = _depth_field()

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if data["max"] < data["min"]:
            raise ValidationError("needs min <= max", "max")


class _ProtocolSchema(_Strict):
    id = fields.String(required=True,
                       validate=validate.Regexp(PROTOCOL_ID, error="must be lowercase words joined by '_', "
                                                                   "like hydration_glow"),
                       error_messages=_messages("an id such as hydration_glow"))
    label = _text()
    goals = _choices(GOAL_ORDER, "goal", required=True)
    actives = fields.List(fields.Nested(_ActiveSchema), required=True,
                          validate=validate.Length(min=1, error="needs at least one active"),
                          error_messages=_messages("a list of actives, each with id and label"))
    sessions = fields.Nested(_SessionsSchema, required=True, error_messages=_messages("{min, max, default}"))
    interval_days = fields.Nested(_IntervalSchema, required=True, error_messages=_messages("{min, default}"))
    depth_mm = fields.Nested(_DepthSchema, required=True, error_messages=_messages("{min, max}"))
    areas = _choices(AREA_ORDER, "area", required=True)
    maintenance_interval_days = _whole(1, "a whole number of days")
    downtime = _text()
    after_effects = _texts()
    counselling = _texts(required=False)
    source = _sources()


def _sessions_default(value: Any) -> None:
    if value in ("min", "max"):
        return
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return
    raise ValidationError("needs a whole number of sessions, or min or max (of each protocol)")


class _AdjustmentSchema(_Strict):
    id = fields.String(required=True,
                       validate=validate.Regexp(ADJUSTMENT_ID, error="must be lowercase words joined by '-', "
                                                                     "like sensitive-skin"),
                       error_messages=_messages("an id such as sensitive-skin"))
    protocols = fields.List(fields.String(error_messages=_messages("a protocol id")),
                            error_messages=_messages("a list of protocol ids, such as [under_eye]"))
    when = fields.Raw(required=True, error_messages=_messages("a condition"))
    if_unanswered = fields.String(
        validate=validate.OneOf(IF_UNANSWERED, error="must be one of: " + ", ".join(IF_UNANSWERED)),
        error_messages=_messages("one of: " + ", ".join(IF_UNANSWERED)))
    reason = _text()
    source = _sources()
    sessions = fields.Integer(
        strict=True,
        validate=validate.Range(min=-10, max=10, error="needs a change from -10 to +10, such as +1"),
        error_messages=_messages("a change in sessions, such as +1 or -1"))
    sessions_default = fields.Raw(validate=_sessions_default)
    interval_days_min = _whole(1, "a whole number of days", required=False)
    depth_mm_max = _depth_field(required=False)
    first_session_depth_mm_max = _depth_field(required=False)
    remove_areas = _choices(AREA_ORDER, "area")
    exclude_actives = fields.List(fields.String(error_messages=_messages("an active id")),
                                  validate=validate.Length(min=1, error="needs at least one active id"),
                                  error_messages=_messages("a list of active ids, such as [tranexamic_acid]"))
    no_numbing_cream = fields.Boolean(
        validate=validate.Equal(True, error="is true or left out"), error_messages=_messages("true"))
    note = _text(required=False)

    @validates_schema
    def _some_effect(self, data: dict[str, Any], **_: Any) -> None:
        if not any(key in data for key in EFFECT_KEYS):
            raise ValidationError("an adjustment needs at least one effect: " + ", ".join(EFFECT_KEYS))


class _SchedulingSchema(_Strict):
    event_window_days = _whole(0, "a whole number of days", required=False)
    event_window_source = _sources()


_TOP_KEYS: Final = ("scheduling", "protocols", "adjustments")


class _Loader:
    """Collects every problem of the file, each placed at the line and column it concerns."""

    def __init__(self, file: str, catalogue: Catalogue, rule_ids: Iterable[str] | None,
                 sources: Collection[str] | None = None):
        self.file = file
        self.sources = sources
        self.errors: list[RuleFileError] = []
        self.rule_ids = frozenset(rule_ids or ())
        #: Protocol id -> its active ids, as written (filled while reading the protocols).
        self.declared: dict[str, set[str]] = {}
        self.catalogue, self.flags_index = _with_flags_field(catalogue, self.rule_ids if rule_ids is not None
                                                             else None)

    def error(self, at: Located, item_id: str | None, message: str) -> None:
        self.errors.append(RuleFileError(self.file, at.line, at.column, item_id, message))

    def cited(self, node: Located | None, item_id: str | None, key: str = "source") -> None:
        """An error for each id of the ``key`` list that is not a known source (when sources are known)."""
        if self.sources is None or node is None:
            return
        for at, problem in unknown_citations(node.get(key), self.sources):
            self.error(at, item_id, f"'{key}' {problem}")

    def validate(self, schema: Schema, node: Located, item_id: str | None) -> dict[str, Any] | None:
        """Load ``node`` with ``schema``; every message is placed at the node it concerns."""
        try:
            loaded: dict[str, Any] = schema.load(node.plain())
            return loaded
        except ValidationError as invalid:
            known = tuple(schema.fields)  # the hint offers the entry's own keys, also for nested ones
            self.errors.extend(schema_errors(invalid, node, self.file, item_id, lambda _path: known,
                                             suggest=suggestion))
            return None

    def load(self, root: Located) -> Protocols | None:
        if not root.is_mapping:
            self.error(root, None, "the protocol file is a mapping with 'protocols:' and 'adjustments:'")
            return None
        for key, _node in root.entries():
            if key not in _TOP_KEYS:
                hint = suggestion(key, list(_TOP_KEYS)) or f" (known keys: {', '.join(_TOP_KEYS)})"
                self.error(root.key_node(key), None, f"unknown key '{key}'{hint}")
        window = DEFAULT_EVENT_WINDOW_DAYS
        scheduling = root.get("scheduling")
        if scheduling is not None:
            data = self.validate(_SchedulingSchema(), scheduling, None)
            self.cited(scheduling, None, "event_window_source")
            if data is not None:
                window = data.get("event_window_days", window)
        protocols = self.protocols(root.get("protocols"), root)
        adjustments = self.adjustments(root.get("adjustments"), protocols)
        if self.errors:
            return None
        return Protocols(protocols, adjustments, event_window_days=window, flags_index=self.flags_index,
                         file=self.file)

    def protocols(self, node: Located | None, root: Located) -> list[Protocol]:
        if node is None or not node.is_sequence or not node.value:
            self.error(node or root, None,
                       "'protocols' needs a list of protocols, each starting with '- id:'")
            return []
        found: list[Protocol] = []
        ids: dict[str, int] = {}
        goals: dict[str, str] = {}
        labels: dict[str, tuple[str, int]] = {}
        for item in node.items_():
            item_id = _id_of(item)
            if item_id is not None:
                actives = item.get("actives")
                self.declared[item_id] = {
                    active_id for a in (actives.items_() if actives is not None else [])
                    if isinstance(active_id := _id_of(a), str)
                }
            data = self.validate(_ProtocolSchema(), item, item_id) if item.is_mapping else None
            if not item.is_mapping:
                self.error(item, None, "each protocol is a mapping that starts with 'id:'")
            else:
                self.cited(item, item_id)
            if data is None:
                continue
            where = item.key_node("id")
            if data["id"] in ids:
                self.error(item["id"], item_id,
                           f"duplicate protocol id '{data['id']}' (first on line {ids[data['id']]})")
                continue
            ids[data["id"]] = where.line
            for index, goal in enumerate(data["goals"]):
                if goal in goals:
                    self.error(item["goals"][index], item_id,
                               f"goal {goal} is already served by {goals[goal]}: one protocol per goal")
                goals.setdefault(goal, data["id"])
            for index, active in enumerate(data["actives"]):
                known = labels.setdefault(active["id"], (active["label"], item["actives"][index].line))
                if known[0] != active["label"]:
                    self.error(item["actives"][index], item_id,
                               f"active {active['id']} is labelled '{known[0]}' on line {known[1]}: "
                               "use one label per active")
            found.append(_protocol(data, item.line))
        return found

    def adjustments(self, node: Located | None, protocols: list[Protocol]) -> list[Adjustment]:
        if node is None or (node.is_scalar and node.value is None):
            return []
        if not node.is_sequence:
            self.error(node, None, "'adjustments' needs a list of adjustments, each starting with '- id:'")
            return []
        # Names as written, even in protocols with errors: one mistake should not make every
        # adjustment that mentions that protocol look wrong too.
        actives_of = self.declared
        protocol_ids = list(actives_of)
        every_active = sorted(set().union(*actives_of.values())) if actives_of else []
        found: list[Adjustment] = []
        seen: dict[str, int] = {}
        for item in node.items_():
            if not item.is_mapping:
                self.error(item, None, "each adjustment is a mapping that starts with 'id:'")
                continue
            item_id = _id_of(item)
            before = len(self.errors)
            data = self.validate(_AdjustmentSchema(), item, item_id)
            self.cited(item, item_id)
            condition = None
            if item.get("when") is not None:
                condition = compile_condition(item["when"], self.catalogue, file=self.file, rule_id=item_id,
                                              errors=self.errors)
            if data is None:
                continue
            if data["id"] in seen:
                self.error(item["id"], item_id, f"duplicate adjustment id '{data['id']}' (first on line "
                                                f"{seen[data['id']]})")
            seen.setdefault(data["id"], item.line)
            if data["id"] in self.rule_ids:
                self.error(item["id"], item_id,
                           f"'{data['id']}' is also a precaution rule id: choose another id")
            scope = data.get("protocols") or []
            for index, protocol_id in enumerate(scope):
                if protocol_id not in protocol_ids:
                    hint = suggestion(protocol_id, protocol_ids)
                    self.error(item["protocols"][index], item_id, f"unknown protocol '{protocol_id}'{hint}")
            usable = set().union(*(actives_of.get(p, set()) for p in (scope or protocol_ids)))
            for index, active_id in enumerate(data.get("exclude_actives") or []):
                if active_id not in every_active:
                    hint = suggestion(active_id, every_active)
                    self.error(item["exclude_actives"][index], item_id, f"unknown active '{active_id}'{hint}")
                elif active_id not in usable:
                    self.error(item["exclude_actives"][index], item_id,
                               f"no protocol this adjustment applies to uses {active_id}")
            if condition is None or len(self.errors) > before:
                continue
            found.append(_adjustment(data, condition, item.line))
        return found


def _id_of(item: Located) -> str | None:
    node = item.get("id")
    return node.value if node is not None and isinstance(node.value, str) else None


def _protocol(data: Mapping[str, Any], line: int) -> Protocol:
    return Protocol(
        id=data["id"],
        label=data["label"].strip(),
        goals=tuple(data["goals"]),
        actives=tuple(Active(a["id"], a["label"].strip()) for a in data["actives"]),
        sessions_min=data["sessions"]["min"],
        sessions_max=data["sessions"]["max"],
        sessions_default=data["sessions"]["default"],
        interval_min=data["interval_days"]["min"],
        interval_default=data["interval_days"]["default"],
        depth_min=float(data["depth_mm"]["min"]),
        depth_max=float(data["depth_mm"]["max"]),
        areas=tuple(a for a in AREA_ORDER if a in data["areas"]),
        maintenance_interval_days=data["maintenance_interval_days"],
        downtime=data["downtime"].strip(),
        after_effects=tuple(e.strip() for e in data["after_effects"]),
        counselling=tuple(c.strip() for c in data.get("counselling") or ()),
        source=tuple(data["source"]),
        line=line,
    )


def _adjustment(data: Mapping[str, Any], condition: Condition, line: int) -> Adjustment:
    depth = data.get("depth_mm_max")
    first = data.get("first_session_depth_mm_max")
    return Adjustment(
        id=data["id"],
        when=condition,
        reason=data["reason"].strip(),
        source=tuple(data["source"]),
        effects=Effects(
            sessions=data.get("sessions"),
            sessions_default=data.get("sessions_default"),
            interval_days_min=data.get("interval_days_min"),
            depth_mm_max=None if depth is None else float(depth),
            first_session_depth_mm_max=None if first is None else float(first),
            remove_areas=tuple(data.get("remove_areas") or ()),
            exclude_actives=tuple(data.get("exclude_actives") or ()),
            no_numbing_cream=bool(data.get("no_numbing_cream")),
            note=data.get("note"),
        ),
        protocols=tuple(data.get("protocols") or ()),
        if_unanswered=data.get("if_unanswered") or "ask",
        line=line,
    )


def _with_flags_field(catalogue: Catalogue, rule_ids: Iterable[str] | None) -> tuple[Catalogue, int]:
    """A copy of the catalogue with ``flags.fired`` added after every fact (the original is untouched).

    Adjustments may test which precaution rules fired; precaution rules may not (they
    decide the flags), so the field lives only in this copy.
    """
    extended = copy.copy(catalogue)
    extended.fields = dict(catalogue.fields)
    index = max((spec.index for spec in catalogue.fields.values()), default=0) + 1
    choices = tuple(sorted(rule_ids)) if rule_ids is not None else None
    extended.fields[FLAGS_FIRED] = FieldSpec(FLAGS_FIRED, "choice_list", index, choices, vocabulary="rule id",
                                             derived=True)
    return extended, index


def parse_protocols(
    text: str,
    display: str,
    catalogue: Catalogue,
    *,
    rule_ids: Iterable[str] | None = None,
    sources: Collection[str] | None = None,
) -> Protocols:
    """Check a protocol file's text (``display`` names it in errors); RulesetInvalid lists every problem.

    With ``sources`` (the ids of the merged sources.yaml files), every cited id must be one
    of them or ``rule-default``.
    """
    root = load_located(text, display)
    loader = _Loader(display, catalogue, rule_ids, sources)
    protocols = loader.load(root)
    if protocols is None:
        raise RulesetInvalid(loader.errors)
    return protocols


def load_protocols(
    path: Path,
    catalogue: Catalogue,
    *,
    rule_ids: Iterable[str] | None = None,
    display_name: str | None = None,
) -> Protocols:
    """Read and check a protocol file; RulesetInvalid lists every problem at once."""
    name = display_name or str(path)
    return parse_protocols(read_text(Path(path), name), name, catalogue, rule_ids=rule_ids)

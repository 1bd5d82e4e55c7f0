"""The YAML loading kit of every rule file: positions, safe limits, schema errors with file and line.

Rule files are written by people (and uploaded by admins), so every problem must point at
a line and a column, and no file may stall the server. Every loader of the core reads
YAML through this module: precaution rules, the medication lexicon, protocols,
``disabled.yaml``, rule tests and their bases.

``load_located(text, filename)`` parses one YAML document with PyYAML's safe semantics
and returns a tree of :class:`Located` nodes; each node knows its ``line`` and
``column`` (1-based, where the node starts in the file) and its ``value``:

- a scalar node's ``value`` is the Python value ``yaml.safe_load`` would give
  (str, int, float, bool, None, datetime.date …);
- a mapping node's ``value`` is a ``dict[str, Located]``; the location of each *key*
  is in ``node.keys[key]`` (a Located whose value is the key text);
- a sequence node's ``value`` is a ``list[Located]``.

Mapping keys are always their text, never YAML 1.1 booleans: ``on:`` is the key
``"on"`` (``yaml.safe_load`` would turn it into ``True``), ``12:`` is ``"12"``.

Typical use::

    doc = load_located(text, "rules/precautions/skin.yaml")   # raises RulesetInvalid
    for rule in doc.items_():                     # a sequence
        when = rule.get("when")                   # Located | None
        error_at(rule.key_node("severity"), ...)  # where the key is written
        plain = rule.plain()                      # plain dicts/lists, for marshmallow

Malformed YAML (and a key written twice in one mapping) raises
:class:`~intake.assessment.errors.RulesetInvalid` carrying
:class:`~intake.assessment.errors.RuleFileError` entries with the problem's position.
``parse_yaml`` is the same with the choices a loader may make differently (how syntax
errors are worded, which of two equal keys is kept and how that is reported).

**Limits.** Aliases are expanded by the tree (and by anything that walks it), so a few
hundred bytes of nested aliases can stand for billions of values. While composing, the
kit counts how many values every alias stands for and refuses the file once aliases
stand for more than :data:`ALIAS_BUDGET` values in all; it refuses nesting deeper than
:data:`MAX_DEPTH` levels (PyYAML composes recursively, and its RecursionError would be a
server error). Both are refused before anything is expanded, in memory that does not
grow with the attack, with the line and column where the limit was crossed.

**Schema errors.** :func:`schema_problems` flattens a marshmallow ``ValidationError``
into :class:`SchemaProblem` entries, each placed at the node it concerns (an unknown key
at the key, a missing key at its mapping, a bad value at the value);
:func:`schema_errors` words them the way rule and protocol files report them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from marshmallow import ValidationError

from .errors import RuleFileError, RulesetInvalid

Kind = Literal["scalar", "mapping", "sequence"]
Path_ = tuple[str | int, ...]

#: At most this many values may stand behind the aliases of one file, counted as expanded.
ALIAS_BUDGET: Final = 10_000
#: At most this many levels of nested lists and mappings (the deepest shipped file has 9).
MAX_DEPTH: Final = 64


class Located:
    """One YAML node: its plain ``value``, where it starts, and (for mappings) where its keys are."""

    __slots__ = ("value", "line", "column", "kind", "keys", "file")

    def __init__(
        self,
        value: Any,
        line: int,
        column: int,
        kind: Kind = "scalar",
        keys: dict[str, Located] | None = None,
        file: str = "",
    ):
        self.value = value
        self.line = line
        self.column = column
        self.kind: Kind = kind
        self.keys: dict[str, Located] = keys if keys is not None else {}
        self.file = file

    def __repr__(self) -> str:
        return f"Located({self.plain()!r} at {self.line}:{self.column})"

    @property
    def is_mapping(self) -> bool:
        """True for a YAML mapping."""
        return self.kind == "mapping"

    @property
    def is_sequence(self) -> bool:
        """True for a YAML sequence."""
        return self.kind == "sequence"

    @property
    def is_scalar(self) -> bool:
        """True for a scalar (including null)."""
        return self.kind == "scalar"

    def get(self, key: str) -> Located | None:
        """The value node of ``key`` in a mapping, or None (also when this is not a mapping)."""
        if self.kind != "mapping":
            return None
        found: Located | None = self.value.get(key)
        return found

    def __getitem__(self, key: str | int) -> Located:
        if self.kind == "mapping" and isinstance(key, str):
            node: Located = self.value[key]
            return node
        if self.kind == "sequence" and isinstance(key, int):
            item: Located = self.value[key]
            return item
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return self.kind == "mapping" and key in self.value

    def key_node(self, key: str) -> Located:
        """Where ``key`` is written in this mapping (falls back to the mapping itself)."""
        return self.keys.get(key, self)

    def items_(self) -> list[Located]:
        """The items of a sequence (empty for anything else)."""
        return list(self.value) if self.kind == "sequence" else []

    def entries(self) -> Iterator[tuple[str, Located]]:
        """``(key, value node)`` pairs of a mapping, in file order (nothing for anything else)."""
        if self.kind == "mapping":
            yield from self.value.items()

    def plain(self) -> Any:
        """The node as plain Python data (dicts, lists, scalars), as ``yaml.safe_load`` would give."""
        if self.kind == "mapping":
            return {key: node.plain() for key, node in self.value.items()}
        if self.kind == "sequence":
            return [node.plain() for node in self.value]
        return self.value

    def locate(self, path: Sequence[str | int]) -> Located:
        """The deepest node along ``path`` (keys and list indexes) that exists."""
        node = self
        for step in path:
            if node.kind == "mapping" and isinstance(step, str) and step in node.value:
                node = node.value[step]
            elif node.kind == "mapping" and isinstance(step, int) and str(step) in node.value:
                node = node.value[str(step)]
            elif node.kind == "sequence" and isinstance(step, int) and 0 <= step < len(node.value):
                node = node.value[step]
            else:
                break
        return node

    def where(self, path: Sequence[str | int], *, key: bool = False) -> Located:
        """The node at ``path`` (the deepest that exists); with ``key``, where its last key is written."""
        if key and path and isinstance(path[-1], str):
            parent = self.locate(path[:-1])
            if parent.is_mapping and path[-1] in parent.keys:
                return parent.keys[path[-1]]
        return self.locate(path)


# --- composing, within limits -------------------------------------------------------------


class Refused(yaml.MarkedYAMLError):
    """A file the kit will not expand: its message is shown as it is, at the mark."""


class _Composer(yaml.SafeLoader):
    """PyYAML's safe loader, counting depth and what aliases stand for while it composes."""

    def __init__(self, text: str):
        super().__init__(text)
        self.depth = 0
        #: Values the aliases met so far stand for, expanded.
        self.expanded = 0
        #: Every composed node's expanded size, by id (the nodes live as long as the composer).
        self.sizes: dict[int, int] = {}
        #: Anchors whose node is still being composed: an alias to one of them is a loop.
        self.open: set[str] = set()

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # PyYAML's stubs leave it untyped
        mark: Any = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self.open:
                raise Refused(problem=f"the alias *{event.anchor} is inside the anchor &{event.anchor} "
                                      "it refers to", problem_mark=mark)
            node = super().compose_node(parent, index)
            self.expanded += self.sizes[id(node)]
            if self.expanded > ALIAS_BUDGET:
                raise Refused(problem=f"the aliases up to here stand for more than {ALIAS_BUDGET:,} values "
                                      "once expanded; write the values out instead of repeating anchors",
                              problem_mark=mark)
            return node
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Refused(problem=f"lists and mappings are nested more than {MAX_DEPTH} levels deep here",
                          problem_mark=mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self.open.add(anchor)
        node = super().compose_node(parent, index)
        self.open.discard(anchor)
        self.depth -= 1
        size = 1
        if isinstance(node, yaml.SequenceNode):
            size += sum(self.sizes[id(item)] for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            size += sum(self.sizes[id(key)] + self.sizes[id(value)] for key, value in node.value)
        self.sizes[id(node)] = size
        return node


def _compose(text: str) -> yaml.Node | None:
    composer = _Composer(text)
    try:
        node: yaml.Node | None = composer.get_single_node()
        return node
    finally:
        composer.dispose()


# --- building the Located tree ------------------------------------------------------------


@dataclass(frozen=True)
class Duplicate:
    """A key written twice in one mapping: where it is written again, and where first."""

    key: str
    at: Located
    first_line: int
    #: The path of the mapping that holds it, from the root.
    path: Path_


class _Builder(yaml.constructor.SafeConstructor):
    """Turns composed nodes into Located trees, reusing SafeConstructor's scalar rules."""

    def __init__(self, filename: str, keep_last: bool):
        super().__init__()
        self.filename = filename
        self.keep_last = keep_last
        self.problems: list[RuleFileError] = []
        self.duplicates: list[Duplicate] = []

    def build(self, node: yaml.Node, path: Path_ = ()) -> Located:
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)  # honours YAML merge keys (<<), as safe_load does
            values: dict[str, Located] = {}
            keys: dict[str, Located] = {}
            for key_node, value_node in node.value:
                key_line, key_column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    self.problems.append(RuleFileError(
                        self.filename, key_line, key_column, None,
                        "a key must be a plain word, not a list or mapping",
                    ))
                    continue
                key = str(key_node.value)
                at = Located(key, key_line, key_column, file=self.filename)
                if key in values:
                    self.duplicates.append(Duplicate(key, at, keys[key].line, path))
                    if not self.keep_last:
                        continue
                keys[key] = at  # the later one wins, in the first one's place, as safe_load does
                values[key] = self.build(value_node, (*path, key))
            return Located(values, line, column, "mapping", keys, file=self.filename)
        if isinstance(node, yaml.SequenceNode):
            return Located([self.build(item, (*path, i)) for i, item in enumerate(node.value)], line, column,
                           "sequence", file=self.filename)
        try:
            value = self.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as error:  # an unknown !tag
            self.problems.append(RuleFileError(self.filename, line, column, None,
                                               f"malformed YAML: {error.problem}"))
            value = None
        except ValueError as error:  # an impossible date such as 2026-02-30
            problem = f"malformed YAML: {node.value!r} is not a valid date ({error})"
            self.problems.append(RuleFileError(self.filename, line, column, None, problem))
            value = None
        return Located(value, line, column, file=self.filename)


# --- syntax errors, worded ------------------------------------------------------------------

SyntaxWording = Callable[[yaml.MarkedYAMLError], tuple[Any, str]]


def plain_words(error: yaml.MarkedYAMLError) -> tuple[Any, str]:
    """Where a syntax error is and what it is, in words a rule author can act on."""
    mark = error.problem_mark or error.context_mark
    if "quoted scalar" in (error.context or ""):
        mark = error.context_mark  # where the unclosed quote starts, not the end of the file
    problem, context = error.problem or "", error.context or ""
    if "'\\t'" in problem:
        words = "a tab character; indent with spaces"
    elif "quoted scalar" in context and error.context_mark is not None:
        words = f"the quote opened on line {error.context_mark.line + 1} is never closed"
    elif problem.startswith("expected <block end>") or problem.startswith("expected <block mapping"):
        words = "this line is not indented like the lines above it"
    elif problem == "mapping values are not allowed here":
        words = "unexpected ':' (put text containing ': ' in quotes, or check the indentation)"
    elif problem.startswith("but found another document"):
        words = "a rule file holds one document: remove the '---' line"
    else:
        words = f"{context}: {problem}" if context and problem else problem or context or "cannot be read"
    return mark, f"malformed YAML: {words}"


def parse_yaml(
    text: str,
    filename: str,
    *,
    wording: SyntaxWording = plain_words,
    keep_last: bool = False,
) -> tuple[Located | None, list[Duplicate]]:
    """Parse one document within the limits: (the tree, or None for an empty file; keys written twice).

    Raises RulesetInvalid for malformed YAML (worded by ``wording``), a limit crossed, a
    key that is not a scalar, an unknown tag or an impossible date. Of a key written
    twice, the first value is kept (``keep_last``: the last, as ``yaml.safe_load`` does).
    """
    try:
        root = _compose(text)
    except Refused as refused:
        mark = refused.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise RulesetInvalid([RuleFileError(filename, line, column, None, refused.problem or "")]) from None
    except yaml.MarkedYAMLError as error:
        mark, message = wording(error)
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise RulesetInvalid([RuleFileError(filename, line, column, None, message)]) from None
    except yaml.YAMLError as error:
        raise RulesetInvalid([RuleFileError(filename, 0, 0, None, f"malformed YAML: {error}")]) from None
    if root is None:
        return None, []
    builder = _Builder(filename, keep_last)
    located = builder.build(root)
    if builder.problems:
        raise RulesetInvalid(builder.problems)
    return located, builder.duplicates


def load_located(text: str, filename: str) -> Located:
    """Parse one YAML document into a Located tree; raises RulesetInvalid with positions.

    An empty document is a null scalar at 1:1; a key written twice is an error.
    """
    located, duplicates = parse_yaml(text, filename)
    if duplicates:
        raise RulesetInvalid([
            RuleFileError(filename, d.at.line, d.at.column, None,
                          f"the key '{d.key}' is written twice in this mapping (first on line {d.first_line})")
            for d in duplicates
        ])
    return located if located is not None else Located(None, 1, 1, file=filename)


def read_text(path: Path, display_name: str | None = None) -> str:
    """A rule file's text; an unreadable or non-UTF-8 file is a RulesetInvalid naming it."""
    name = display_name or str(path)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RulesetInvalid([RuleFileError(name, 0, 0, None, f"cannot read the file: {error}")]) from None


def load_located_file(path: Path, display_name: str | None = None) -> Located:
    """Read and parse a file; an unreadable or non-UTF-8 file is a RulesetInvalid too."""
    name = display_name or str(path)
    return load_located(read_text(path, name), name)


# --- marshmallow errors, placed ---------------------------------------------------------------


def flatten_messages(messages: Any, path: Path_ = ()) -> Iterator[tuple[Path_, str]]:
    """A marshmallow ``ValidationError.messages`` as (path, message) pairs (``_schema`` adds no step)."""
    if isinstance(messages, Mapping):
        for key, inner in messages.items():
            yield from flatten_messages(inner, path if key == "_schema" else (*path, key))
    elif isinstance(messages, list):
        for message in messages:
            yield from flatten_messages(message, path)
    else:
        yield path, str(messages)


#: The message marshmallow gives a key its schema does not declare.
UNKNOWN_FIELD: Final = "Unknown field."


@dataclass(frozen=True)
class SchemaProblem:
    """One marshmallow message, placed: ``at`` is the key for an unknown key, the mapping for a
    missing one (``missing`` names the message that means missing), the value otherwise."""

    path: Path_
    message: str
    at: Located

    @property
    def unknown_key(self) -> bool:
        """True when the message is about a key the schema does not know."""
        return self.message == UNKNOWN_FIELD

    @property
    def key(self) -> str:
        """The last step of the path, as text ("" for the node itself)."""
        return str(self.path[-1]) if self.path else ""

    @property
    def dotted(self) -> str:
        """The keys of the path joined by dots (list indexes left out): ``instruction.text``."""
        return ".".join(str(p) for p in self.path if isinstance(p, str))


def schema_problems(error: ValidationError, node: Located, *, missing: str = "missing") -> list[SchemaProblem]:
    """Every message of ``error`` (raised loading ``node.plain()``), each placed at its node."""
    found = []
    for path, message in flatten_messages(error.messages):
        if message == UNKNOWN_FIELD:
            at = node.locate(path[:-1]).key_node(str(path[-1]))
        elif message == missing:
            at = node.locate(path[:-1])
        else:
            at = node.locate(path)
        found.append(SchemaProblem(path, message, at))
    return found


def schema_errors(
    error: ValidationError,
    node: Located,
    file: str,
    item_id: str | None,
    known: Callable[[Path_], Sequence[str]],
    *,
    suggest: Callable[[str, Sequence[str]], str],
) -> list[RuleFileError]:
    """The messages of a rule or protocol file's schema as RuleFileErrors, worded as those files word them:
    ``unknown key 'x' (did you mean 'y'?)``, ``missing 'a.b'``, ``'a.b' needs text``.

    ``known(path)`` lists the keys a mapping at ``path`` may hold (for the hint); ``suggest``
    gives the "did you mean" text (facts.suggestion).
    """
    found = []
    for problem in schema_problems(error, node):
        if problem.unknown_key:
            keys = known(problem.path[:-1])
            hint = suggest(problem.key, keys) or f" (known keys: {', '.join(keys)})"
            text = f"unknown key '{problem.key}'{hint}"
        elif problem.message == "missing":
            text = f"missing '{problem.dotted}'"
        else:
            text = f"'{problem.dotted}' {problem.message}" if problem.path else problem.message
        found.append(RuleFileError(file, problem.at.line, problem.at.column, item_id, text))
    return found

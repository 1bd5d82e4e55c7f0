"""YAML that remembers where everything came from.

Rule files are written by people, so every error must point at a line and a column.
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
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml

from .errors import RuleFileError, RulesetInvalid

Kind = Literal["scalar", "mapping", "sequence"]


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


class _Builder(yaml.constructor.SafeConstructor):
    """Turns composed nodes into Located trees, reusing SafeConstructor's scalar rules."""

    def __init__(self, filename: str):
        super().__init__()
        self.filename = filename
        self.problems: list[RuleFileError] = []

    def build(self, node: yaml.Node) -> Located:
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
                if key in values:
                    first = keys[key]
                    self.problems.append(RuleFileError(
                        self.filename, key_line, key_column, None,
                        f"the key '{key}' is written twice in this mapping (first on line {first.line})",
                    ))
                    continue
                keys[key] = Located(key, key_line, key_column, file=self.filename)
                values[key] = self.build(value_node)
            return Located(values, line, column, "mapping", keys, file=self.filename)
        if isinstance(node, yaml.SequenceNode):
            return Located([self.build(item) for item in node.value], line, column, "sequence",
                           file=self.filename)
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


def _plain_words(error: yaml.MarkedYAMLError) -> str:
    """PyYAML's parser vocabulary, said the way a rule author can act on it."""
    problem, context = error.problem or "", error.context or ""
    if "'\\t'" in problem:
        return "a tab character; indent with spaces"
    if "quoted scalar" in context and error.context_mark is not None:
        return f"the quote opened on line {error.context_mark.line + 1} is never closed"
    if problem.startswith("expected <block end>") or problem.startswith("expected <block mapping"):
        return "this line is not indented like the lines above it"
    if problem == "mapping values are not allowed here":
        return "unexpected ':' (put text containing ': ' in quotes, or check the indentation)"
    if problem.startswith("but found another document"):
        return "a rule file holds one document: remove the '---' line"
    return f"{context}: {problem}" if context and problem else problem or context or "cannot be read"


def load_located(text: str, filename: str) -> Located:
    """Parse one YAML document into a Located tree; raises RulesetInvalid with positions."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        if "quoted scalar" in (error.context or ""):
            mark = error.context_mark  # where the unclosed quote starts, not the end of the file
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = f"malformed YAML: {_plain_words(error)}"
        raise RulesetInvalid([RuleFileError(filename, line, column, None, message)]) from None
    except yaml.YAMLError as error:
        raise RulesetInvalid([RuleFileError(filename, 0, 0, None, f"malformed YAML: {error}")]) from None
    if root is None:
        return Located(None, 1, 1, file=filename)
    builder = _Builder(filename)
    located = builder.build(root)
    if builder.problems:
        raise RulesetInvalid(builder.problems)
    return located


def load_located_file(path: Path, display_name: str | None = None) -> Located:
    """Read and parse a file; an unreadable or non-UTF-8 file is a RulesetInvalid too."""
    name = display_name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RulesetInvalid([RuleFileError(name, 0, 0, None, f"cannot read the file: {error}")]) from None
    return load_located(text, name)

"""A Babel extractor for the rule files: ``pybabel extract`` puts their patient-facing texts in the catalogs.

Registered in pyproject.toml (``[project.entry-points."babel.extractors"] rules = ...``) and
named in babel.cfg for ``rules/**.yaml``, so translators work on the rule texts with the same
.po files and tools as on the pages. A clinic's own rule folder is extracted the same way into
its own catalog (docs/translations.md, "A clinic's own rules").

The texts are the ones a patient reads (intake.assessment.texts): ``instruction.text`` of a
precaution rule, and ``label``, ``downtime`` and ``after_effects`` of a protocol. The msgid is
the text exactly as the loader reads it (YAML folding applied), which is what the app looks up.
A rule's id goes with each text as a translator comment; ``{start}`` in an instruction stands
for a date and must stay as it is in the translation.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

import yaml

from ..assessment.texts import PROTOCOL_FIELDS

#: What one extracted text is for Babel: (line number, function name, message, comments).
Extracted = tuple[int, str | None, str, list[str]]


def extract_rules(fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Collection[str],
                  options: Mapping[str, Any]) -> Iterator[Extracted]:
    """Babel's extractor interface: each patient-facing text of one rule file, with its line."""
    encoding = options.get("encoding", "utf-8")
    try:
        root = yaml.compose(fileobj.read().decode(encoding), Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return  # `flask rules check` reports a broken file; extraction carries on with the others
    if root is not None:
        yield from _walk(root, in_protocols=False, owner="")


def _scalar(node: yaml.Node) -> str | None:
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str" and node.value.strip():
        return str(node.value)
    return None


def _items(node: yaml.MappingNode) -> dict[str, yaml.Node]:
    return {key.value: value for key, value in node.value if isinstance(key, yaml.ScalarNode)}


def _found(node: yaml.Node, what: str, owner: str) -> Iterator[Extracted]:
    text = _scalar(node)
    if text is not None:
        note = f"{what} of {owner}" if owner else what
        if "{start}" in text:
            note += "; keep {start} (a date) as it is"
        yield node.start_mark.line + 1, None, text, [note]


def _walk(node: yaml.Node, *, in_protocols: bool, owner: str) -> Iterator[Extracted]:
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            yield from _walk(child, in_protocols=in_protocols, owner=owner)
        return
    if not isinstance(node, yaml.MappingNode):
        return
    items = _items(node)
    ident = _scalar(items["id"]) if "id" in items else None
    if ident:
        owner = f"protocol {ident}" if in_protocols else f"rule {ident}"
    instruction = items.get("instruction")
    if isinstance(instruction, yaml.MappingNode) and "text" in _items(instruction):
        yield from _found(_items(instruction)["text"], "patient instruction", owner)
    if in_protocols and ident:
        for field in PROTOCOL_FIELDS:
            value = items.get(field)
            if isinstance(value, yaml.SequenceNode):
                for line in value.value:
                    yield from _found(line, f"plan wording ({field})", owner)
            elif value is not None:
                yield from _found(value, f"plan wording ({field})", owner)
    protocols = items.get("protocols")
    if protocols is not None:
        yield from _walk(protocols, in_protocols=True, owner=owner)

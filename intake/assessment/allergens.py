"""Allergen lexicon: turns the allergies a patient names into allergen classes.

The lexicon file (``rules/allergens.yaml``) maps the names of allergens, their brands,
other names and common misspellings to classes such as ``local_anaesthetic`` or
``hyaluronic_acid``; precaution rules read those class ids through the facts
``allergies.classes`` and ``allergies.reactions``. It is laid out like the medication
lexicon and matched by the same matcher (:class:`~intake.assessment.medications.Lexicon`:
exact names, then rapidfuzz for typos, then negations), with what only allergies need on
top: "allergic to", "allergy" and the like say nothing about which allergen is meant and
are passed over, so "not allergic to penicillin" is a negation and "no known allergies"
names nothing at all (neither an allergen nor an unrecognised one). Part of the pure
core: no Flask, no database.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from marshmallow import Schema, ValidationError, fields, validate

from .errors import RuleFileError, RulesetInvalid
from .medications import Lexicon, normalise_name
from .sources import SOURCE_ID, unknown_citations
from .yamlkit import Located, Path_, parse_yaml, schema_problems

__all__ = ["ALLERGENS_FILE", "AllergenClass", "AllergenLexicon", "AllergenMatch",
           "parse_allergens"]

ALLERGENS_FILE: Final = "allergens.yaml"

# Words around an allergen that do not say which one ("allergic to", "a bad reaction
# to"): blanked out before matching, so a negation cue reaches over them ("not allergic
# to penicillin") and the typo matcher never reads them as a name.
_ALLERGY_WORDS = frozenset(
    """
    allergic allergy allergies allergie alergic alergy alergies allergen allergens
    to of from by reaction reactions reacted react reacts sensitive sensitivity
    intolerant intolerance hypersensitive hypersensitivity known severe severely mild
    mildly bad badly very really some slight slightly
    """.split()
)
_ALLERGY_WORD = re.compile(r"(?<![^\W_])(?:" + "|".join(sorted(_ALLERGY_WORDS, key=len, reverse=True))
                           + r")(?![^\W_])", re.IGNORECASE)

# What a patient writes to say "no allergy" ("none", "NKDA", "not allergic to
# penicillin"): an entry with one of these and nothing recognised is not unrecognised.
_NONE_WORDS = frozenset("no not none nil nothing never without dont doesnt n/a na nkda nka nkfa".split())

_BOUNDARY = re.compile(r"[,;/+&|()\[\]{}\n\r]|(?<![^\W_])(?:and|with|plus|also|then)(?![^\W_])", re.IGNORECASE)
_NAME_KEYS: Final = ("brands", "aliases", "misspellings")


@dataclass(frozen=True)
class AllergenClass:
    """A class of allergens that rules refer to by id."""

    id: str
    label: str
    source: tuple[str, ...]


@dataclass(frozen=True)
class AllergenMatch:
    """One allergen recognised in what a patient typed."""

    typed: str  #: the words of the patient's text that matched, as typed
    name: str  #: the lexicon name it matched (name, brand, alias or misspelling)
    allergen: str  #: the allergen it stands for (the entry's ``name``)
    classes: frozenset[str]
    exact: bool


# ---------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------


def _text(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=1, error="must not be blank"), **kwargs)


class _AllergenSchema(Schema):
    name = _text(required=True)
    brands = fields.List(_text())
    aliases = fields.List(_text())
    misspellings = fields.List(_text())


class _ClassSchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$", error="must be snake_case, e.g. local_anaesthetic"))
    label = _text(required=True)
    source = fields.List(fields.String(validate=validate.Regexp(SOURCE_ID, error="must be the id of a source")),
                         required=True, validate=validate.Length(min=1, error="must list at least one source id"))
    allergens = fields.List(fields.Nested(_AllergenSchema), required=True,
                            validate=validate.Length(min=1, error="must list at least one allergen"))


class _FileSchema(Schema):
    not_allergens = fields.List(_text())
    classes = fields.List(fields.Nested(_ClassSchema), required=True)


def _names_of(entry: Mapping[str, Any]) -> Iterable[tuple[Path_, str]]:
    if isinstance(entry.get("name"), str):
        yield ("name",), entry["name"]
    for key in _NAME_KEYS:
        values = entry.get(key)
        for i, value in enumerate(values if isinstance(values, list) else []):
            if isinstance(value, str):
                yield (key, i), value


def _class_id(data: Mapping[str, Any], index: int) -> str | None:
    cls = data["classes"][index]
    return cls["id"] if isinstance(cls, dict) and isinstance(cls.get("id"), str) else None


def _content_errors(data: Mapping[str, Any], root: Located, filename: str) -> list[RuleFileError]:
    """Names that could never match, and a name listed twice or standing for two allergens."""
    errors: list[RuleFileError] = []
    owners: dict[tuple[str, ...], tuple[str, int]] = {}

    def error(path: Path_, rule_id: str | None, message: str) -> None:
        at = root.locate(path)
        errors.append(RuleFileError(filename, at.line, at.column, rule_id, message))

    for ci, cls in enumerate(data["classes"]):
        class_id = _class_id(data, ci)
        seen: set[tuple[str, ...]] = set()
        for ai, entry in enumerate(cls["allergens"]):
            allergen = normalise_name(entry["name"])
            for sub, name in _names_of(entry):
                path: Path_ = ("classes", ci, "allergens", ai, *sub)
                key = normalise_name(name)
                if _BOUNDARY.search(name):
                    error(path, class_id, f"'{name}' contains a word or character that splits a typed line, "
                                          "so it could never match; use a hyphen or a space instead")
                elif not key:
                    error(path, class_id, f"'{name}' has nothing left to match once doses and forms are removed")
                elif not set(key).isdisjoint(_ALLERGY_WORDS):
                    passed = sorted(set(key) & _ALLERGY_WORDS)[0]
                    error(path, class_id, f"'{name}' contains '{passed}', which is passed over in what patients "
                                          "type (as in 'allergic to'), so it could never match; leave it out")
                elif key in seen:
                    error(path, class_id, f"'{name}' is listed twice in class '{class_id}'")
                elif key in owners and owners[key][0] != " ".join(allergen):
                    error(path, class_id, f"'{name}' already stands for '{owners[key][0]}' (line "
                                          f"{owners[key][1]}); a name can stand for only one allergen")
                else:
                    seen.add(key)
                    owners.setdefault(key, (" ".join(allergen), root.locate(path).line))
    for i, word in enumerate(data.get("not_allergens") or []):
        if len(normalise_name(word)) != 1:
            error(("not_allergens", i), None, f"'{word}' must be a single word")
        elif normalise_name(word) in owners:
            error(("not_allergens", i), None, f"'{word}' is also a name of '{owners[normalise_name(word)][0]}'")
    return errors


def parse_allergens(text: str, filename: str, *, sources: Collection[str] | None = None) -> dict[str, Any]:
    """Parse and validate allergen lexicon text; raise RulesetInvalid listing every problem.

    With ``sources`` (the ids of the merged sources.yaml files), every class must cite ids among them.
    """
    root, duplicates = parse_yaml(text, filename)
    if root is None:
        raise RulesetInvalid([RuleFileError(filename, 0, 0, None, "the file is empty; it needs a 'classes:' list")])
    errors = [RuleFileError(filename, d.at.line, d.at.column, None,
                            f"{d.key}: duplicate key (first on line {d.first_line})") for d in duplicates]
    data = root.plain()
    try:
        _FileSchema().load(data)
    except ValidationError as invalid:
        for problem in schema_problems(invalid, root, missing="Missing data for required field."):
            where = ".".join(str(step) for step in problem.path)
            message = "unknown key" if problem.unknown_key else problem.message
            errors.append(RuleFileError(filename, problem.at.line, problem.at.column, None, f"{where}: {message}"))
        raise RulesetInvalid(errors) from None
    errors += _content_errors(data, root, filename)
    if sources is not None:
        for ci, _cls in enumerate(data["classes"]):
            node = root.locate(("classes", ci, "source"))
            for at, wrong in unknown_citations(node, sources, allow_default=False):
                errors.append(RuleFileError(filename, at.line, at.column, _class_id(data, ci), f"source: {wrong}"))
    if errors:
        raise RulesetInvalid(errors)
    assert isinstance(data, dict)  # nosec B101 # the schema accepted it, so it is a mapping
    return data


# ---------------------------------------------------------------------------
# The lexicon
# ---------------------------------------------------------------------------


class AllergenLexicon:
    """A validated allergen lexicon that recognises allergens in typed text."""

    classes: Mapping[str, AllergenClass]
    version_text: str

    def __init__(self, data: Mapping[str, Any], version_text: str):
        self.classes = MappingProxyType({
            cls["id"]: AllergenClass(cls["id"], cls["label"], tuple(cls["source"])) for cls in data["classes"]})
        self.version_text = version_text
        # The medication matcher reads "generic" where this file says "name".
        self._matcher = Lexicon({
            "not_medications": list(data.get("not_allergens") or []),
            "classes": [{"id": cls["id"], "label": cls["label"], "source": cls["source"], "medications": [
                {"generic": entry["name"], **{key: entry[key] for key in _NAME_KEYS if key in entry}}
                for entry in cls["allergens"]]} for cls in data["classes"]],
        }, version_text)

    @classmethod
    def from_text(cls, text: str, filename: str) -> AllergenLexicon:
        """Build a lexicon from YAML text; filename is used only in error messages."""
        return cls(parse_allergens(text, filename), text)

    def match(self, typed: str) -> tuple[AllergenMatch, ...]:
        """The allergens recognised in one typed answer; () when none is (or all are negated)."""
        if not typed or not isinstance(typed, str):
            return ()
        # Same length, so what matched is still found at the same place in ``typed``.
        blanked = _ALLERGY_WORD.sub(lambda found: " " * len(found.group()), typed)
        return tuple(AllergenMatch(typed[_span(typed, m.typed, blanked)], m.name, m.generic, m.classes, m.exact)
                     for m in self._matcher.match(blanked))

    @staticmethod
    def says_none(typed: str) -> bool:
        """True when the text names no allergen by itself: it is empty, or it is a negation
        ("none", "no known allergies", "NKDA", "not allergic to penicillin")."""
        words = set(normalise_name(typed or "")) - _ALLERGY_WORDS
        return not words or not words.isdisjoint(_NONE_WORDS)


def _span(typed: str, matched: str, blanked: str) -> slice:
    """Where the matched words are in the typed text (the blanked text keeps every offset)."""
    start = blanked.find(matched)
    return slice(start, start + len(matched)) if start >= 0 else slice(0, len(typed))

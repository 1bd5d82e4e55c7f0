"""Medication lexicon: turns what a patient types into medication classes.

The lexicon file (``rules/medications.yaml``) maps generic names, brands, aliases and
common misspellings to classes such as ``doac`` or ``ssri_snri``; precaution rules
refer to those class ids. This module loads and validates that file and matches free
text against it. It is part of the pure core: no Flask, no database.

Matching works in three passes over each fragment of a line, cheapest first: exact
phrase lookup, then token-by-token fuzzy matching of multi-word names, then fuzzy
matching of single words. Only tokens left over by an earlier pass reach a later one,
so a line of well-spelt names never touches rapidfuzz.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields, validate
from rapidfuzz import fuzz, process

from .errors import RuleFileError, RulesetInvalid
from .sources import SOURCE_ID, unknown_citations
from .yamlkit import Located, Path_, flatten_messages, parse_yaml, read_text

__all__ = [
    "FUZZY_CUTOFF",
    "MIN_FUZZY_LENGTH",
    "Lexicon",
    "MedicationClass",
    "MedicationMatch",
    "merge_lexicon",
    "normalise_name",
    "parse_lexicon",
]

#: rapidfuzz ``fuzz.ratio`` score a typed word needs to count as a typo of a name.
#: Chosen by measurement: one wrong letter in a 7+ letter name scores 85.7 and a
#: dropped or extra letter in a 5+ letter name at least 88.9, while none of 170
#: common medicines and supplements missing from the lexicon reach it (the closest,
#: imipramine against clomipramine, scores 81.8). The few frequent English words
#: that do reach it are listed under ``not_medications`` in the lexicon file.
FUZZY_CUTOFF = 85.0

#: Names (and words inside multi-word names) shorter than this match exactly only:
#: one typo in "ASA" or "MMF" is a different word, not a misspelling.
MIN_FUZZY_LENGTH = 5

#: A typed word shorter than this is never fuzzy-matched ("iron", "zinc", "oils").
_MIN_TYPED_FUZZY_LENGTH = 5

# Doses, units, forms and frequencies say how a medicine is taken, not which one, so
# they are dropped before matching, from typed text and lexicon names alike. Words
# that are part of real names ("pill" in "the pill", "patch", "ring", "injection")
# are deliberately absent.
_DOSE_AND_FORM_WORDS = frozenset(
    """
    mg mgs milligram milligrams mcg µg μg ug microgram micrograms g gm gram grams kg
    ml mls millilitre millilitres milliliter milliliters iu ius unit units
    tablet tablets tab tabs tabl capsule capsules cap caps softgel softgels gelcap
    gelcaps cream creams gel gels ointment ointments lotion lotions serum serums
    drop drops foam liquid syrup suspension solution sachet sachets dispersible
    chewable effervescent modified release sr mr xl xr er ec
    daily od bd bid tds tid qds qid prn nocte mane once twice thrice
    morning mornings night nights nightly weekly fortnightly monthly hourly
    """.split()
)

# Words that tell us nothing about which medicine is meant; never fuzzy-matched, so
# "leave" cannot become Aleve and "taking" cannot become anything.
_FILLER_WORDS = frozenset(
    """
    take taking takes took taken use using used uses stopped stop stopping started
    start starting since about before after during until weeks months years week
    month year days every other currently current prescribed prescription doctor
    evening occasionally sometimes needed required when pain headache headaches
    period periods medication medications medicine medicines meds supplement
    supplements vitamin vitamins none nothing also just only regular
    regularly over counter blood thinner thinners pressure cholesterol thyroid
    asthma inhaler inhalers spray sprays injection injections patch patches ring
    implant pills pill oral topical again still maybe think that this these those
    there their which while would could should above below under between
    """.split()
)

# A negation cue switches matching off for what immediately follows it ("no
# aspirin", "not taking warfarin"); only these words may stand between the cue and
# the medicine. Anything else ("no side effects from warfarin", "no longer taking
# warfarin") ends the negation: a missed medicine is worse than an extra flag.
_NEGATION_CUES = frozenset("no not none nil nothing never without dont doesnt n/a".split())
_NEGATION_GAP_WORDS = frozenset(
    """
    taking take takes taken on any using use used currently regular regularly
    prescribed the a an my other or nor medication medications medicine medicines
    meds drugs blood thinner thinners anticoagulants painkillers supplements
    vitamins i im am do ever
    """.split()
)

# Words and characters that separate medicines on one typed line. "or" is not one:
# "no warfarin or aspirin" must keep both under the negation.
_BOUNDARY_WORDS = frozenset(["and", "with", "plus", "also", "then"])
_BOUNDARY_CHARS = ",;/+&|()[]{}\n\r"

_APOSTROPHES = "'’‘ʼ`´"
_WORD_CHAR = r"[^\W_]"
_TOKEN_PATTERN = re.compile(
    # "n/a" would otherwise split on the slash.
    rf"(?<!{_WORD_CHAR})n/a(?!{_WORD_CHAR})"
    # Words start with a letter; a token that starts with a digit ("5", "400mg",
    # "0.05%") is a dose, and never matching it is cheaper than dropping it later.
    rf"|(?<!{_WORD_CHAR})[^\W\d_]{_WORD_CHAR}*(?:[{_APOSTROPHES}]{_WORD_CHAR}+)*"
    rf"|[{re.escape(_BOUNDARY_CHARS)}]",
    re.IGNORECASE,
)
_SKIPPED = _DOSE_AND_FORM_WORDS | {f"x{n}" for n in range(1, 13)}  # "x2" as in "x2 daily"
_SEPARATORS = _BOUNDARY_WORDS | frozenset(_BOUNDARY_CHARS)
_APOSTROPHE_TABLE = str.maketrans("", "", _APOSTROPHES)


@dataclass(frozen=True)
class MedicationClass:
    """A class of medicines that rules refer to by id."""

    id: str
    label: str
    source: tuple[str, ...]


@dataclass(frozen=True)
class MedicationMatch:
    """One medicine recognised in a patient's text."""

    typed: str  #: the fragment of the patient's text that matched, as typed
    name: str  #: the lexicon name it matched (generic, brand, alias or misspelling)
    generic: str  #: the generic it belongs to
    classes: frozenset[str]
    score: float  #: 100.0 for exact, rapidfuzz score otherwise
    exact: bool


@dataclass(frozen=True)
class _Entry:
    name: str
    generic: str
    classes: frozenset[str]


# A hit inside one fragment: token span [start, end), entry index, score, exact.
_Hit = tuple[int, int, int, float, bool]


def _fold(token: str) -> str:
    """Lower-case a token and strip accents and apostrophes, so "John’s" == "johns"."""
    token = token.lower()
    if not token.isascii():
        token = "".join(c for c in unicodedata.normalize("NFKD", token) if not unicodedata.combining(c))
    return token.translate(_APOSTROPHE_TABLE)


def _tokens(text: str) -> list[tuple[str, int, int]]:
    """Split text into (folded token, start, end); separators come back as ","."""
    out: list[tuple[str, int, int]] = []
    append = out.append
    # Lower-casing the whole line first is safe only for ASCII, where it never moves
    # an offset; it is also what makes the common case fast.
    ascii_only = text.isascii()
    source = text.lower() if ascii_only else text
    plain = ascii_only and "'" not in source and "`" not in source
    for m in _TOKEN_PATTERN.finditer(source):
        token = m.group()
        if not plain:
            token = token.translate(_APOSTROPHE_TABLE) if ascii_only else _fold(token)
        if token in _SKIPPED:
            continue
        start, end = m.span()
        append(("," if token in _SEPARATORS else token, start, end))
    return out


def normalise_name(name: str) -> tuple[str, ...]:
    """The tokens a lexicon name is matched by (case, accents, doses and forms removed)."""
    return tuple(t for t, _, _ in _tokens(name) if t != ",")


def _separator_in(name: str) -> str | None:
    """The first character or word in a name that would split it when typed, if any."""
    for char in _BOUNDARY_CHARS:
        if char in name:
            return char
    for word, start, end in _tokens(name):
        if word == ",":
            return name[start:end]
    return None


# ---------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------

_TEXT_ERRORS: dict[str, Any] = {"invalid": "must be text", "null": "is empty", "required": "is missing"}
_LIST_ERRORS: dict[str, Any] = {
    "invalid": "must be a list, e.g. [A, B]",
    "null": "is empty",
    "required": "is missing",
}


def _text(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.Length(min=1, error="must not be blank"),
        error_messages=_TEXT_ERRORS,
        **kwargs,
    )


def _names() -> fields.List[Any]:
    return fields.List(_text(), error_messages=_LIST_ERRORS)


class _MedicationSchema(Schema):
    error_messages = {
        "unknown": "unknown key (allowed here: generic, brands, aliases, misspellings)",
        "type": "must be a mapping with keys generic, brands, aliases, misspellings",
    }
    generic = _text(required=True)
    brands = _names()
    aliases = _names()
    misspellings = _names()


class _ClassSchema(Schema):
    error_messages = {
        "unknown": "unknown key (allowed here: id, label, source, medications)",
        "type": "must be a mapping with keys id, label, source, medications",
    }
    id = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$",
            error="must be snake_case (lower-case letters, digits and underscores), "
            "e.g. vitamin_k_antagonist",
        ),
        error_messages=_TEXT_ERRORS,
    )
    label = _text(required=True)
    source = fields.List(
        fields.String(
            validate=validate.Regexp(
                SOURCE_ID,
                error="must be the id of a source in sources.yaml, e.g. noac-table-cardiovasc-diagn-ther-2016",
            ),
            error_messages=_TEXT_ERRORS,
        ),
        required=True,
        validate=validate.Length(
            min=1,
            error="must list at least one source id from sources.yaml, e.g. [noac-table-cardiovasc-diagn-ther-2016]",
        ),
        error_messages=_LIST_ERRORS,
    )
    medications = fields.List(
        fields.Nested(_MedicationSchema),
        required=True,
        validate=validate.Length(min=1, error="must list at least one medication"),
        error_messages=_LIST_ERRORS,
    )


class _LexiconSchema(Schema):
    error_messages = {
        "unknown": "unknown key (allowed here: not_medications, classes)",
        "type": "the file must be a mapping with a 'classes:' list",
    }
    not_medications = _names()
    classes = fields.List(
        fields.Nested(_ClassSchema),
        required=True,
        validate=validate.Length(min=1, error="must list at least one class"),
        error_messages=_LIST_ERRORS,
    )


_NAME_FIELDS = ("brands", "aliases", "misspellings")
_Path = Path_


class _Located:
    """A lexicon file's tree, to turn a data path into a line and column."""

    def __init__(self, filename: str, root: Located):
        self.filename = filename
        self.root = root

    def node(self, path: _Path, *, key: bool = False) -> Located:
        """The deepest node along path (where its last key is written if key=True)."""
        return self.root.where(path, key=key)

    def error(self, path: _Path, message: str, rule_id: str | None, *, key: bool = False) -> RuleFileError:
        at = self.node(path, key=key)
        return RuleFileError(self.filename, at.line, at.column, rule_id, message)


def _rule_id(data: Any, path: _Path) -> str | None:
    """The class id (and generic) an error path falls under, for the error's rule_id."""
    if len(path) < 2 or path[0] != "classes" or not isinstance(path[1], int):
        return None
    classes = data.get("classes") if isinstance(data, dict) else None
    if not isinstance(classes, list) or path[1] >= len(classes):
        return None
    cls = classes[path[1]]
    cid = cls.get("id") if isinstance(cls, dict) else None
    class_id = cid if isinstance(cid, str) and cid else f"class #{path[1] + 1}"
    if len(path) < 4 or path[2] != "medications" or not isinstance(path[3], int):
        return class_id
    meds = cls.get("medications") if isinstance(cls, dict) else None
    med = meds[path[3]] if isinstance(meds, list) and path[3] < len(meds) else None
    generic = med.get("generic") if isinstance(med, dict) else None
    return (
        f"{class_id}/{generic}"
        if isinstance(generic, str) and generic
        else f"{class_id}/medication #{path[3] + 1}"
    )


def _describe(path: _Path) -> str:
    """How an error message names the place in the file: "brands item 2", "generic"."""
    if path and isinstance(path[-1], int) and len(path) >= 2:
        return f"{path[-2]} item {path[-1] + 1}"
    return str(path[-1]) if path else ""


def _with_place(path: _Path, message: str) -> str:
    place = _describe(path)
    return f"{place}: {message}" if place else message


def _schema_errors(data: Any, located: _Located) -> list[RuleFileError]:
    try:
        _LexiconSchema().load(data)
    except ValidationError as exc:
        errors = []
        for path, message in flatten_messages(exc.messages):
            text = _with_place(path, message)
            # An unknown key is best shown at the key itself, not at its value.
            at_key = message.startswith("unknown key")
            errors.append(located.error(path, text, _rule_id(data, path), key=at_key))
        return errors
    return []


def _names_of(med: dict[str, Any]) -> Iterable[tuple[_Path, str]]:
    """Every well-typed name of one medication entry, with its path inside the entry."""
    generic = med.get("generic")
    if isinstance(generic, str):
        yield ("generic",), generic
    for field_name in _NAME_FIELDS:
        values = med.get(field_name)
        if isinstance(values, list):
            for i, value in enumerate(values):
                if isinstance(value, str):
                    yield (field_name, i), value


def _content_errors(data: Any, located: _Located) -> list[RuleFileError]:
    """Checks marshmallow cannot express: duplicates, and names that could never match.

    Runs on whatever parts of the file are well-typed, so a clinic sees these problems
    in the same report as the structural ones.
    """
    errors: list[RuleFileError] = []
    classes = data.get("classes") if isinstance(data, dict) else None
    if not isinstance(classes, list):
        return errors
    class_lines: dict[str, int] = {}
    # normalised name -> (normalised generic, generic as written, class id, line)
    owners: dict[tuple[str, ...], tuple[tuple[str, ...], str, str, int]] = {}
    for ci, cls in enumerate(classes):
        if not isinstance(cls, dict):
            continue
        cid = cls.get("id")
        if isinstance(cid, str):
            line = located.node(("classes", ci, "id")).line
            if cid in class_lines:
                errors.append(
                    located.error(
                        ("classes", ci, "id"),
                        f"id: duplicate class id '{cid}' (first on line {class_lines[cid]})",
                        cid,
                    )
                )
            else:
                class_lines[cid] = line
        class_id = cid if isinstance(cid, str) else f"class #{ci + 1}"
        meds = cls.get("medications")
        if not isinstance(meds, list):
            continue
        in_class: dict[tuple[str, ...], int] = {}
        for mi, med in enumerate(meds):
            if not isinstance(med, dict):
                continue
            generic = med.get("generic")
            generic_key = normalise_name(generic) if isinstance(generic, str) else None
            for sub, name in _names_of(med):
                path: _Path = ("classes", ci, "medications", mi, *sub)
                where = _describe(path)
                rule_id = _rule_id(data, path)
                line = located.node(path).line
                separator = _separator_in(name)
                key = normalise_name(name)
                if separator is not None:
                    errors.append(
                        located.error(
                            path,
                            f"{where}: '{name}' contains '{separator}', which splits a typed line, "
                            "so it could never match; use a hyphen or a space instead",
                            rule_id,
                        )
                    )
                    continue
                if not key:
                    errors.append(
                        located.error(
                            path,
                            f"{where}: '{name}' has nothing left to match once doses and forms are removed",
                            rule_id,
                        )
                    )
                    continue
                if key in in_class:
                    errors.append(
                        located.error(
                            path,
                            f"{where}: '{name}' is listed twice in class '{class_id}' "
                            f"(first on line {in_class[key]}); list a name once per class",
                            rule_id,
                        )
                    )
                    continue
                in_class[key] = line
                if generic_key is None or not isinstance(generic, str):
                    continue
                owner = owners.get(key)
                if owner is None:
                    owners[key] = (generic_key, generic, class_id, line)
                elif owner[0] != generic_key:
                    errors.append(
                        located.error(
                            path,
                            f"{where}: '{name}' already stands for '{owner[1]}' in class '{owner[2]}' "
                            f"(line {owner[3]}); a name can stand for only one generic",
                            rule_id,
                        )
                    )
    words = data.get("not_medications")
    for i, word in enumerate(words if isinstance(words, list) else []):
        if not isinstance(word, str):
            continue
        path = ("not_medications", i)
        key = normalise_name(word)
        if len(key) != 1 or _separator_in(word) is not None:
            errors.append(located.error(path, f"{_describe(path)}: '{word}' must be a single word", None))
        elif key in owners:
            owner = owners[key]
            errors.append(
                located.error(
                    path,
                    f"{_describe(path)}: '{word}' is also a name of '{owner[1]}' in class '{owner[2]}' "
                    f"(line {owner[3]}); remove it from one of the two",
                    None,
                )
            )
    return errors


def _syntax_wording(error: yaml.MarkedYAMLError) -> tuple[Any, str]:
    """How a lexicon file words malformed YAML (with where its cause began)."""
    mark = error.problem_mark or error.context_mark
    message = f"not valid YAML: {error.problem or error.context}"
    if error.problem and error.context and error.context_mark:
        # The problem is often found far from its cause (an unclosed quote is
        # noticed at the end of the file), so say where the cause began too.
        message += f" ({error.context} started on line {error.context_mark.line + 1})"
    return mark, message


def _citation_errors(data: Any, located: _Located, sources: Collection[str]) -> list[RuleFileError]:
    """Each class's ``source`` ids that are not in ``sources`` (rule-default is not a document here)."""
    errors: list[RuleFileError] = []
    classes = data.get("classes") if isinstance(data, dict) else None
    for ci, cls in enumerate(classes if isinstance(classes, list) else []):
        if not isinstance(cls, dict) or "source" not in cls:
            continue
        node = located.node(("classes", ci, "source"))
        for at, problem in unknown_citations(node, sources, allow_default=False):
            errors.append(RuleFileError(located.filename, at.line, at.column, _rule_id(data, ("classes", ci)),
                                        f"source: {problem}"))
    return errors


def parse_lexicon(text: str, filename: str, *, sources: Collection[str] | None = None) -> dict[str, Any]:
    """Parse and validate lexicon text; raise RulesetInvalid listing every problem.

    With ``sources`` (the ids of the merged sources.yaml files), every class must cite ids among them.
    """
    root, duplicates = parse_yaml(text, filename, wording=_syntax_wording, keep_last=True)
    if root is None:
        raise RulesetInvalid([RuleFileError(filename, 0, 0, None, "the file is empty; it needs a 'classes:' list")])
    data = root.plain()
    located = _Located(filename, root)
    # Repeated keys in one mapping: YAML silently keeps the last, hiding the first.
    errors = [
        RuleFileError(filename, d.at.line, d.at.column, _rule_id(data, (*d.path, d.key)),
                      f"{d.key}: duplicate key (first on line {d.first_line}); YAML would keep only this one")
        for d in duplicates
    ]
    errors += _schema_errors(data, located)
    errors += _content_errors(data, located)
    if sources is not None:
        errors += _citation_errors(data, located, sources)
    if errors:
        raise RulesetInvalid(errors)
    assert isinstance(data, dict)  # nosec B101 # the schema accepted it, so it is a mapping
    return data


# ---------------------------------------------------------------------------
# The lexicon and its matcher
# ---------------------------------------------------------------------------


class Lexicon:
    """A validated medication lexicon that recognises medicines in typed text."""

    classes: Mapping[str, MedicationClass]
    version_text: str

    def __init__(self, data: Mapping[str, Any], version_text: str):
        classes: dict[str, MedicationClass] = {}
        generic_classes: dict[tuple[str, ...], set[str]] = {}
        generic_display: dict[tuple[str, ...], str] = {}
        name_generic: dict[tuple[str, ...], tuple[str, tuple[str, ...]]] = {}
        # Misspellings match exactly only: fuzzy matching around a typo drifts onto
        # ordinary words ("differen" for Differin also catches "different").
        fuzzy_targets: set[tuple[str, ...]] = set()
        for cls in data["classes"]:
            classes[cls["id"]] = MedicationClass(cls["id"], cls["label"], tuple(cls["source"]))
            for med in cls["medications"]:
                gkey = normalise_name(med["generic"])
                generic_display.setdefault(gkey, med["generic"])
                # Classes belong to the medicine, not to one spelling of it: a brand
                # listed under one class still carries every class of its generic.
                generic_classes.setdefault(gkey, set()).add(cls["id"])
                for sub, name in _names_of(med):
                    key = normalise_name(name)
                    name_generic.setdefault(key, (name, gkey))
                    if sub[0] != "misspellings":
                        fuzzy_targets.add(key)
        self.classes = MappingProxyType(classes)
        self.version_text = version_text

        self._entries: list[_Entry] = []
        self._exact: dict[tuple[str, ...], int] = {}
        for key, (name, gkey) in name_generic.items():
            self._exact[key] = len(self._entries)
            self._entries.append(_Entry(name, generic_display[gkey], frozenset(generic_classes[gkey])))
        self._longest = max(len(k) for k in self._exact)
        self._phrase_starts = frozenset(k[0] for k in self._exact if len(k) > 1)

        # Single-word names long enough to be misspelt, for rapidfuzz.
        self._fuzzy_words = [k[0] for k in fuzzy_targets if len(k) == 1 and len(k[0]) >= MIN_FUZZY_LENGTH]
        self._fuzzy_words.sort()  # extractOne keeps the first of equal scores: make that stable
        self._not_medications = frozenset(
            key[0] for word in data.get("not_medications") or () if len(key := normalise_name(word)) == 1
        )
        # Multi-word names by length, indexed by their short words (which must match
        # exactly), so a window of typed words is compared with only a few names.
        self._phrases_by_word: dict[tuple[int, int, str], list[tuple[str, ...]]] = {}
        self._phrases_unindexed: dict[int, list[tuple[str, ...]]] = {}
        for key in sorted(fuzzy_targets):
            if len(key) < 2:
                continue
            short = [(i, w) for i, w in enumerate(key) if len(w) < MIN_FUZZY_LENGTH]
            if not short:
                self._phrases_unindexed.setdefault(len(key), []).append(key)
            for i, w in short:
                for form in (w, w + "s"):
                    self._phrases_by_word.setdefault((len(key), i, form), []).append(key)

        # Bound per instance so a reloaded lexicon never serves another's results.
        self._fragment_hits = lru_cache(maxsize=65536)(self._fragment_hits_uncached)
        self._match_line = lru_cache(maxsize=16384)(self._match_line_uncached)

    @classmethod
    def load(cls, path: str | Path) -> Lexicon:
        """Load and validate a lexicon file; raise RulesetInvalid listing every problem."""
        path = Path(path)
        return cls.from_text(read_text(path), str(path))

    @classmethod
    def from_text(cls, text: str, filename: str) -> Lexicon:
        """Build a lexicon from YAML text; filename is used only in error messages."""
        return cls(parse_lexicon(text, filename), text)

    @property
    def names(self) -> tuple[tuple[str, ...], ...]:
        """Every distinct name the lexicon matches, as normalised tokens."""
        return tuple(self._exact)

    def match(self, typed: str) -> list[MedicationMatch]:
        """The medicines recognised in one typed answer; [] when nothing is recognised."""
        if not typed or not isinstance(typed, str):
            return []
        return list(self._match_line(typed))

    # -- internals ----------------------------------------------------------

    def _match_line_uncached(self, text: str) -> tuple[MedicationMatch, ...]:
        found: list[MedicationMatch] = []
        seen_generics: set[str] = set()
        tokens = _tokens(text)
        tokens.append((",", len(text), len(text)))  # closes the last fragment
        first = 0
        for end, (word, _, _) in enumerate(tokens):
            if word != ",":
                continue
            if end > first:
                fragment = tokens[first:end]
                for i, j, entry_index, score, exact in self._fragment_hits(tuple([t[0] for t in fragment])):
                    entry = self._entries[entry_index]
                    # One medicine named twice ("Eliquis (apixaban)") is one match.
                    if entry.generic in seen_generics:
                        continue
                    seen_generics.add(entry.generic)
                    typed = text[fragment[i][1] : fragment[j - 1][2]]
                    found.append(
                        MedicationMatch(typed, entry.name, entry.generic, entry.classes, score, exact)
                    )
            first = end + 1
        return tuple(found)

    def _fragment_hits_uncached(self, words: tuple[str, ...]) -> tuple[_Hit, ...]:
        n = len(words)
        taken = [False] * n
        hits: list[_Hit] = []

        # Pass 1: exact names, longest first at each position.
        i = 0
        while i < n:
            longest = min(self._longest, n - i) if words[i] in self._phrase_starts else 1
            for size in range(longest, 0, -1):
                entry_index = self._exact.get(words[i : i + size])
                if entry_index is not None:
                    hits.append((i, i + size, entry_index, 100.0, True))
                    for j in range(i, i + size):
                        taken[j] = True
                    i += size
                    break
            else:
                i += 1

        if not all(taken):
            self._fuzzy_phrases(words, taken, hits)
            self._fuzzy_words_pass(words, taken, hits)
        hits.sort()
        return tuple(self._drop_negated(words, hits))

    def _fuzzy_phrases(self, words: tuple[str, ...], taken: list[bool], hits: list[_Hit]) -> None:
        """Pass 2: multi-word names where each long word may be misspelt."""
        n = len(words)
        for size in range(min(self._longest, n), 1, -1):
            for i in range(n - size + 1):
                if any(taken[i : i + size]):
                    continue
                window = words[i : i + size]
                candidates: list[tuple[str, ...]] = []
                for j, w in enumerate(window):
                    candidates += self._phrases_by_word.get((size, j, w), ())
                # Names made only of long words can match only long typed words.
                if all(len(w) >= _MIN_TYPED_FUZZY_LENGTH for w in window):
                    candidates += self._phrases_unindexed.get(size, ())
                for name in candidates:
                    if all(_word_matches(w, t) for w, t in zip(window, name, strict=True)):
                        score = fuzz.ratio(" ".join(window), " ".join(name))
                        hits.append((i, i + size, self._exact[name], score, False))
                        for j in range(i, i + size):
                            taken[j] = True
                        break

    def _fuzzy_words_pass(self, words: tuple[str, ...], taken: list[bool], hits: list[_Hit]) -> None:
        """Pass 3: single words that look like a misspelt single-word name."""
        for i, word in enumerate(words):
            if (
                taken[i]
                or len(word) < _MIN_TYPED_FUZZY_LENGTH
                or not word.isalpha()
                or word in _FILLER_WORDS
                or word in self._not_medications
            ):
                continue
            best = process.extractOne(word, self._fuzzy_words, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
            if best is not None:
                hits.append((i, i + 1, self._exact[(best[0],)], float(best[1]), False))
                taken[i] = True

    @staticmethod
    def _drop_negated(words: tuple[str, ...], hits: list[_Hit]) -> list[_Hit]:
        """Remove hits negated by a cue before them ("no aspirin") or "-free" after them."""
        kept: list[_Hit] = []
        starts = {h[0]: h for h in hits}
        negated = False
        i = 0
        while i < len(words):
            hit = starts.get(i)
            if hit is not None:
                free = hit[1] < len(words) and words[hit[1]] == "free"
                if not negated and not free:
                    kept.append(hit)
                i = hit[1]
                continue
            word = words[i]
            if word in _NEGATION_CUES:
                negated = True
            elif word not in _NEGATION_GAP_WORDS:
                negated = False
            i += 1
        return kept


def _word_matches(typed: str, name_word: str) -> bool:
    """Whether one typed word stands for one word of a multi-word name."""
    if typed == name_word:
        return True
    if len(name_word) < MIN_FUZZY_LENGTH or len(typed) < _MIN_TYPED_FUZZY_LENGTH:
        # Short words must be exact, but a plural is still the same word ("fish oils").
        return typed == name_word + "s"
    return fuzz.ratio(typed, name_word, score_cutoff=FUZZY_CUTOFF) > 0


def merge_lexicon(merged: dict[str, Any], extra: Mapping[str, Any], *, members: str) -> None:
    """A clinic lexicon's classes into the earlier ones (the medication and the allergen lexicon alike):
    ``members`` (the names of each class) added to a known class, new classes added, other lists extended."""
    by_id = {cls["id"]: cls for cls in merged["classes"]}
    for cls in extra.get("classes") or []:
        known = by_id.get(cls["id"])
        if known is None:
            merged["classes"].append(cls)
            by_id[cls["id"]] = cls
        else:
            known[members] = list(known[members]) + list(cls[members])
    for key, value in extra.items():
        if key != "classes" and isinstance(value, list):
            merged[key] = list(merged.get(key) or []) + [v for v in value if v not in (merged.get(key) or [])]

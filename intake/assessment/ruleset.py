"""Loading a ruleset: rule files from layers (in memory or folders), checked, compiled, versioned.

A **layer** is one rules folder as data: a name and a mapping of file name → text
(``precautions/skin.yaml`` → its YAML). ``load_layers(layers)`` loads the layers in order,
defaults first and the clinic's last, and returns a :class:`Ruleset`, or raises
:class:`~intake.assessment.errors.RulesetInvalid` listing every problem of every file
(each names ``layer name/file``, line, column, rule id and what is wrong)::

    ruleset = load_layers([Layer.from_folder("rules"),
                           Layer("clinic", {"precautions/ours.yaml": text, "disabled.yaml": "- keloids\n"})])

``Layer.from_folder(folder)`` reads a folder into a layer (its name is the folder's
path, so errors name the files on disk); ``load_ruleset(folder_or_folders)`` is
``load_layers`` of those folders. Database versions of a clinic's rules load from
memory: nothing is written to disk.

What a layer may hold, and what a later layer does to the earlier ones:

- ``sources.yaml``: the bibliography (:mod:`intake.assessment.sources`); a later one adds
  its entries, and an entry with an id already known replaces that one. Every ``source``
  a rule, protocol, adjustment or medication class cites must be an id of the merged
  entries (rules and protocols may also cite ``rule-default``);
- ``medications.yaml``: the lexicon (required in the first layer); a later one adds its
  classes, and names to the classes already known;
- ``allergens.yaml``: the allergen lexicon (:mod:`intake.assessment.allergens`), merged the
  same way; without one in any layer no allergen is recognised and allergen classes are not checked;
- ``precautions/*.yaml``: the rules; a later layer's rule whose id an earlier layer has
  replaces it only when marked ``override: true`` (else it is a duplicate); others add;
- ``disabled.yaml`` (later layers only): a list of rule ids to switch off;
- ``protocols.yaml``: the session-plan protocols; the last layer that has one wins whole;
- ``tests/*.yaml``: rule tests (read by :mod:`intake.assessment.ruletests`; a later
  layer's file replaces an earlier one of the same name).

The ruleset's version is the sha256 of every file it was loaded from (path and bytes,
in path order; a later layer's paths are prefixed ``layer<N>/``), so the same files give
the same version whether they came from disk or from memory.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Final, TypeVar

from .allergens import ALLERGENS_FILE, AllergenLexicon, parse_allergens
from .errors import RuleFileError, RulesetInvalid
from .facts import Catalogue, suggestion
from .flags import RuleChecks
from .medications import Lexicon, merge_lexicon, parse_lexicon
from .plan.build import Protocols
from .plan.load import parse_protocols
from .rules import Rule, parse_rules
from .sources import SOURCES_FILE, Source, parse_sources
from .yamlkit import load_located

LEXICON_FILE: Final = "medications.yaml"
PROTOCOLS_FILE: Final = "protocols.yaml"
PRECAUTIONS_DIR: Final = "precautions"
TESTS_DIR: Final = "tests"
#: In a later layer: a list of rule ids from earlier layers to switch off.
DISABLED_FILE: Final = "disabled.yaml"
#: The files of a layer the loaders read (relative paths).
LAYER_FILE: Final = re.compile(
    r"^(?:(?:medications|allergens|protocols|disabled|sources)\.yaml|(?:precautions|tests)/[^/]+\.yaml)$")


@dataclass(frozen=True)
class Layer:
    """One rules folder as data: a name (how errors and origins call it) and its files by relative path."""

    name: str
    #: Relative path (``precautions/skin.yaml``) → text (bytes are decoded as UTF-8 on load).
    files: Mapping[str, str | bytes]
    #: Files that could not be read from a folder, with why: each is an error on load.
    unreadable: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_folder(cls, folder: str | Path) -> Layer:
        """The rule files of a folder (sources, lexicon, protocols, disabled list, precautions, tests), named by
        its path."""
        root = Path(folder)
        files: dict[str, str | bytes] = {}
        unreadable: dict[str, str] = {}
        candidates = [root / SOURCES_FILE, root / LEXICON_FILE, root / ALLERGENS_FILE, root / PROTOCOLS_FILE,
                      root / DISABLED_FILE]
        for directory in (PRECAUTIONS_DIR, TESTS_DIR):
            if (root / directory).is_dir():
                candidates.extend(sorted((root / directory).glob("*.yaml")))
        for path in candidates:
            relative = path.relative_to(root).as_posix()
            if not path.exists():
                continue
            try:
                files[relative] = path.read_bytes()
            except OSError as error:
                unreadable[relative] = f"cannot read the file: {error}"
        return cls(str(root), files, unreadable)

    def display(self, relative: str) -> str:
        """How errors name one of its files: ``rules/precautions/skin.yaml``, ``clinic/disabled.yaml``."""
        return f"{self.name}/{relative}"

    def has(self, relative: str) -> bool:
        """True when the layer holds that file (readable or not)."""
        return relative in self.files or relative in self.unreadable

    def under(self, directory: str) -> list[str]:
        """The ``directory/*.yaml`` files of the layer, sorted."""
        prefix = directory + "/"
        names = set(self.files) | set(self.unreadable)
        return sorted(name for name in names
                      if name.startswith(prefix) and name.endswith(".yaml") and "/" not in name[len(prefix):])


@dataclass(frozen=True)
class LayerNote:
    """What a later layer did to the rules of the earlier ones (see load_layers)."""

    action: str  #: "override", "override-unknown" (an override of an id no earlier layer has), "disable"
    rule_id: str
    folder: str  #: the layer's name
    file: str
    line: int
    #: For "override": where the replaced rule was (layer/file:line).
    replaced: str = ""


class Ruleset:
    """Loaded, checked and compiled rules, with the lexicon, protocols and sources they use."""

    def __init__(
        self,
        rules: Iterable[Rule],
        lexicon: Lexicon | None,
        catalogue: Catalogue,
        version: str,
        files: Iterable[str] = (),
        *,
        layers: Sequence[Layer] = (),
        protocols: Protocols | None = None,
        notes: Iterable[LayerNote] = (),
        sources: Mapping[str, Source] | None = None,
    ):
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.lexicon = lexicon
        self.catalogue = catalogue
        #: sha256 of every file read (relative path and bytes), in path order.
        self.version = version
        #: The files read (the first layer's by relative path, later ones as layer<N>/path).
        self.files: tuple[str, ...] = tuple(files)
        #: The layers it was loaded from, defaults first, clinic last.
        self.layers: tuple[Layer, ...] = tuple(layers)
        #: The session-plan protocols, or None (no protocols.yaml).
        self.protocols = protocols
        #: Overrides and disabled rules of the later layers, in the order applied.
        self.notes: tuple[LayerNote, ...] = tuple(notes)
        #: The merged sources.yaml entries by id (defaults first; a later layer's entry replaces one of
        #: the same id): what every ``source`` of the rules, protocols and lexicon cites.
        self.sources: Mapping[str, Source] = MappingProxyType(dict(sources or {}))
        self._by_id = {rule.id: rule for rule in self.rules}
        #: The rules as the engine runs them (engine.assess_facts): the fast path and the flag memos.
        self.checks = RuleChecks(self.rules, catalogue)

    @property
    def roots(self) -> tuple[Path, ...]:
        """Every layer's name as a path (a folder for layers read from disk), defaults first."""
        return tuple(Path(layer.name) for layer in self.layers) or (Path("."),)

    @property
    def root(self) -> Path:
        """The last layer's name as a path (the clinic's folder, or the only one)."""
        return self.roots[-1]

    def __repr__(self) -> str:
        return f"<Ruleset {len(self.rules)} rules from {self.root} version {self.version[:12]}>"

    def rule(self, rule_id: str) -> Rule:
        """The rule called ``rule_id``; KeyError if there is none."""
        return self._by_id[rule_id]

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._by_id

    def with_rules(self, rules: Iterable[Rule]) -> Ruleset:
        """The same lexicon, catalogue, version, layers and sources with other rules (and no protocols)."""
        return Ruleset(rules, self.lexicon, self.catalogue, self.version, self.files, layers=self.layers,
                       notes=self.notes, sources=self.sources)


class _Reading:
    """Every file read so far (for the version) and every error, across the layers of one load."""

    def __init__(self) -> None:
        self.errors: list[RuleFileError] = []
        self.contents: dict[str, bytes] = {}

    def read(self, layer: Layer, index: int, relative: str) -> str | None:
        """The text of one file of a layer (None, with an error, when it cannot be read)."""
        problem = layer.unreadable.get(relative)
        raw = layer.files.get(relative)
        if problem is None and raw is None:
            return None
        if problem is None and raw is not None:
            try:
                text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            except UnicodeDecodeError as error:
                problem = f"cannot read the file: {error}"
        if problem is not None or raw is None:
            self.errors.append(RuleFileError(layer.display(relative), 0, 0, None, problem or "cannot read the file"))
            return None
        self.contents[(f"layer{index}/" if index else "") + relative] = (
            raw if isinstance(raw, bytes) else raw.encode("utf-8"))
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
    """Load the rule files of one folder, or of layered folders (defaults first, clinic last).

    ``load_layers`` of ``Layer.from_folder`` of each; a folder that does not exist is an error.
    """
    roots = rule_folders(root)
    if not roots:
        raise RulesetInvalid([RuleFileError("RULES_DIRS", 0, 0, None, "no rules folder given")])
    missing = [RuleFileError(str(folder), 0, 0, None, "no such rules folder") for folder in roots
               if not folder.is_dir()]
    if missing:
        raise RulesetInvalid(missing)
    return load_layers([Layer.from_folder(folder) for folder in roots])


def load_layers(layers: Sequence[Layer]) -> Ruleset:
    """Load layered rule files (defaults first, clinic last); RulesetInvalid lists every problem of every file."""
    if not layers:
        raise RulesetInvalid([RuleFileError("RULES_DIRS", 0, 0, None, "no rules folder given")])
    reading = _Reading()
    sources = _load_sources(layers, reading)
    # When a sources file failed, what cites it is not checked: one mistake there would
    # otherwise make every citation of the ruleset an error too.
    known = None if sources is None else frozenset(sources)
    lexicon = _load_lexicon(layers, reading, known)
    catalogue = Catalogue(None if lexicon is None else lexicon.classes.keys(),
                          allergens=_load_allergens(layers, reading, known))
    notes: list[LayerNote] = []
    rules = _load_precautions(layers, reading, catalogue, notes, known)
    protocols = _load_protocols(layers, reading, catalogue, [rule.id for rule in rules], known)
    if reading.errors:
        raise RulesetInvalid(reading.errors)
    return Ruleset(rules, lexicon, catalogue, reading.version(), sorted(reading.contents), layers=layers,
                   protocols=protocols, notes=notes, sources=sources)


T = TypeVar("T")


def _each_layer(layers: Sequence[Layer], reading: _Reading, name: str,
                parse: Callable[[str, str], T]) -> list[tuple[str, T]] | None:
    """(text, parsed) of every layer's ``name`` file, defaults first; None when one could not be
    read or parsed (its errors are in ``reading``)."""
    parsed: list[tuple[str, T]] = []
    failed = False
    for index, layer in enumerate(layers):
        if not layer.has(name):
            continue
        text = reading.read(layer, index, name)
        if text is None:
            failed = True
            continue
        try:
            parsed.append((text, parse(text, layer.display(name))))
        except RulesetInvalid as invalid:
            reading.errors.extend(invalid.errors)
            failed = True
    return None if failed else parsed


def _load_sources(layers: Sequence[Layer], reading: _Reading) -> dict[str, Source] | None:
    """Every layer's sources.yaml merged, defaults first (a later entry replaces one of the same id);
    None when one of them has errors (they are in ``reading``)."""
    parsed = _each_layer(layers, reading, SOURCES_FILE, parse_sources)
    if parsed is None:
        return None
    merged: dict[str, Source] = {}
    for _text, sources in parsed:
        merged.update(sources)
    return merged


def _load_lexicon(layers: Sequence[Layer], reading: _Reading, sources: frozenset[str] | None) -> Lexicon | None:
    if not layers[0].has(LEXICON_FILE):
        reading.errors.append(RuleFileError(layers[0].display(LEXICON_FILE), 0, 0, None,
                                            "the medication lexicon is missing"))
        return None
    parsed = _each_layer(layers, reading, LEXICON_FILE,
                         lambda text, display: parse_lexicon(text, display, sources=sources))
    if not parsed:
        return None
    (first_text, merged), *clinic = parsed  # the first layer's, checked above
    for _text, data in clinic:
        merge_lexicon(merged, data, members="medications")
    if not merged:
        return None
    texts = [text for text, _data in parsed]
    return Lexicon(merged, first_text if len(texts) == 1 else "\n".join(texts))


def _load_allergens(layers: Sequence[Layer], reading: _Reading,
                    sources: frozenset[str] | None) -> AllergenLexicon | None:
    """Every layer's allergens.yaml merged, defaults first; None when there is none or one has errors."""
    parsed = _each_layer(layers, reading, ALLERGENS_FILE,
                         lambda text, display: parse_allergens(text, display, sources=sources))
    if not parsed:
        return None
    (first_text, merged), *clinic = parsed
    for _text, data in clinic:
        merge_lexicon(merged, data, members="allergens")
    return AllergenLexicon(merged, "\n".join(text for text, _data in parsed))


def _load_precautions(
    layers: Sequence[Layer], reading: _Reading, catalogue: Catalogue, notes: list[LayerNote],
    sources: frozenset[str] | None,
) -> list[Rule]:
    effective: dict[str, Rule] = {}
    where: dict[str, str] = {}
    for index, layer in enumerate(layers):
        relatives = layer.under(PRECAUTIONS_DIR)
        if not relatives and index == 0:
            reading.errors.append(RuleFileError(layer.display(PRECAUTIONS_DIR), 0, 0, None,
                                                "no rule files (precautions/*.yaml)"))
        seen_here: dict[str, str] = {}
        for relative in relatives:
            text = reading.read(layer, index, relative)
            if text is None:
                continue
            display = layer.display(relative)
            for rule, id_node in parse_rules(text, relative, display, catalogue, reading.errors, sources=sources):
                here = f"{display}:{id_node.line}"
                rule = replace(rule, folder=layer.name)
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
                    notes.append(LayerNote("override", rule.id, layer.name, relative, rule.line, where[rule.id]))
                elif rule.override:
                    notes.append(LayerNote("override-unknown", rule.id, layer.name, relative, rule.line))
                effective[rule.id] = rule
                where[rule.id] = here
        if index and layer.has(DISABLED_FILE):
            _apply_disabled(layer, index, reading, effective, notes)
    return list(effective.values())


def _apply_disabled(
    layer: Layer, index: int, reading: _Reading, effective: dict[str, Rule], notes: list[LayerNote]
) -> None:
    text = reading.read(layer, index, DISABLED_FILE)
    if text is None:
        return
    display = layer.display(DISABLED_FILE)
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
            notes.append(LayerNote("disable", rule_id, layer.name, DISABLED_FILE, item.line))


def _load_protocols(
    layers: Sequence[Layer], reading: _Reading, catalogue: Catalogue, rule_ids: list[str],
    sources: frozenset[str] | None,
) -> Protocols | None:
    """The protocols of the last layer that has a protocols.yaml (a later one replaces it whole)."""
    having = [index for index, layer in enumerate(layers) if layer.has(PROTOCOLS_FILE)]
    if not having:
        return None
    index = having[-1]
    layer = layers[index]
    text = reading.read(layer, index, PROTOCOLS_FILE)
    if text is None:
        return None
    try:
        return parse_protocols(text, layer.display(PROTOCOLS_FILE), catalogue, rule_ids=rule_ids, sources=sources)
    except RulesetInvalid as invalid:
        reading.errors.extend(invalid.errors)
        return None

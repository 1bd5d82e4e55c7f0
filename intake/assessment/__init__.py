"""The assessment core: rule files in, flags, outcome and plan out. No Flask, no database.

``load_layers(layers)`` reads and checks every rule file of layered rule folders given as
data (:class:`Layer`: a name and a mapping of file name → text), raising
:class:`RulesetInvalid` with every problem; ``load_ruleset(folder_or_folders)`` does the
same from folders on disk. ``assess(answers, ruleset, on)`` returns the
:class:`Assessment` of one intake. See docs/rules.md for the rule language and the
layering, and docs/architecture.md for the modules:

- ``yamlkit``: the YAML loading kit of every rule file (positions, limits, schema errors);
- ``facts``, ``medications``, ``allergens``: the facts rules read, and the medication and
  allergen lexicons;
- ``conditions``: the one condition compiler and evaluator (with its trace);
  ``fastpath``: the one fast path, tested equal to it;
- ``sources``: the bibliography (sources.yaml) that rules, protocols and medication
  classes cite by id;
- ``rules``, ``ruleset``: precaution rule files, and loading layers into a Ruleset;
- ``flags``, ``engine``: building flags, and assessing an intake;
- ``plan``: the session plan (model, building, loading);
- ``ruletests``, ``lint``, ``preview``, ``explain``, ``calendar``: what the CLI and the
  admin pages offer on top.
"""

from __future__ import annotations

from .dates import english_date
from .engine import assess, assess_facts
from .errors import RuleFileError, RulesetInvalid
from .facts import MISSING, Catalogue, Facts, derive_facts
from .model import OUTCOMES, SEVERITIES, Assessment, Flag, Instruction, Trigger
from .rules import Rule
from .ruleset import Layer, LayerNote, Ruleset, load_layers, load_ruleset, rule_folders
from .sources import Source

__all__ = [
    "MISSING",
    "OUTCOMES",
    "SEVERITIES",
    "Assessment",
    "Catalogue",
    "Facts",
    "Flag",
    "Instruction",
    "Layer",
    "LayerNote",
    "Rule",
    "RuleFileError",
    "Ruleset",
    "RulesetInvalid",
    "Source",
    "Trigger",
    "assess",
    "assess_facts",
    "derive_facts",
    "english_date",
    "load_layers",
    "load_ruleset",
    "rule_folders",
]

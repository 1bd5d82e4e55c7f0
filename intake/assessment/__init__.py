"""The assessment core: rule files in, flags, outcome and plan out. No Flask, no database.

``load_ruleset(folder)`` reads and checks every rule file (raising
:class:`RulesetInvalid` with every problem); ``assess(answers, ruleset, on)`` returns
the :class:`Assessment` of one intake. See docs/rules.md for the rule language.
"""

from __future__ import annotations

from .errors import RuleFileError, RulesetInvalid
from .facts import MISSING, Catalogue, Facts, derive_facts
from .model import OUTCOMES, SEVERITIES, Assessment, Flag, Instruction, Trigger
from .rules import LayerNote, Rule, Ruleset, assess, assess_facts, english_date, load_ruleset, rule_folders

__all__ = [
    "MISSING",
    "OUTCOMES",
    "SEVERITIES",
    "Assessment",
    "Catalogue",
    "Facts",
    "Flag",
    "Instruction",
    "LayerNote",
    "Rule",
    "RuleFileError",
    "Ruleset",
    "RulesetInvalid",
    "Trigger",
    "assess",
    "assess_facts",
    "derive_facts",
    "english_date",
    "load_ruleset",
    "rule_folders",
]

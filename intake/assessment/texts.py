"""The texts of a ruleset a patient reads: what is translated for them, and what lint checks.

A patient reads a rule's ``instruction.text`` (on the status page, and as a reminder in the
.ics) and, of the session-plan protocols, each ``label``, ``downtime`` and ``after_effects``
line. A rule's ``message``, a protocol's counselling and an adjustment's notes are the
practitioner's, and stay in the clinic's language. The same fields are extracted into the
gettext catalogs by intake.rulesets.extract (``pybabel extract``, through babel.cfg).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from .ruleset import Ruleset

#: The fields a patient reads, by where they are: a precaution rule's and a protocol's.
RULE_FIELDS: Final = ("instruction.text",)
PROTOCOL_FIELDS: Final = ("label", "downtime", "after_effects")


@dataclass(frozen=True)
class PatientText:
    """One text a patient may read, and where it was written."""

    text: str
    #: "instruction.text" of rule ``owner``, or "label"/"downtime"/"after_effects" of protocol ``owner``.
    field: str
    owner: str
    file: str = ""
    line: int = 0


def patient_texts(ruleset: Ruleset) -> list[PatientText]:
    """Every patient-facing text of ``ruleset``, in rule then protocol order, each once."""
    found: list[PatientText] = []
    for rule in ruleset.rules:
        if rule.instruction is not None and rule.instruction.text:
            where = f"{rule.folder}/{rule.file}" if rule.folder else rule.file
            found.append(PatientText(rule.instruction.text, "instruction.text", rule.id, where, rule.line))
    if ruleset.protocols is not None:
        for protocol in ruleset.protocols.protocols:
            for field, texts in (("label", (protocol.label,)), ("downtime", (protocol.downtime,)),
                                 ("after_effects", protocol.after_effects)):
                found += [PatientText(text, field, protocol.id, "protocols.yaml", protocol.line)
                          for text in texts if text]
    first: dict[str, PatientText] = {}
    for item in found:
        first.setdefault(item.text, item)
    return list(first.values())


def untranslated(texts: Iterable[PatientText],
                 catalogs: Mapping[str, Callable[[str], bool]]) -> list[tuple[str, PatientText]]:
    """(language, text) for each text a language's catalog does not translate.

    ``catalogs``: for each offered language but the default, whether its catalogs hold a
    translation of a text. The patient then reads that text in the default language.
    """
    texts = list(texts)
    return [(language, item) for language, translates in catalogs.items() for item in texts
            if not translates(item.text)]

"""What the medication lexicon understood of each medicine the patient typed (and the
allergen lexicon of each allergy the patient named).

The rules see medicines only through the lexicon: "Roaccutane 20mg" is isotretinoin, class
oral_retinoid; "vitamin Z" is nothing at all. A practitioner must be able to check that
reading on every record, whether or not a rule fired, so this lists each typed line with
what was recognised (name, generic, classes, whether the match was exact or a near spelling),
its status and dates, or that it was not recognised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .allergens import AllergenLexicon
from .facts import allergy_lines, match_medications, read_allergy
from .medications import Lexicon


@dataclass(frozen=True)
class RecognisedName:
    """One medicine found in a typed line: what was typed, the name it matched and its generic."""

    typed: str
    name: str
    generic: str
    exact: bool


class _Recognition:
    """What a lexicon recognised in one line the patient typed (a medicine or an allergy)."""

    recognised: tuple[RecognisedName, ...]

    @property
    def is_recognised(self) -> bool:
        return bool(self.recognised)

    @property
    def near_spelling(self) -> bool:
        """True when a name was recognised from a spelling close to it, not exactly."""
        return any(not found.exact for found in self.recognised)


@dataclass(frozen=True)
class UnderstoodMedicine(_Recognition):
    """One line of the patient's medicines, as the rules read it."""

    typed: str
    dose: str
    status: str  # taking | stopped
    prescribed: bool
    stopped_on: dt.date | None
    recognised: tuple[RecognisedName, ...]
    #: (class id, class label), sorted by label.
    classes: tuple[tuple[str, str], ...]
    #: Who stopped it ("prescriber", "switched", "me"; "" when not said or still taken).
    stopped_by: str = ""


def understood_medicines(items: Sequence[Mapping[str, Any]], lexicon: Lexicon | None) -> tuple[UnderstoodMedicine, ...]:
    """Each listed medicine (``medications.items`` of the answers) with what the lexicon made of it."""
    labels = {cid: cls.label for cid, cls in lexicon.classes.items()} if lexicon is not None else {}
    understood = []
    for fact in match_medications(items, lexicon):
        if not fact.typed.strip():
            continue
        recognised = tuple(dict.fromkeys(
            RecognisedName(match.typed, match.name, match.generic or match.name, match.exact)
            for match in fact.matches))
        classes = tuple(sorted(((cid, labels.get(cid, cid)) for cid in fact.classes), key=lambda pair: pair[1]))
        understood.append(UnderstoodMedicine(fact.typed, fact.dose, fact.status, fact.prescribed, fact.stopped_on,
                                             recognised, classes, fact.stopped_by))
    return tuple(understood)


@dataclass(frozen=True)
class UnderstoodAllergy(_Recognition):
    """One allergy the patient named (or the free text about allergies), as the rules read it."""

    typed: str
    #: How the patient reacted (a vocabulary value); "" for the free text.
    reaction: str
    recognised: tuple[RecognisedName, ...]
    #: (class id, class label), sorted by label.
    classes: tuple[tuple[str, str], ...]
    #: The free text "anything else about your allergies", read for its classes only.
    free_text: bool
    #: Nothing recognised because the patient said there is none ("no known allergies").
    says_none: bool


def understood_allergies(allergies: Mapping[str, Any] | None,
                         lexicon: AllergenLexicon | None) -> tuple[UnderstoodAllergy, ...]:
    """Each allergy of the answers' ``allergies`` section (the list, then the free text) with
    what the allergen lexicon made of it."""
    if not isinstance(allergies, Mapping):
        return ()
    labels = {cid: cls.label for cid, cls in lexicon.classes.items()} if lexicon is not None else {}
    understood = []
    for typed, reaction in allergy_lines(allergies):
        fact = read_allergy(lexicon, typed, reaction)
        recognised = tuple(dict.fromkeys(RecognisedName(m.typed, m.name, m.allergen, m.exact) for m in fact.matches))
        classes = tuple(sorted(((cid, labels.get(cid, cid)) for cid in fact.classes), key=lambda pair: pair[1]))
        understood.append(UnderstoodAllergy(typed, reaction, recognised, classes, free_text=not reaction,
                                            says_none=not fact.matches and AllergenLexicon.says_none(typed)))
    return tuple(understood)

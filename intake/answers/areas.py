"""Treatment areas as a hierarchy, and when two areas overlap.

The areas are declared once in :mod:`intake.answers.vocabulary` (``AREAS``, in the order
they are offered); this module says which area contains which (``PARENT``) and what
follows from it. ``face`` is the whole face and contains its parts (forehead, around the
eyes, under the eyes, cheeks, nasolabial folds, around the mouth and lips, jawline); neck,
décolletage, scalp and hands stand alone.

**Overlap.** Two areas overlap when they are the same area or one contains the other:
``perioral`` overlaps ``perioral`` and ``face``; ``face`` overlaps every part of the face;
two parts of the face (``forehead`` and ``cheeks``) do not, nor do ``neck`` and ``face``.
Overlap is about the areas a patient names, not about anatomy: neighbouring parts (around
the eyes and under the eyes) are distinct answers and do not overlap. ``other`` (a recent
treatment "elsewhere") and any name this module does not know overlap nothing, not even
themselves: "elsewhere" may be anywhere.

The rules read it through the ``overlaps`` operator of the condition language and the
``treatments.last_on_planned_area.KIND`` facts (docs/rules.md); the plan builder through
``within`` (a part of the face is treated by the face's protocols).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from .vocabulary import AREA_PARTS, AREAS, values

#: The areas a patient can name, in the order they are offered.
AREA_VALUES: Final = tuple(values(AREAS))
#: Each area inside another, with the area that contains it.
PARENT: Final[dict[str, str]] = {part: group.whole for group in AREA_PARTS for part in group.parts}


def ancestors(area: str) -> tuple[str, ...]:
    """The areas that contain ``area``, nearest first (none for a top-level or unknown area)."""
    found = []
    while area in PARENT:
        area = PARENT[area]
        found.append(area)
    return tuple(found)


def descendants(area: str) -> tuple[str, ...]:
    """The areas inside ``area``, in the order they are offered."""
    return tuple(a for a in AREA_VALUES if area in ancestors(a))


def _overlapping(area: str) -> frozenset[str]:
    if area not in AREA_VALUES:
        return frozenset()
    return frozenset((area, *ancestors(area), *descendants(area)))


#: Each known area with every area it overlaps (worked out once: the rules test it per intake).
OVERLAPPING: Final[dict[str, frozenset[str]]] = {area: _overlapping(area) for area in AREA_VALUES}


def overlapping(areas: Iterable[str]) -> frozenset[str]:
    """Every known area that overlaps at least one of ``areas``."""
    found: frozenset[str] = frozenset()
    for area in areas:
        found |= OVERLAPPING.get(area, frozenset())
    return found


def overlaps(first: str, second: str) -> bool:
    """True when the two areas are the same known area or one contains the other."""
    return second in OVERLAPPING.get(first, ())


def within(area: str, wholes: Iterable[str]) -> bool:
    """True when ``area`` is one of ``wholes`` or inside one of them."""
    wholes = frozenset(wholes)
    return area in wholes or not wholes.isdisjoint(ancestors(area))

"""Data and helpers shared by the core tests: answers documents and small rule folders.

Imported by test modules (``from .support import ...``); fixtures are in conftest.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

#: The rules folder the repository ships.
SHIPPED_RULES = Path(__file__).resolve().parents[2] / "rules"
#: The assessment date of the core tests (a Wednesday).
ON = dt.date(2026, 11, 25)

#: A two-class lexicon for small rule sets: doac (apixaban, Eliquis), nsaid (ibuprofen, Nurofen).
SMALL_LEXICON = """\
classes:
  - id: doac
    label: Direct oral anticoagulants
    source: [S19]
    medications:
      - generic: apixaban
        brands: [Eliquis]
  - id: nsaid
    label: Anti-inflammatory painkillers
    source: [S10]
    medications:
      - generic: ibuprofen
        brands: [Nurofen]
"""

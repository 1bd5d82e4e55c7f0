"""A keyed-hash index to search encrypted names and emails.

Encrypted values cannot be searched by SQL, so the queue's search by name or email goes
through ``search_term``: HMAC-SHA256 digests of the normalised words of the name and the
email, and of their prefixes of 3 characters or more, under a key derived from the first
encryption key. ``matching_search(q)`` turns a query into a condition on ``Intake.id``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, false, insert, select

from ..models.intake import Intake, SearchTerm
from .encryption import Keyring, active_keyring

#: The shortest prefix indexed (and searched): shorter ones would match half the clinic.
MIN_PREFIX = 3
#: Prefixes of longer words or emails are not indexed beyond this many characters.
MAX_PREFIX = 64


def normalise(text: str) -> str:
    """Case-folded, accents removed: "Zoë O'Brien" → "zoe o'brien"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char)).strip()


def words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", normalise(text))


def _prefixes(word: str) -> Iterable[str]:
    if len(word) < MIN_PREFIX:
        yield word
        return
    for end in range(MIN_PREFIX, min(len(word), MAX_PREFIX) + 1):
        yield word[:end]


def index_terms(full_name: str | None, email: str | None) -> set[str]:
    """The clear terms indexed for these contact details (stored only as digests)."""
    terms: set[str] = set()
    for word in words(full_name or "") + words(email or ""):
        terms.update("w:" + prefix for prefix in _prefixes(word))
    if email:
        terms.update("e:" + prefix for prefix in _prefixes(normalise(email)))
    return terms


def query_terms(q: str) -> list[set[str]]:
    """What a search asks for: one set of alternative terms per word, every word must match."""
    q = normalise(q)
    if not q:
        return []
    if "@" in q:
        return [{"e:" + q[:MAX_PREFIX]}]
    return [{"w:" + word[:MAX_PREFIX]} for word in words(q)]


def reindex(session: Any, intake_id: int, full_name: str | None, email: str | None,
            keyring: Keyring | None = None) -> None:
    """Replace the search terms of one intake (in the caller's transaction)."""
    keyring = keyring or active_keyring()
    session.execute(delete(SearchTerm).where(SearchTerm.intake_id == intake_id))
    digests = sorted({keyring.digest(term) for term in index_terms(full_name, email)})
    if digests:
        session.execute(insert(SearchTerm), [{"intake_id": intake_id, "digest": d} for d in digests])


def matching_search(q: str) -> ColumnElement[bool]:
    """A condition true for the intakes whose name or email matches ``q``.

    Each word of ``q`` must start a word of the name or the email (``jan`` finds Jane,
    ``example`` finds jane@example.org); a query with ``@`` must start the email.
    Words shorter than 3 characters match only whole words.
    """
    groups = query_terms(q)
    if not groups:
        return false()
    keyring = active_keyring()
    return and_(*[
        Intake.id.in_(select(SearchTerm.intake_id).where(SearchTerm.digest.in_(sorted(keyring.digest(t) for t in g))))
        for g in groups
    ])

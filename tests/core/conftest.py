"""Fixtures shared by the tests of the pure core (no app, no database).

Data and helpers that tests import (answers documents, small rule files) live in
``tests/core/support.py``; no test module imports from another.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from types import FrameType

import pytest

from intake.assessment import Catalogue, Ruleset, load_ruleset
from intake.assessment.medications import Lexicon
from intake.assessment.plan import Protocols, load_protocols

from .support import SHIPPED_RULES, SMALL_LEXICON


@pytest.fixture(scope="session")
def shipped() -> Ruleset:
    """The ruleset the repository ships (rules/), loaded once."""
    return load_ruleset(SHIPPED_RULES)


@pytest.fixture(scope="session")
def lexicon() -> Lexicon:
    """The shipped medication lexicon."""
    return Lexicon.load(SHIPPED_RULES / "medications.yaml")


@pytest.fixture(scope="session")
def catalogue(lexicon: Lexicon) -> Catalogue:
    """The facts catalogue of the shipped lexicon."""
    return Catalogue(lexicon.classes.keys())


@pytest.fixture(scope="session")
def protocols(catalogue: Catalogue) -> Protocols:
    """The shipped protocol file, compiled."""
    return load_protocols(SHIPPED_RULES / "protocols.yaml", catalogue)


@pytest.fixture(scope="session")
def small_lexicon() -> Lexicon:
    """The two-class lexicon of the small test rule sets (support.SMALL_LEXICON)."""
    return Lexicon.from_text(SMALL_LEXICON, "medications.yaml")


class TookTooLong(Exception):
    """Raised inside code that ran past a time_limit guard."""


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    def stop(signum: int, frame: FrameType | None) -> None:
        raise TookTooLong(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def time_limit() -> Callable[[float], AbstractContextManager[None]]:
    """A guard for code that may hang (an attack on a loader): ``with time_limit(5): ...``
    raises TookTooLong after that many seconds, so a regression fails instead of hanging the suite."""
    return _time_limit

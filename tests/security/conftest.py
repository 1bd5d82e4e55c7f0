"""Fixtures of the security suite (staff, the demo intakes and signed-in clients come from tests/conftest.py).

Every test here runs on SQLite and PostgreSQL (the ``app`` fixture of tests/conftest.py).
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_rate_limits(fresh_rate_limits):
    """Every attack starts with no request counted (tests/conftest.py's fresh_rate_limits)."""

"""The settings every route test runs with."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The date every route test runs on, so dates in answers and rules are deterministic.
TODAY = dt.date(2026, 11, 25)
POSTGRES_URL = os.environ.get(
    "MESO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = os.environ.get("MESO_TEST_DATABASES", "sqlite postgresql").split()

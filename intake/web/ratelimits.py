"""What is throttled, counted by whom, and how long a throttled client should wait.

The limits are read from the settings on every request (so tests and operators can change
them); the counts live in RATELIMIT_STORAGE_URI (memory:// for one process, redis:// for
several workers counting together).
"""

from __future__ import annotations

import hashlib
import time

from flask import current_app, request
from flask_limiter.util import get_remote_address

from ..extensions import limiter


def intake_start_limit() -> str:
    return current_app.config["INTAKE_START_RATE_LIMIT"]


def intake_submit_limit() -> str:
    return current_app.config["INTAKE_SUBMIT_RATE_LIMIT"]


def desk_code_limit() -> str:
    return current_app.config["DESK_CODE_RATE_LIMIT"]


def api_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def api_client_key() -> str:
    """The API token sent (by its digest: the secret itself never reaches the counter store), else the address."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        return "api-token:" + hashlib.sha256(secret.strip().encode()).hexdigest()
    return "api-address:" + get_remote_address()


def retry_after_seconds() -> int:
    """Seconds until the limit that was just hit lets the client in again (at least 1)."""
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, round(current.reset_at - time.time()))


def reminder_link_limit() -> str:
    return current_app.config["REMINDER_LINK_RATE_LIMIT"]

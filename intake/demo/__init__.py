"""Demo data, so a newcomer sees a working clinic at once: example intakes (intakes) and staff."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..auth import service
from ..auth.queries import find_user
from ..clock import clinic_today
from ..extensions import db
from ..models import Intake
from .intakes import seed_intakes


def seed() -> int:
    """Create the demo clinic's example intakes if the clinic has none yet; returns how many."""
    if db.session.scalar(select(func.count()).select_from(Intake)):
        return 0
    return seed_intakes(clinic_today())


#: The demo clinic's staff: (email, name, role).
DEMO_STAFF = (
    ("practitioner@demo.clinic", "Dr Demo Practitioner", "practitioner"),
    ("admin@demo.clinic", "Demo Clinic Admin", "admin"),
)


@dataclass
class DemoStaff:
    """What seed_staff() did: the accounts it created (with their one password) and those already there."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    #: Shown once, when the accounts are created; never stored in clear.
    password: str | None = None


def seed_staff() -> DemoStaff:
    """Create the demo practitioner and admin if missing, with a password random to this install."""
    result = DemoStaff()
    for email, name, role in DEMO_STAFF:
        if find_user(email) is not None:
            result.existing.append(email)
            continue
        result.password = result.password or secrets.token_urlsafe(12)
        service.create_user(email, name, role, result.password, actor="system")
        result.created.append(email)
    return result

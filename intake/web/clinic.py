"""The clinic's identity: how patients reach it, on every page that tells them to.

The CLINIC_* settings give the defaults; an admin can change each on the clinic page
(stored in ClinicProfile, one row). Every page shows the clinic, so each worker keeps what
it read for CLINIC_REFRESH_SECONDS instead of asking the database on every page (the
worker that saved a change forgets it at once). When the database cannot be read (an
outage page), the settings alone are used, and not kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import Any

from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models import ClinicProfile

#: ClinicIdentity field → its setting.
SETTINGS = {
    "name": "CLINIC_NAME",
    "address": "CLINIC_ADDRESS",
    "phone": "CLINIC_PHONE",
    "email": "CLINIC_EMAIL",
    "opening_hours": "CLINIC_OPENING_HOURS",
    "contact_note": "CLINIC_CONTACT_NOTE",
}


@dataclass(frozen=True)
class ClinicIdentity:
    name: str
    address: str = ""
    phone: str = ""
    email: str = ""
    opening_hours: str = ""
    #: A short "how to reach us" text, e.g. "Call us between 9 and 5; we answer email within a day."
    contact_note: str = ""

    @property
    def has_contact(self) -> bool:
        """Whether a patient is given any way to reach the clinic."""
        return bool(self.phone or self.email or self.address)


def from_settings(config: Any) -> ClinicIdentity:
    return ClinicIdentity(**{name: str(config.get(setting) or "") for name, setting in SETTINGS.items()})


_KEPT = "meso_clinic_identity"


def clinic_identity() -> ClinicIdentity:
    """The clinic as patients should see it: the profile's values over the settings."""
    kept = current_app.extensions.get(_KEPT)
    now = time.monotonic()
    if kept is not None and kept[1] > now:
        found: ClinicIdentity = kept[0]
        return found
    identity = from_settings(current_app.config)
    try:
        profile = db.session.get(ClinicProfile, 1)
    except SQLAlchemyError:
        db.session.rollback()
        return identity
    if profile is not None:
        identity = ClinicIdentity(**{
            field.name: (getattr(profile, field.name) or getattr(identity, field.name)) for field in fields(identity)})
    current_app.extensions[_KEPT] = (identity, now + float(current_app.config.get("CLINIC_REFRESH_SECONDS", 30)))
    return identity


def forget(app: Flask) -> None:
    """Read the clinic again on the next page (after a change)."""
    app.extensions.pop(_KEPT, None)


def init_app(app: Flask) -> None:
    """Every template knows the clinic (``clinic``, and ``clinic_name`` as before)."""

    @app.context_processor
    def clinic() -> dict[str, Any]:
        identity = clinic_identity()
        return {"clinic": identity, "clinic_name": identity.name}

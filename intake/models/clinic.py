"""The clinic's identity as an admin set it on the clinic page (settings give the defaults)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import Model


class ClinicProfile(Model):
    """One row: how patients reach the clinic. An empty field falls back to its CLINIC_* setting."""

    __tablename__ = "clinic_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    opening_hours: Mapped[str] = mapped_column(Text, default="")
    #: A short "how to reach us" text shown wherever a patient is told to contact the clinic.
    contact_note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL", name="fk_clinic_profile_updated_by"))

"""Invitation helpers: invite a patient, read the private link a page shows, find an intake by name."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from intake.extensions import db
from intake.models import Intake
from intake.protection.search import matching_search
from tests.support.html import input_attributes
from tests.support.settings import TODAY

INVITE = "/staff/invite"

def link_token(html: str) -> str:
    box = input_attributes(html, "private-link-box")
    assert box["type"] == "text" and "readonly" in box, "the page shows no private link"
    assert box["value"].startswith("http://localhost/i/"), box["value"]
    return box["value"].removeprefix("http://localhost/i/")


def invite(forms, **changes) -> object:
    data = {"full_name": "Ruth Ellis", "email": "ruth@example.org",
            "appointment_date": (TODAY + dt.timedelta(days=10)).isoformat(), "send_email": "y", **changes}
    return forms.post(INVITE, {k: v for k, v in data.items() if v is not None})


def intake_named(app, name: str) -> Intake:
    with app.app_context():
        intake = db.session.scalar(select(Intake).where(matching_search(name)))
        db.session.expunge(intake)
        return intake

"""Rules admin helpers: a clinic rule file that activates, uploads, versions, activation."""

from __future__ import annotations

import io

from sqlalchemy import select

from intake.extensions import db
from intake.models import RulesetVersion
from tests.support.html import csrf_token

#: Activatable: an info rule breaks none of the default rule tests.
GOOD = """\
- id: current-smoker
  title: Current smoker
  severity: info
  when: {field: lifestyle.smoking, equals: current}
  message: Smoking slows healing.
  source: [rule-default]
"""

def upload(forms, name: str, content: bytes | str, path: str = "", note: str = "", base: int | None = None):
    token = csrf_token(forms.client.get("/staff/rules/change").get_data(as_text=True))
    raw = content.encode() if isinstance(content, str) else content
    extra = {"from": str(base)} if base else {}
    return forms.client.post("/staff/rules/upload", data={
        "csrf_token": token, "path": path, "note": note, "file": (io.BytesIO(raw), name), **extra},
        content_type="multipart/form-data")


def versions(app) -> list[tuple[int, bool]]:
    with app.app_context():
        return [(v.id, v.active) for v in db.session.scalars(select(RulesetVersion).order_by(RulesetVersion.id))]


def new_version(forms, content: str = GOOD, name: str = "ours.yaml") -> int:
    response = upload(forms, name, content)
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.location.rstrip("/").rsplit("/", 1)[1])


def activate(forms, version_id: int, note: str = "Clinic smoking advice"):
    page = f"/staff/rules/versions/{version_id}"
    return forms.post(f"{page}/activate", {"note": note}, page=page)

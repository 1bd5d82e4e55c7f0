"""Corrupt, encrypted, unknown-method and expanding zips uploaded as clinic rules: a clear 422 naming the
file, nothing stored; a clinic folder is capped in total bytes. (Path traversal: tests/web/test_rules_admin.py.)"""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from tests.support.rules_admin import GOOD, upload, versions

NAME = "precautions/ours.yaml"


def zipped(compression: int = zipfile.ZIP_DEFLATED, **members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, text in (members or {NAME: GOOD}).items():
            archive.writestr(name, text)
    return buffer.getvalue()


def patched(raw: bytes, offset_in_header: int, fmt: str, value: int) -> bytes:
    """The zip with one field changed in its local header and its central directory entry (same meaning)."""
    data = bytearray(raw)
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    struct.pack_into(fmt, data, local + offset_in_header, value)
    struct.pack_into(fmt, data, central + offset_in_header + 2, value)  # the central header has "version made by"
    return bytes(data)


def encrypted() -> bytes:
    return patched(zipped(), 6, "<H", 0x1)  # general purpose flag bit 0: encrypted


def unknown_method() -> bytes:
    return patched(zipped(), 8, "<H", 99)  # compression method 99 (AES), which zipfile does not read


def bad_crc() -> bytes:
    raw = bytearray(zipped(zipfile.ZIP_STORED))
    raw[raw.find(b"- id:")] ^= 0x20  # one byte of the stored file changed: the CRC no longer matches
    return bytes(raw)


def bad_deflate() -> bytes:
    raw = bytearray(zipped())
    start = raw.find(b"PK\x03\x04") + 30 + len(NAME)
    raw[start:start + 8] = b"\xff" * 8  # not a deflate stream
    return bytes(raw)


def truncated() -> bytes:
    raw = zipped()
    return raw[: len(raw) // 2] + raw[-22:]  # the end record kept, the data cut


@pytest.mark.parametrize(("content", "message"), [
    (encrypted, "is encrypted in the zip"),
    (unknown_method, "is compressed in a way this server does not read"),
    (bad_crc, "is damaged in the zip"),
    (bad_deflate, "is damaged in the zip"),
    (truncated, "not a zip archive"),
])
def test_a_zip_that_does_not_unpack_is_explained(rules_app, admin_forms, content, message):  # noqa: F811
    response = upload(admin_forms, "clinic.zip", content())
    assert response.status_code == 422, response.status_code
    assert message in response.get_data(as_text=True)
    assert versions(rules_app) == []


def test_a_zip_that_expands_beyond_the_folder_limit_is_refused(rules_app, admin_forms):  # noqa: F811
    rules_app.config["RULES_UPLOAD_MAX_BYTES"] = 200 * 1024
    # Well under 100 KB zipped, several MB unpacked: each file under the per-file limit.
    padding = "# " + "x" * (190 * 1024) + "\n"
    bomb = zipped(**{f"precautions/r{i}.yaml": GOOD.replace("current-smoker", f"r{i}") + padding
                     for i in range(30)})
    assert len(bomb) < 100_000
    response = upload(admin_forms, "clinic.zip", bomb)
    assert response.status_code == 422
    assert "the limit for a clinic folder (RULES_UPLOAD_MAX_TOTAL_BYTES)" in response.get_data(as_text=True)
    assert versions(rules_app) == []


def test_old_candidate_versions_are_pruned_but_never_an_activated_or_assessed_one(rules_app, admin_forms):  # noqa: F811
    from tests.support.rules_admin import activate, new_version

    rules_app.config["RULES_VERSIONS_KEPT"] = 2
    first = new_version(admin_forms)
    assert activate(admin_forms, first).status_code == 302
    made = [new_version(admin_forms, GOOD.replace("Smoking", f"Smoking ({n})")) for n in range(4)]
    assert versions(rules_app) == [(first, True), (made[2], False), (made[3], False)]
    with rules_app.app_context():
        from sqlalchemy import select

        from intake.extensions import db
        from intake.models import AuditEntry

        pruned = [e.data["version_ids"] for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "rules.candidates_pruned"))]
    assert pruned == [[made[0]], [made[1]]]

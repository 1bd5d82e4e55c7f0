"""SQL-injection strings in every search and filter, path traversal in every path parameter."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest

from tests.support.api import bearer, make_admin, make_token
from tests.support.html import csrf_token, row_headers
from tests.support.rows import data_rows, snapshot

SQL_INJECTIONS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "\" OR \"\"=\"",
    "'; DROP TABLE intakes; --",
    "1' UNION SELECT token_hash, email FROM intakes --",
    "%' OR full_name LIKE '%",
    "%",
    "_",
    "\\",
    "1; SELECT pg_sleep(3)",
    "' || (SELECT version()) || '",
]
QUEUE_FILTERS = ["q", "status", "severity", "sort", "appointment_from", "appointment_to", "page"]


def listed(html: str) -> list[str]:
    return row_headers(html)


@pytest.mark.parametrize("injection", SQL_INJECTIONS)
def test_sql_injection_in_the_queue_filters_matches_nothing_and_breaks_nothing(app, signed_in, demo_intakes,
                                                                               injection):
    client = signed_in.client
    before = data_rows(app)
    everyone = listed(client.get("/staff/queue?status=all").get_data(as_text=True))
    assert len(everyone) >= 10
    for name in QUEUE_FILTERS:
        response = client.get("/staff/queue?" + urlencode({"status": "all", name: injection}))
        assert response.status_code in (200, 400), (name, response.status_code)
        page = response.get_data(as_text=True)
        if name == "q":
            # Searched for as text: no row has it in its name or email.
            assert response.status_code == 200 and listed(page) == [], injection
        elif response.status_code == 400:
            assert "error-summary" in page  # the filter is refused with its message
        csv = client.get("/staff/intakes.csv?" + urlencode({name: injection}))
        assert csv.status_code in (200, 400), (name, csv.status_code)
    assert data_rows(app) == before
    assert listed(client.get("/staff/queue?status=all").get_data(as_text=True)) == everyone


@pytest.mark.parametrize("injection", SQL_INJECTIONS[:6])
def test_sql_injection_in_the_api_filters_is_refused_or_matches_nothing(app, client, demo_intakes, injection):
    make_admin(app)
    _id, secret = make_token(app)
    before = data_rows(app)
    for name in ("q", "status", "severity", "sort", "appointment_from", "page", "per_page"):
        response = client.get("/api/v1/intakes?" + urlencode({name: injection}), headers=bearer(secret))
        assert response.status_code in (200, 422), (name, response.status_code)
        if response.status_code == 200:
            assert response.json["items"] == [], (name, injection)
        else:
            assert response.json["errors"], name
    response = client.get(f"/api/v1/intakes/{quote(injection, safe='')}", headers=bearer(secret))
    assert response.status_code == 404 and response.is_json
    assert data_rows(app) == before


TRAVERSALS = ["../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/etc/passwd", "....//....//etc/passwd",
              "..\\..\\windows\\win.ini", "/etc/passwd", "%00../../etc/passwd", "..%252f..%252fetc%252fpasswd"]


@pytest.mark.parametrize("traversal", TRAVERSALS)
def test_path_traversal_in_path_parameters_reaches_no_file(app, client, signed_in, demo_intakes, traversal):
    intake_id = demo_intakes["Margaret Doyle"]
    staff = signed_in.client
    urls = [
        f"/static/{traversal}",
        f"/static/css/{traversal}",
        f"/i/{traversal}",
        f"/i/{traversal}/about",
        f"/i/{traversal}/plan.ics",
        f"/staff/intakes/{traversal}",
        f"/staff/intakes/{intake_id}/{traversal}",
    ]
    for url in urls:
        response = staff.get(url, follow_redirects=True)  # // is merged by a redirect first
        body = response.get_data()
        assert response.status_code in (400, 404, 405), (url, response.status_code)
        assert b"root:" not in body and b"[fonts]" not in body, url
    # A rule id is a name looked up in the assessment, never a file.

    token = csrf_token(staff.get(f"/staff/intakes/{intake_id}").get_data(as_text=True))
    before = snapshot(app)
    response = staff.post(f"/staff/intakes/{intake_id}/flags/{quote(traversal, safe='')}",
                          data={"csrf_token": token, "action": "acknowledge"})
    assert response.status_code in (404, 422), response.status_code
    assert b"root:" not in response.get_data()
    assert snapshot(app) == before


#: Every module that reads uploads, with the tests that attack it with path traversal.
UPLOAD_READERS = {
    "intake/admin/forms.py": "tests/web/test_rules_admin.py: test_a_bad_upload_is_explained_and_leaves_the_active_"
                             "version_untouched, test_a_zip_replaces_the_clinic_folder_and_path_traversal_is_refused",
    "intake/photos/forms.py": "tests/web/test_photos.py: test_an_uploads_file_name_never_becomes_a_path",
    "intake/photos/staff_forms.py": "tests/web/test_photos.py: "
                                    "test_a_practitioners_upload_file_name_never_becomes_a_path",
}


def test_every_upload_has_its_path_traversal_tests(app):
    """Only known modules read request.files (checked so a new upload gets its traversal tests)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    readers = sorted(str(path.relative_to(root)) for path in (root / "intake").rglob("*.py")
                     if any(reader in path.read_text() for reader in ("request.files", "FileField")))
    assert readers == sorted(UPLOAD_READERS), f"{readers} read uploads: add path traversal tests for them"

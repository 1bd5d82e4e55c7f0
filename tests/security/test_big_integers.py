"""Integers beyond what the database holds (ids are 32-bit on PostgreSQL, offsets 64-bit) in routes and
query strings get a clear 4xx, never a 500."""

from __future__ import annotations

import pytest

from tests.support.api import make_admin, make_token

HUGE = "9223372036854775808"  # 2**63: one past the largest 64-bit integer
HUGER = "99999999999999999999"
BEYOND_INTEGER = "2147483648"  # 2**31: one past PostgreSQL's INTEGER, found by schemathesis


@pytest.mark.parametrize("url", [f"/staff/intakes/{HUGE}", f"/staff/intakes/{HUGER}/print",
                                 f"/staff/intakes/{HUGE}/export.json", f"/staff/intakes/{HUGE}/fhir",
                                 f"/staff/rules/versions/{HUGE}", f"/staff/intakes/{BEYOND_INTEGER}"])
def test_staff_routes_answer_404_to_ids_beyond_64_bits(as_admin, url):
    assert as_admin.client.get(url).status_code == 404


def test_the_queue_takes_a_page_beyond_64_bits_as_the_last_page(signed_in, demo_intakes):
    for page in (HUGER, HUGE, "-" + HUGER):
        assert signed_in.client.get(f"/staff/queue?status=all&page={page}").status_code == 200


def test_the_api_answers_ids_and_pages_beyond_64_bits_with_json_4xx(app, client):
    make_admin(app)
    headers = {"Authorization": f"Bearer {make_token(app)[1]}"}
    for intake_id in (HUGE, BEYOND_INTEGER):
        response = client.get(f"/api/v1/intakes/{intake_id}", headers=headers)
        assert response.status_code == 404 and response.is_json
    for query in (f"page={HUGER}", f"page={HUGE}", "page=219604096115629765", f"per_page={HUGER}"):
        response = client.get(f"/api/v1/intakes?{query}", headers=headers)
        assert response.status_code == 422 and response.is_json, query
        assert set(response.json["errors"]) <= {"page", "per_page"}

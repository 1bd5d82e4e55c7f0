"""A 405 says which methods the address takes (Allow), on pages and on the API alike."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("url", "methods"), [
    ("/", {"GET", "HEAD", "OPTIONS"}),
    ("/staff/sign-in", {"GET", "HEAD", "OPTIONS", "POST"}),
    ("/staff/sign-out", {"OPTIONS", "POST"}),
    ("/api/v1/intakes", {"GET", "HEAD", "OPTIONS", "POST"}),
])
@pytest.mark.parametrize("method", ["TRACE", "DELETE", "PUT", "PATCH"])
def test_a_405_carries_allow(client, url, methods, method):
    response = client.open(url, method=method)
    if method in methods:
        return
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} == methods

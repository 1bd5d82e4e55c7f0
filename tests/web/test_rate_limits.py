"""Throttling of intake creation, submission and the API: a friendly page or a JSON body, per client."""

from __future__ import annotations

import os
import re

import pytest
import sqlalchemy as sa

from intake.extensions import db, limiter
from intake.models import Intake
from tests.support.api import bearer, document, make_admin, make_token, post_intake
from tests.support.html import csrf_token
from tests.support.patient import seed, start, submit

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")


def count_intakes(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Intake))


def test_starting_intakes_is_throttled_per_address_with_a_friendly_page(app, client, forms):
    app.config["INTAKE_START_RATE_LIMIT"] = "3 per hour"
    for _ in range(3):
        start(forms)
    response = forms.post("/start", {}, page="/")
    page = response.get_data(as_text=True)
    assert response.status_code == 429
    assert "Too many requests from your network" in page
    assert re.search(r"Wait \d+ seconds?, then try again", page)
    assert 1 <= int(response.headers["Retry-After"]) <= 3601
    assert "Content-Security-Policy" in response.headers
    assert count_intakes(app) == 3
    assert client.get("/").status_code == 200  # reading the start page is not throttled
    # Another address counts on its own.
    token = csrf_token(client.get("/").get_data(as_text=True))
    elsewhere = client.post("/start", data={"csrf_token": token}, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert elsewhere.status_code == 302
    assert count_intakes(app) == 4


def test_submitting_is_throttled_and_the_throttled_intake_stays_a_draft(app, client, forms):
    app.config["INTAKE_SUBMIT_RATE_LIMIT"] = "1 per hour"
    first, second = start(forms), start(forms)
    seed(app, first)
    seed(app, second)
    assert submit(forms, first).status_code == 302
    response = submit(forms, second)
    assert response.status_code == 429
    assert "Too many requests from your network" in response.get_data(as_text=True)
    with app.app_context():
        statuses = sorted(str(status) for status in db.session.scalars(sa.select(Intake.status)))
    assert statuses == ["draft", "submitted"]


def test_the_api_is_throttled_per_token_with_a_json_body(app, client):
    app.config["API_RATE_LIMIT"] = "2 per minute"
    make_admin(app)
    _id, secret = make_token(app)
    _id2, other = make_token(app, name="Second system")
    assert client.get("/api/v1/intakes", headers=bearer(secret)).status_code == 200
    assert client.get("/api/v1/intakes", headers=bearer(secret)).status_code == 200
    response = post_intake(client, secret, document())
    assert response.status_code == 429
    assert response.is_json
    assert response.json["code"] == 429
    assert "Too many requests" in response.json["message"]
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    assert count_intakes(app) == 0
    # Another token, from the same address, has its own allowance.
    assert client.get("/api/v1/intakes", headers=bearer(other)).status_code == 200


def test_requests_without_a_token_are_counted_per_address(app, client):
    app.config["API_RATE_LIMIT"] = "2 per minute"
    assert client.get("/api/v1/intakes").status_code == 401
    assert client.get("/api/v1/intakes").status_code == 401
    response = client.get("/api/v1/intakes")
    assert response.status_code == 429 and response.json["code"] == 429


def test_api_refuses_a_body_that_is_not_json_with_415(app, client):
    make_admin(app)
    _id, secret = make_token(app)
    response = client.post("/api/v1/intakes", data="about=1", headers={**bearer(secret),
                           "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415
    assert response.json == {"code": 415, "status": "Unsupported Media Type",
                             "message": "Send the answers document with Content-Type: application/json."}
    assert count_intakes(app) == 0


def test_api_413_says_the_limit(app, client):
    make_admin(app)
    _id, secret = make_token(app)
    response = client.post("/api/v1/intakes", data=b"{" + b" " * app.config["MAX_CONTENT_LENGTH"] + b"}",
                           headers={**bearer(secret), "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json["code"] == 413
    assert str(app.config["MAX_CONTENT_LENGTH"]) in response.json["message"]
    assert count_intakes(app) == 0


REDIS_URL = os.environ.get("MESO_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def _redis_or_skip():
    redis = pytest.importorskip("redis")
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    return connection


def test_limits_are_counted_in_redis_shared_by_two_workers(database_url, tmp_path):
    """Two apps (as two gunicorn workers would be) with one redis:// store count one client together."""
    from intake import create_app

    connection = _redis_or_skip()
    # The limiter is one object per process: keep the suite's storage and give it back afterwards.
    saved = (limiter._storage, limiter._limiter)
    settings = {"TESTING": True, "SECRET_KEY": "x" * 40, "SQLALCHEMY_DATABASE_URI": database_url,
                "RATELIMIT_STORAGE_URI": REDIS_URL, "API_RATE_LIMIT": "3 per minute"}
    for key in connection.scan_iter("LIMITS*"):
        connection.delete(key)
    try:
        workers = [create_app(settings), create_app(settings)]
        codes = [workers[n % 2].test_client().get("/api/v1/intakes").status_code for n in range(5)]
        assert codes == [401, 401, 401, 429, 429]
        assert connection.keys("LIMITS*")
    finally:
        limiter._storage, limiter._limiter = saved
        for key in connection.scan_iter("LIMITS*"):
            connection.delete(key)

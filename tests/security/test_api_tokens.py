"""API tokens expire, carry a scope (read / write) and die with their owner's account."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from intake.api import tokens
from intake.auth import service
from intake.clock import utcnow
from intake.extensions import db
from intake.models import Intake
from tests.support.api import bearer, document, make_admin, make_token, post_intake

INTAKES = "/api/v1/intakes"


@pytest.fixture
def owner(app) -> int:
    return make_admin(app)


def test_a_read_token_reads_but_cannot_create(app, client, owner):
    _, secret = make_token(app, scope="read")
    assert client.get(INTAKES, headers=bearer(secret)).status_code == 200
    response = post_intake(client, secret, document())
    assert response.status_code == 403 and response.is_json
    assert "may only read" in response.json["message"]
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    with app.app_context():
        assert db.session.query(Intake).count() == 0
    _, writer = make_token(app, "Booking", scope="write")
    assert post_intake(client, writer, document()).status_code == 201


def test_an_expired_token_gets_401(app, client, owner):
    token_id, secret = make_token(app, expires_at=utcnow() + dt.timedelta(hours=1))
    assert client.get(INTAKES, headers=bearer(secret)).status_code == 200
    with app.app_context():
        db.session.get(tokens.ApiToken, token_id).expires_at = utcnow() - dt.timedelta(seconds=1)
        db.session.commit()
    response = client.get(INTAKES, headers=bearer(secret))
    assert response.status_code == 401 and "has expired" in response.json["message"]


def test_a_token_dies_with_its_owners_account(app, client, runner, owner):
    _, secret = make_token(app)
    assert client.get(INTAKES, headers=bearer(secret)).status_code == 200
    with app.app_context():
        service.deactivate(service.find_user("ada@demo.clinic"))
    response = client.get(INTAKES, headers=bearer(secret))
    assert response.status_code == 401 and "account that was deactivated" in response.json["message"]
    assert re.search(r"owner deactivated$", runner.invoke(args=["api-tokens", "list"]).output, re.M)


def test_the_cli_sets_scope_and_expiry(app, client, runner, owner):
    result = runner.invoke(args=["api-tokens", "create", "--name", "Reports", "--by", "ada@demo.clinic",
                                 "--scope", "read", "--days", "30"])
    assert result.exit_code == 0, result.output
    assert "scope read, until" in result.output
    secret = result.output.strip().splitlines()[-1]
    assert post_intake(client, secret, document()).status_code == 403
    result = runner.invoke(args=["api-tokens", "create", "--name", "Booking", "--by", "ada@demo.clinic",
                                 "--scope", "write", "--no-expiry"])
    assert "scope write, with no expiry" in result.output
    assert runner.invoke(args=["api-tokens", "create", "--name", "x", "--by", "ada@demo.clinic",
                               "--scope", "admin"]).exit_code == 2


def test_an_expiry_in_the_past_is_refused(app, owner):
    with app.app_context(), pytest.raises(tokens.TokenError, match="in the future"):
        tokens.create_token("Old", "ada@demo.clinic", expires_at=utcnow() - dt.timedelta(days=1))

"""One patient's link opens only their intake; ids and stored hashes open nothing; each door needs its own key."""

from __future__ import annotations

import sqlalchemy as sa

from intake.extensions import db
from intake.models import Intake
from tests.support.api import bearer, make_admin, make_token
from tests.support.patient import save, seed, start, text
from tests.support.rows import snapshot, stored_answers


def test_a_link_opens_its_own_intake_only(app, forms):
    first = start(forms)
    save(forms, first, "about", {"full_name": "Ana First", "email": "first@example.com"})
    second = start(forms)
    save(forms, second, "about", {"full_name": "Bea Second", "email": "second@example.com"})
    page = text(forms.client.get(f"/i/{first}/about"))
    assert "Ana First" in page and "Bea Second" not in page and "second@example.com" not in page
    page = text(forms.client.get(f"/i/{second}/about"))
    assert "Bea Second" in page and "Ana First" not in page
    # Saving through one link changes only that intake.
    save(forms, first, "about", {"full_name": "Ana Changed", "email": "first@example.com"})
    names = [answers["about"]["full_name"] for answers in stored_answers(app)]
    assert names == ["Ana Changed", "Bea Second"]


def not_found_page(client, url: str) -> tuple[int, str]:
    response = client.get(url)
    return response.status_code, response.get_data(as_text=True)


def test_guessed_tampered_or_hashed_tokens_get_the_same_plain_404(app, forms, client):
    token = start(forms)
    seed(app, token)
    with app.app_context():
        intake = db.session.scalar(sa.select(Intake))
        intake_id, token_hash = intake.id, intake.token_hash
    reference = not_found_page(client, "/i/" + "A" * 43)
    assert reference[0] == 404
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for guess in (tampered, token.upper() if token.upper() != token else token.lower(), token_hash, str(intake_id),
                  token + "x", token[:20], "x" * 101, "%00", "null"):
        for suffix in ("", "/about", "/review", "/saved", "/plan.ics"):
            status, body = not_found_page(client, f"/i/{guess}{suffix}")
            assert status == 404, (guess, suffix)
            assert body == reference[1], "a wrong token must not be told apart from a missing one"
            assert "Ana" not in body


def test_the_link_is_no_key_to_anything_else(app, forms, client):
    token = start(forms)
    seed(app, token)
    with app.app_context():
        intake_id = db.session.scalar(sa.select(Intake.id))
    for url in (f"/staff/intakes/{intake_id}", f"/staff/intakes/{intake_id}/export.json", "/staff/queue"):
        response = forms.client.get(url)
        assert response.status_code == 302 and "/staff/sign-in" in response.location, url
    for headers in ({}, bearer(token), {"Cookie": "session=" + token}):
        response = client.get(f"/api/v1/intakes/{intake_id}", headers=headers)
        assert response.status_code == 401 and "Ana" not in response.get_data(as_text=True)


def test_another_patients_submission_cannot_be_triggered_with_its_id(app, forms):
    mine, theirs = start(forms), start(forms)
    seed(app, theirs)
    before = snapshot(app)
    with app.app_context():
        their_id = db.session.scalar(sa.select(Intake.id).order_by(Intake.id.desc()))
    for target in (str(their_id), f"{mine}/../{theirs}"):
        response = forms.post(f"/i/{target}/submit", {}, page="/")
        assert response.status_code in (404, 308), target
    assert snapshot(app) == before
    with app.app_context():
        assert {str(s) for s in db.session.scalars(sa.select(Intake.status))} == {"draft"}


def test_an_api_token_reads_by_id_but_a_revoked_one_reads_nothing(app, client, forms):
    from intake.api import tokens

    token = start(forms)
    seed(app, token)
    make_admin(app)
    token_id, secret = make_token(app)
    with app.app_context():
        intake_id = db.session.scalar(sa.select(Intake.id))
        tokens.revoke_token(token_id)
    response = client.get(f"/api/v1/intakes/{intake_id}", headers=bearer(secret))
    assert response.status_code == 401
    assert "Ana" not in response.get_data(as_text=True)

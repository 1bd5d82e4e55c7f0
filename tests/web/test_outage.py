"""The database unreachable mid-request: a clear 503 that keeps what the patient typed, never a 500 or a false
success, and the next request works again without a restart."""

from __future__ import annotations

import contextlib

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from intake.extensions import db
from intake.models import Intake
from tests.support.api import bearer, make_admin, make_token
from tests.support.html import csrf_token, field_value, problems
from tests.support.patient import seed, start, text
from tests.support.staff import make_user, sign_in

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

OUTAGE_MESSAGE = ("We could not save this page: our records are unavailable for a moment. "
                  "Your answers are still here. Wait a minute, then press Continue again.")


@pytest.fixture
def outage(app):
    """``with outage():`` every statement fails as a lost connection does; ``outage(writes_only=True)`` lets
    reads through and fails the first write (the server went away between the two)."""

    @contextlib.contextmanager
    def down(writes_only: bool = False):
        def fail(_conn, _cursor, statement, *_args):
            if not writes_only or statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
                raise sa.exc.OperationalError(statement, {}, ConnectionError("server closed the connection"))

        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", fail)
        try:
            yield
        finally:
            sa.event.remove(engine, "before_cursor_execute", fail)

    return down


def stored(app) -> list[dict]:
    with app.app_context():
        return [(intake.status, intake.answers) for intake in db.session.scalars(sa.select(Intake))]


@pytest.mark.parametrize("writes_only", [False, True])
def test_a_section_posted_during_an_outage_comes_back_with_what_was_typed(app, forms, outage, writes_only):
    token = start(forms)
    seed(app, token, until="goals")
    page_url = f"/i/{token}/goals"
    csrf = csrf_token(forms.client.get(page_url).get_data(as_text=True))
    before = stored(app)
    typed = [("csrf_token", csrf), ("goals", "hydration"), ("other_goal", "Brighter skin for June"),
             ("areas", "neck"), ("action", "continue")]
    with outage(writes_only=writes_only):
        response = forms.client.post(page_url, data=MultiDict(typed))
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert 'class="error-summary" role="alert"' in page and OUTAGE_MESSAGE in text(response)
    assert problems(page) == []  # no field is blamed: nothing the patient typed was wrong
    assert field_value(page, "other_goal") == "Brighter skin for June"
    assert 'value="neck"' in page and "checked" in page
    assert stored(app) == before  # nothing half-saved
    # The database is back: the same page sent again saves, without restarting anything.
    again = forms.client.post(page_url, data=MultiDict(typed))
    assert again.status_code == 302 and again.location.endswith(f"/i/{token}/skin")
    assert stored(app)[0][1]["goals"]["other_goal"] == "Brighter skin for June"


def test_a_submission_during_an_outage_is_not_a_false_success_and_can_be_sent_again(app, forms, outage):
    token = start(forms)
    seed(app, token)
    review = forms.client.get(f"/i/{token}/review").get_data(as_text=True)
    with outage(writes_only=True):
        response = forms.client.post(f"/i/{token}/submit", data={"csrf_token": csrf_token(review)})
    page = text(response)
    assert response.status_code == 503
    assert "The service is unavailable for a moment" in page and "Try again" in page
    assert [status for status, _answers in stored(app)] == ["draft"]
    # "Try again" posts the same form to the same address: submitted once.
    for _ in range(2):
        again = forms.client.post(f"/i/{token}/submit", data={"csrf_token": csrf_token(review)})
        assert again.status_code == 302 and again.location.endswith(f"/i/{token}")
    assert [status for status, _answers in stored(app)] == ["submitted"]
    with app.app_context():
        intake = db.session.scalar(sa.select(Intake))
        assert len(intake.assessments) == 1


def test_the_retry_form_keeps_the_fields_but_never_a_password(app, forms, outage):
    make_user(app)
    page = forms.client.get("/staff/sign-in").get_data(as_text=True)
    with outage():
        response = forms.client.post("/staff/sign-in", data={"csrf_token": csrf_token(page),
                                                             "email": "pat@demo.clinic", "password": "secret-typed"})
    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert 'name="email" value="pat@demo.clinic"' in body
    assert "secret-typed" not in body
    assert sign_in(forms).status_code == 302


@pytest.mark.parametrize("url", ["/i/" + "A" * 43, "/i/" + "A" * 43 + "/about"])
def test_pages_during_an_outage_say_so_with_a_503(app, client, outage, url):
    with outage():
        response = client.get(url)
    assert response.status_code == 503
    assert "The service is unavailable for a moment" in text(response)
    assert client.get(url).status_code == 404  # back: the plain answer for an unknown link


def test_starting_during_an_outage_gets_a_503_and_works_after(app, forms, outage):
    page = forms.client.get("/").get_data(as_text=True)
    with outage():
        response = forms.client.post("/start", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 503
    assert stored(app) == []
    assert start(forms)


def test_staff_pages_and_the_api_during_an_outage(app, forms, client, outage):
    make_user(app)
    sign_in(forms)
    make_admin(app)
    _id, secret = make_token(app)
    with outage():
        staff = forms.client.get("/staff/queue")
        api = client.get("/api/v1/intakes", headers=bearer(secret))
    assert staff.status_code == 503
    assert api.status_code == 503 and api.json["code"] == 503
    assert "nothing was stored" in api.json["message"]
    assert forms.client.get("/staff/queue").status_code == 200
    assert client.get("/api/v1/intakes", headers=bearer(secret)).status_code == 200




def test_a_connection_lost_after_the_answer_does_not_turn_it_into_a_500(app, forms):
    token = start(forms)

    def lost(connection):
        # As when the server ends the connection: it is gone (the transaction with it), and the rollback fails.
        sa.event.remove(engine, "rollback", lost)
        connection.invalidate()
        raise sa.exc.OperationalError("ROLLBACK", {}, ConnectionError("terminating connection"))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "rollback", lost)
    try:
        response = forms.client.get(f"/i/{token}/about")
    finally:
        if sa.event.contains(engine, "rollback", lost):
            sa.event.remove(engine, "rollback", lost)
    assert response.status_code == 200
    assert forms.client.get(f"/i/{token}/about").status_code == 200

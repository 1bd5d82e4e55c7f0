"""Session fixation: nothing a visitor (or an attacker) put in the session survives signing in."""

from __future__ import annotations

from tests.support.staff import sign_in


def session_cookie(client) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def test_the_session_cookie_and_its_content_change_on_sign_in(app, forms, practitioner):
    client = forms.client
    client.get("/staff/sign-in")
    with client.session_transaction() as session:
        session["planted"] = "fixed by an attacker"
        session["_user_id"] = "1.999"  # a forged identity of a generation that does not exist
    planted = session_cookie(client)
    assert client.get("/staff/queue").status_code == 302  # the forged identity opens nothing
    assert sign_in(forms).status_code == 302
    assert session_cookie(client) != planted
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] != "1.999"


def test_a_cookie_planted_from_another_browser_is_replaced_on_sign_in(app, forms, practitioner):
    attacker = app.test_client()
    attacker.get("/staff/sign-in")
    with attacker.session_transaction() as session:
        session["planted"] = "attacker"
    planted = session_cookie(attacker)
    forms.client.set_cookie("session", planted, domain="localhost")
    assert sign_in(forms).status_code == 302
    signed_in = session_cookie(forms.client)
    assert signed_in != planted
    # The attacker's copy of the planted cookie is still anonymous.
    assert attacker.get("/staff/queue").status_code == 302


def test_the_session_cookie_is_httponly_and_samesite(app, forms, practitioner):
    response = sign_in(forms)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie

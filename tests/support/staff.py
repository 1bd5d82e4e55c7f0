"""Staff accounts for the tests, and signing in the way a browser does."""

from __future__ import annotations

from intake.auth import service

PASSWORD = "correct horse battery"
SIGN_IN = "/staff/sign-in"


def make_user(app, email="pat@demo.clinic", role="practitioner", name="Pat Practitioner", password=PASSWORD):
    with app.app_context():
        return service.create_user(email, name, role, password).id


def sign_in(forms, email="pat@demo.clinic", password=PASSWORD, next_url="", **kwargs):
    return forms.post(SIGN_IN, {"email": email, "password": password, "next": next_url}, **kwargs)

"""Patient private links never reach the log: production refuses the console mailer and, without a
mail server, sends nothing (staff copy the link from the page)."""

from __future__ import annotations

import logging

from intake.config import MAIL_BACKENDS, build_config
from intake.extensions import mail
from intake.protection.encryption import generate_key
from tests.support.invitations import intake_named, invite, link_token
from tests.support.review import actions

PRODUCTION = {"MESO_ENV": "production", "SECRET_KEY": "k3Jd9-x0QpLm2vT7bN4cR8yW1zA6sE5u",
              "DATABASE_URL": "postgresql://meso@127.0.0.1/meso", "MESO_ENCRYPTION_KEYS": generate_key()}


def test_production_without_a_mail_server_does_not_fall_back_to_the_console(tmp_path):
    assert build_config(tmp_path, PRODUCTION)["MAIL_BACKEND"] == MAIL_BACKENDS["none"]
    assert build_config(tmp_path, {**PRODUCTION, "MAIL_SERVER": "smtp.clinic"})["MAIL_BACKEND"] == "smtp"
    assert build_config(tmp_path, {})["MAIL_BACKEND"] == "console"  # development only


def test_an_invitation_without_a_mail_server_logs_no_link(app, signed_in, caplog, capsys):
    app.config["MAIL_BACKEND"] = build_config(app.instance_path, PRODUCTION)["MAIL_BACKEND"]
    mail.init_app(app)
    try:
        with caplog.at_level(logging.DEBUG):
            html = invite(signed_in).get_data(as_text=True)
    finally:
        app.config["MAIL_BACKEND"] = "locmem"
        mail.init_app(app)
    token = link_token(html)  # shown to staff, once, on the page
    assert "The email could not be sent." in html
    captured = capsys.readouterr()
    assert token not in caplog.text + captured.out + captured.err
    assert "email is not set up" in caplog.text
    assert actions(app, intake_named(app, "Ruth Ellis").id)[-1] == "link.email_failed"

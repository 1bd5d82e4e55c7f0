"""Settings from the environment: one parser, every on/off spelling, a clear error naming the variable."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from intake import create_app
from intake.cli.data import check_config
from intake.config import ConfigError, Environment, build_config
from intake.protection.encryption import generate_key

GOOD_ENV = {"MESO_ENV": "production", "SECRET_KEY": "k3Jd9-x0QpLm2vT7bN4cR8yW1zA6sE5u",
            "DATABASE_URL": "postgresql://meso@127.0.0.1/meso", "MESO_ENCRYPTION_KEYS": generate_key()}


@pytest.mark.parametrize("spelling", ["1", "true", "TRUE", "True", "yes", "Yes", "on", "ON", "On", " on "])
def test_every_usual_spelling_of_on_means_on(tmp_path, spelling):
    config = build_config(tmp_path, {"MAIL_USE_TLS": spelling, "MAIL_USE_SSL": spelling})
    assert config["MAIL_USE_TLS"] is True and config["MAIL_USE_SSL"] is True


@pytest.mark.parametrize("spelling", ["0", "false", "FALSE", "no", "No", "off", "OFF"])
def test_every_usual_spelling_of_off_means_off(tmp_path, spelling):
    config = build_config(tmp_path, {"MAIL_USE_TLS": spelling, "REASSESS_IN_BACKGROUND": spelling})
    assert config["MAIL_USE_TLS"] is False and config["REASSESS_IN_BACKGROUND"] is False


@pytest.mark.parametrize(("name", "value", "message"), [
    ("MAIL_USE_TLS", "maybe", "MAIL_USE_TLS='maybe' is not on or off"),
    ("MAIL_USE_SSL", "enabled", "MAIL_USE_SSL='enabled' is not on or off"),
    ("REASSESS_IN_BACKGROUND", "2", "REASSESS_IN_BACKGROUND='2' is not on or off"),
    ("MAIL_PORT", "smtp", "MAIL_PORT='smtp' is not a whole number"),
    ("STAFF_SESSION_MINUTES", "0", "STAFF_SESSION_MINUTES='0' must be at least 1"),
    ("RULES_REFRESH_SECONDS", "soon", "RULES_REFRESH_SECONDS='soon' is not a number"),
    ("MESO_ENV", "prod", "MESO_ENV='prod' is not one of: development, production"),
])
def test_a_value_that_does_not_parse_stops_the_start_naming_the_variable(tmp_path, monkeypatch, name, value,
                                                                         message):
    with pytest.raises(ConfigError, match=message):
        build_config(tmp_path, {name: value})
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        create_app({"TESTING": True})


def test_check_config_reports_an_unreadable_on_off_setting():
    result = CliRunner().invoke(check_config, env={**GOOD_ENV, "MAIL_USE_TLS": "sometimes"})
    assert result.exit_code == 1 and "MAIL_USE_TLS='sometimes' is not on or off" in result.output


def test_unset_and_empty_settings_keep_their_documented_defaults(tmp_path):
    for env in ({}, {name: "" for name in ("MAIL_USE_TLS", "MAIL_PORT", "STAFF_SESSION_MINUTES", "LANGUAGES",
                                            "REASSESS_IN_BACKGROUND", "PATIENT_LINK_DAYS")}):
        config = build_config(tmp_path, env)
        assert config["MAIL_USE_TLS"] is False and config["MAIL_USE_SSL"] is False
        assert config["MAIL_PORT"] == 25 and config["MAIL_BACKEND"] == "console"
        assert config["STAFF_SESSION_MINUTES"] == 30 and config["PATIENT_LINK_DAYS"] == 60
        assert config["REASSESS_IN_BACKGROUND"] is True and config["LANGUAGES"] == ["en"]
        assert config["RULES_REFRESH_SECONDS"] == 5 and config["DRAFT_RETENTION_DAYS"] == 30
        assert config["ENV_NAME"] == "development"


def test_the_reader_reads_any_mapping():
    env = Environment({"A": " On ", "B": "12", "C": "x, y,,z", "D": "1.5"})
    assert env.boolean("A") is True and env.boolean("MISSING", True) is True
    assert env.integer("B", 0) == 12 and env.items("C") == ["x", "y", "z"] and env.number("D", 0) == 1.5


@pytest.mark.parametrize(("value", "days"), [
    ("", (3, 1)), ("1,3", (3, 1)), (" 7 , 2 ,2", (7, 2)), ("off", ()), ("OFF", ()), ("0", ()),
])
def test_reminder_days_are_a_list_or_off(tmp_path, value, days):
    assert build_config(tmp_path, {"REMINDERS_UNSUBMITTED_DAYS": value})["REMINDERS_UNSUBMITTED_DAYS"] == days


@pytest.mark.parametrize(("name", "value", "message"), [
    ("REMINDERS_UNSUBMITTED_DAYS", "3,x", "REMINDERS_UNSUBMITTED_DAYS='3,x' is not a list of days from 1 to 60"),
    ("REMINDERS_UNSUBMITTED_DAYS", "0,1", "is not a list of days from 1 to 60"),
    ("REMINDERS_DAY_BEFORE_HOUR", "24", "REMINDERS_DAY_BEFORE_HOUR=24 is not an hour of the day (0 to 23)"),
    ("REMINDERS_DIGEST_HOUR", "-1", "REMINDERS_DIGEST_HOUR='-1' must be at least 0"),
    ("REMINDERS_DIGEST", "sometimes", "REMINDERS_DIGEST='sometimes' is not on or off"),
])
def test_a_reminder_setting_that_does_not_parse_names_itself(tmp_path, name, value, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_config(tmp_path, {name: value})

"""The reminders settings page (issue 18) on both backends: an admin switches each kind on or off and times it,
the REMINDERS_* settings are the defaults until then, bad input comes back as typed with each field named, only
admins reach it, and the sending pass follows what was saved."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from intake.extensions import db
from intake.models import AuditEntry, SavedReminderSettings
from tests.support.html import checked, field_value, parse, problems
from tests.support.patient import text
from tests.support.reminders import APPOINTMENT, at, invited, rows, run, submitted_patient

PAGE = "/staff/clinic/reminders"
#: What the page sends when every box is ticked and every time is the usual one.
USUAL = {"unsubmitted": "y", "unsubmitted_days": "3, 1", "unsubmitted_hour": "10", "instructions": "y",
         "instruction_hour": "8", "day_before": "y", "day_before_hour": "10", "what_to_bring": "",
         "digest": "y", "digest_hour": "7"}


def chosen_hour(page: str, name: str) -> str | None:
    option = parse(page).select_one(f"select[name={name}] option[selected]")
    return None if option is None else str(option["value"])


def text_of(page: str) -> str:
    return " ".join(parse(page).get_text(" ").split())


def saved(app) -> SavedReminderSettings | None:
    with app.app_context():
        row = db.session.get(SavedReminderSettings, 1)
        if row is not None:
            db.session.expunge(row)
        return row


def test_the_page_shows_the_servers_settings_until_an_admin_saves(app, as_admin):
    app.config.update(REMINDERS_UNSUBMITTED_DAYS=(), REMINDERS_DIGEST_HOUR=6, REMINDERS_WHAT_TO_BRING="your glasses")
    page = as_admin.client.get(PAGE).get_data(as_text=True)
    assert "Not changed here yet" in text_of(page)
    # The form-not-sent reminder is off, its days the usual ones should an admin switch it on.
    assert checked(page, "unsubmitted") == []
    assert field_value(page, "unsubmitted_days") == "3, 1"
    assert checked(page, "digest") == ["y"] and chosen_hour(page, "digest_hour") == "6"
    assert parse(page).select_one("#what_to_bring").get_text() == "your glasses"
    assert "Europe/London" in text_of(page)
    assert saved(app) is None


def test_an_admin_saves_each_kind_and_the_change_is_audited(app, as_admin, admin):
    response = as_admin.post(PAGE, {**USUAL, "unsubmitted_days": "1, 5,5", "digest": "", "digest_hour": "6",
                                    "what_to_bring": "  a list of your medicines  "})
    assert response.status_code == 302 and response.location.endswith(PAGE)
    page = text(as_admin.client.get(PAGE))
    assert "Reminder settings saved. The next reminders pass follows them." in page
    assert "Last changed on" in page
    row = saved(app)
    assert (row.unsubmitted, row.unsubmitted_days, row.digest, row.digest_hour, row.what_to_bring, row.updated_by) \
        == (True, "5, 1", False, 6, "a list of your medicines", admin)
    html = as_admin.client.get(PAGE).get_data(as_text=True)
    assert field_value(html, "unsubmitted_days") == "5, 1" and checked(html, "digest") == []
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).filter_by(action="reminders.settings_changed"))
        assert entry is not None and entry.actor.startswith("staff:")
        assert entry.data["changes"] == {"unsubmitted_days": ["3, 1", "5, 1"], "digest": [True, False],
                                         "digest_hour": [7, 6], "what_to_bring": ["", "a list of your medicines"]}


def test_switched_off_the_form_reminder_keeps_its_days_and_blank_days_need_it_on(app, as_admin):
    assert as_admin.post(PAGE, {**USUAL, "unsubmitted": "", "unsubmitted_days": "7, 2"}).status_code == 302
    assert (saved(app).unsubmitted, saved(app).unsubmitted_days) == (False, "7, 2")
    response = as_admin.post(PAGE, {**USUAL, "unsubmitted_days": ""})
    assert response.status_code == 422
    assert problems(response.get_data(as_text=True)) == [
        ("#unsubmitted_days", "Enter days from 1 to 30, separated by commas, e.g. 3, 1.")]


def test_bad_input_comes_back_as_typed_naming_each_field_and_saves_nothing(app, as_admin):
    response = as_admin.post(PAGE, {**USUAL, "unsubmitted_days": "3, 45", "instruction_hour": "24",
                                    "day_before": "", "what_to_bring": "x" * 501, "digest_hour": "seven"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert problems(page) == [
        ("#unsubmitted_days", "Enter days from 1 to 30, separated by commas, e.g. 3, 1."),
        ("#instruction_hour", "Choose an hour from 00:00 to 23:00."),
        ("#what_to_bring", "Use 500 characters or fewer."),
        ("#digest_hour", "Choose an hour from 00:00 to 23:00."),
    ]
    tree = parse(page)
    for href, _message in problems(page):
        field = tree.select_one(href)
        assert field is not None and field.get("aria-invalid") == "true", href
    assert field_value(page, "unsubmitted_days") == "3, 45"
    assert tree.select_one("#what_to_bring").get_text() == "x" * 501
    assert checked(page, "day_before") == [] and chosen_hour(page, "unsubmitted_hour") == "10"
    assert saved(app) is None
    with app.app_context():
        assert db.session.scalar(select(AuditEntry).filter_by(action="reminders.settings_changed")) is None


def test_only_admins_reach_the_page(app, client, signed_in):
    assert signed_in.client.get(PAGE).status_code == 403
    assert signed_in.post(PAGE, USUAL, page="/staff/").status_code == 403
    signed_in.post("/staff/sign-out", {}, page="/staff/")
    response = client.get(PAGE)
    assert response.status_code == 302 and "/staff/sign-in" in response.location
    assert saved(app) is None


def test_the_clinic_pages_link_to_each_other(as_admin):
    for url in ("/staff/clinic/", PAGE):
        tree = parse(as_admin.client.get(url).get_data(as_text=True))
        links = {link["href"] for link in tree.select("nav[aria-label='Clinic settings'] a")}
        assert links == {"/staff/clinic/", PAGE}, url
        assert tree.select_one("nav[aria-label='Clinic settings'] a[aria-current=page]")["href"] == url


# --- the sending pass follows what was saved -------------------------------------------------------------


def test_a_kind_switched_off_on_the_page_is_not_sent_though_the_server_says_on(app, as_admin, outbox):
    invited(app)
    assert app.config["REMINDERS_UNSUBMITTED_DAYS"] == (3, 1)
    assert as_admin.post(PAGE, {**USUAL, "unsubmitted": ""}).status_code == 302
    assert run(app, at(APPOINTMENT - dt.timedelta(days=3), 12)).sent == 0
    assert outbox == [] and rows(app) == []
    # Switched back on, its days are the ones it kept.
    assert as_admin.post(PAGE, USUAL).status_code == 302
    assert run(app, at(APPOINTMENT - dt.timedelta(days=1), 12)).sent == 1


def test_changed_days_and_hour_are_when_the_form_reminder_goes(app, as_admin, outbox):
    invited(app)
    assert as_admin.post(PAGE, {**USUAL, "unsubmitted_days": "2", "unsubmitted_hour": "15"}).status_code == 302
    assert run(app, at(APPOINTMENT - dt.timedelta(days=3), 16)).sent == 0  # no longer a day it goes
    assert run(app, at(APPOINTMENT - dt.timedelta(days=2), 14, 59)).sent == 0
    assert run(app, at(APPOINTMENT - dt.timedelta(days=2), 15)).sent == 1
    assert rows(app) == [("unsubmitted", "sent", "")]


def test_the_day_before_says_what_to_bring_as_saved_at_its_hour(app, as_admin, outbox):
    submitted_patient(app, as_admin)
    app.config.update(REMINDERS_WHAT_TO_BRING="your glasses")
    assert as_admin.post(PAGE, {**USUAL, "instructions": "", "digest": "", "day_before_hour": "18",
                                "what_to_bring": "a list of your medicines"}).status_code == 302
    assert run(app, at(APPOINTMENT - dt.timedelta(days=1), 17, 59)).sent == 0
    assert run(app, at(APPOINTMENT - dt.timedelta(days=1), 18)).sent == 1
    [message] = outbox
    assert "Please bring: a list of your medicines" in message.body and "glasses" not in message.body


def test_the_digest_tells_staff_where_it_is_switched_off(app, as_admin, outbox):
    submitted_patient(app, as_admin)
    assert as_admin.post(PAGE, {**USUAL, "instructions": "", "day_before": ""}).status_code == 302
    assert run(app, at(APPOINTMENT - dt.timedelta(days=1), 7)).sent == 1
    [digest] = outbox
    assert digest.to == ["ada@demo.clinic"]
    assert "on the clinic's reminders page: http://localhost/staff/clinic/reminders" in digest.body

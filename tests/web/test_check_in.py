"""The appointment-day check-in through the patient's private link (issue 16), on both backends: the
window, the page, re-assessment with the check-in's date, the record and the queue, and a decision
that stands when nothing new is raised."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from intake.extensions import db
from intake.models import CheckIn, Intake
from tests.support.html import parse, problems
from tests.support.patient import complete, start, submit, text
from tests.support.review import acknowledge_all, decide, record_url

APPOINTMENT = dt.date(2026, 12, 9)  # tests.support.patient.APPOINTMENT
QUIET = {"last_drink": "earlier", "painkillers": "no", "new_medicine": "no", "cold_sore": "no", "infection": "no",
         "unwell": "no", "pregnant": "no", "treatment": "no"}


@pytest.fixture
def on_day(app):
    """Move the clinic's today (the app's TODAY setting) for one test."""
    pinned = app.config["TODAY"]

    def move(day: dt.date) -> None:
        app.config["TODAY"] = day

    yield move
    app.config["TODAY"] = pinned


@pytest.fixture
def patient(app, forms) -> tuple[str, int]:
    token = start(forms)
    complete(forms, token)
    assert submit(forms, token).status_code == 302
    with app.app_context():
        return token, db.session.scalar(select(Intake.id).order_by(Intake.id.desc()).limit(1))


def check_in(forms, token: str, page: str | None = None, **answers):
    """Post the check-in page (a None answer is left out, as an untouched question is)."""
    fields = {name: value for name, value in {**QUIET, **answers}.items() if value is not None}
    return forms.post(f"/i/{token}/check-in", fields, page=page or f"/i/{token}/check-in")


def test_before_the_window_the_page_says_when_it_opens(forms, patient):
    token, _ = patient
    html = text(forms.client.get(f"/i/{token}/check-in"))
    assert "Check-in opens on Monday 7 December 2026" in html
    assert "From Monday 7 December 2026, this page will ask you" in text(forms.client.get(f"/i/{token}"))


def test_after_the_appointment_it_is_closed(forms, patient, on_day):
    token, _ = patient
    on_day(APPOINTMENT + dt.timedelta(days=1))
    assert "Check-in closed at the end of your appointment day" in text(forms.client.get(f"/i/{token}/check-in"))
    response = check_in(forms, token, page="/")  # a page with a form, for the CSRF token
    assert response.status_code == 200 and "Check-in closed" in text(response)  # nothing stored


def test_in_the_window_the_status_page_links_to_it_and_the_page_asks(forms, patient, on_day):
    token, _ = patient
    on_day(APPOINTMENT - dt.timedelta(days=2))
    status = parse(text(forms.client.get(f"/i/{token}")))
    assert status.select_one(f'a[href="/i/{token}/check-in"]') is not None
    page = parse(text(forms.client.get(f"/i/{token}/check-in")))
    legends = " ".join(legend.get_text(" ", strip=True) for legend in page.select("legend"))
    assert "When did you last drink alcohol?" in legends and "Are you pregnant, or could you be?" in legends


def test_unanswered_questions_are_named_and_what_was_typed_kept(forms, patient, on_day):
    token, _ = patient
    on_day(APPOINTMENT - dt.timedelta(days=1))
    html = text(check_in(forms, token, cold_sore=None, unwell="yes"))
    assert ("#cold_sore-0", "Select yes if you have a cold sore or feel one starting.") in problems(html)
    assert parse(html).select_one('input[name="unwell"][value="yes"]').has_attr("checked")
    html = text(check_in(forms, token, painkillers="yes"))
    assert ("#painkillers_which", "Write which painkillers or supplements you took.") in problems(html)


def test_a_drink_last_night_raises_a_precaution_the_practitioner_sees(app, forms, patient, on_day, signed_in):
    token, intake_id = patient
    on_day(APPOINTMENT - dt.timedelta(days=1))
    response = check_in(forms, token, last_drink="yesterday")
    assert response.status_code == 302 and "checked_in=" in response.location
    assert "Thank you: your check-in was sent" in text(forms.client.get(response.location))
    with app.app_context():
        intake = db.session.get(Intake, intake_id)
        row = db.session.scalar(select(CheckIn).where(CheckIn.intake_id == intake_id))
        assert row.raised == ["alcohol-close-to-appointment"] and row.answers["last_drink"] == "yesterday"
        assert intake.answers["lifestyle"]["last_drink_on"] == "2026-12-07"
        assert intake.latest_assessment.assessed_on == dt.date(2026, 12, 8)
        assert intake.flagged_at_check_in and intake.review_status == "awaiting_review"
    record = parse(signed_in.client.get(record_url(intake_id)).get_data(as_text=True))
    block = record.select_one("#check-in")
    assert block is not None and "Alcohol within 48 hours of the appointment" in block.get_text()
    assert block.select_one('a[href="#flag-alcohol-close-to-appointment"]') is not None
    queue = parse(signed_in.client.get("/staff/queue").get_data(as_text=True))
    row_text = next(tr.get_text(" ", strip=True) for tr in queue.select("table.queue tbody tr")
                    if "Ana Pereira" in tr.get_text())
    assert "New flag at check-in" in row_text


def test_an_approval_stands_when_the_check_in_raises_nothing(app, forms, patient, on_day, signed_in):
    token, intake_id = patient
    acknowledge_all(signed_in, app, intake_id)
    assert decide(signed_in, app, intake_id, "approved_with_precautions").status_code == 302
    on_day(APPOINTMENT)
    assert check_in(forms, token).status_code == 302
    with app.app_context():
        intake = db.session.get(Intake, intake_id)
        assert intake.review_status == "approved_with_precautions" and not intake.flagged_at_check_in
        assert intake.checked_in_at is not None
    assert "Your treatment plan is agreed" in text(forms.client.get(f"/i/{token}"))
    record = parse(signed_in.client.get(record_url(intake_id)).get_data(as_text=True))
    assert "the decision stands" in record.select_one("#check-in").get_text()
    assert not record.select('form[action$="/decision"]')  # still signed and locked
    queue = parse(signed_in.client.get("/staff/queue?status=approved_with_precautions").get_data(as_text=True))
    assert "Checked in" in queue.select_one("table.queue tbody tr").get_text(" ", strip=True)


def test_a_cold_sore_at_check_in_puts_an_approved_intake_back_for_review(app, forms, patient, on_day, signed_in):
    token, intake_id = patient
    acknowledge_all(signed_in, app, intake_id)
    assert decide(signed_in, app, intake_id, "approved_with_precautions").status_code == 302
    on_day(APPOINTMENT - dt.timedelta(days=2))
    assert check_in(forms, token, cold_sore="yes").status_code == 302
    with app.app_context():
        intake = db.session.get(Intake, intake_id)
        flags = {flag["rule_id"]: flag for flag in intake.latest_assessment.document["flags"]}
        assert flags["active-cold-sore"]["severity"] in ("defer", "contraindicated")
        assert intake.review_status == "awaiting_review"
    assert "Your answers have been sent" in text(forms.client.get(f"/i/{token}"))


def test_a_treatment_in_the_future_is_refused(forms, patient, on_day):
    token, _ = patient
    on_day(APPOINTMENT - dt.timedelta(days=1))
    response = check_in(forms, token, treatment="yes", treatment_kind="filler", treatment_on="2026-12-20")
    assert ("#treatment_on", "The treatment cannot be in the future.") in problems(text(response))


# --- the front desk's tablet, by the appointment's code ----------------------------------------------


def code_of(app, intake_id: int) -> str:
    with app.app_context():
        return db.session.get(Intake, intake_id).check_in_code


def desk(forms, code: str):
    return forms.post("/desk", {"code": code}, page="/desk")


def test_the_code_is_on_the_patients_page_and_the_record(app, forms, patient, signed_in):
    token, intake_id = patient
    status = parse(text(forms.client.get(f"/i/{token}")))
    code = status.select_one(".check-in-notice strong.code").get_text(strip=True)
    assert len(code) == 9 and code[4] == "-" and code == code_of(app, intake_id)
    record = parse(signed_in.client.get(record_url(intake_id)).get_data(as_text=True))
    assert record.select_one(".record-facts strong.code").get_text(strip=True) == code


def test_a_wrong_code_and_a_closed_day_get_the_same_plain_answer(app, forms, patient, on_day, fresh_rate_limits):
    token, intake_id = patient
    forms.client.get(f"/i/{token}")  # the code is made when first shown
    code = code_of(app, intake_id)
    plain = "That code does not open a check-in today."
    assert plain in text(desk(forms, "ZZZZ-ZZZZ"))  # no such code
    assert plain in text(desk(forms, code))  # too early: the same words
    on_day(APPOINTMENT + dt.timedelta(days=1))
    assert plain in text(desk(forms, code))  # too late: the same words
    with app.app_context():
        assert db.session.scalar(select(CheckIn.id)) is None


def test_the_tablet_checks_a_patient_in_by_code(app, forms, patient, on_day, fresh_rate_limits):
    token, intake_id = patient
    forms.client.get(f"/i/{token}")
    code = code_of(app, intake_id)
    on_day(APPOINTMENT)
    page = parse(text(desk(forms, code.lower().replace("-", " "))))  # typed in lower case, with a space
    assert page.select_one('input[name="desk_code"]') is not None
    assert page.select_one("h1").get_text(strip=True) == "Check in for your appointment"
    response = forms.post("/desk/check-in", {**QUIET, "desk_code": code, "unwell": "yes"}, page="/desk")
    assert "Thank you: you are checked in" in text(response)
    with app.app_context():
        row = db.session.scalar(select(CheckIn).where(CheckIn.intake_id == intake_id))
        assert row is not None and "acute-illness" in row.raised
        from intake.models import AuditEntry
        actors = list(db.session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "intake.checked_in")))
        assert actors == ["desk"]


def test_codes_tried_at_the_desk_are_rate_limited(app, forms, fresh_rate_limits):
    app.config["DESK_CODE_RATE_LIMIT"] = "2 per minute"
    try:
        assert desk(forms, "AAAA-AAAA").status_code == 200
        assert desk(forms, "AAAA-AAAC").status_code == 200
        assert desk(forms, "AAAA-AAAD").status_code == 429
    finally:
        app.config["DESK_CODE_RATE_LIMIT"] = "10 per minute"


def test_a_check_in_saved_over_a_newer_intake_is_refused_and_nothing_stored(app, patient, on_day):
    from sqlalchemy import update

    from intake.patient import service
    from intake.rulesets.active import active_ruleset

    _token, intake_id = patient
    on_day(APPOINTMENT)
    answers = {"last_drink": "today", "painkillers": False, "new_medicine": False, "cold_sore": False,
               "infection": False, "unwell": False, "treatment": False}
    with app.test_request_context():
        intake = db.session.get(Intake, intake_id)
        with db.engine.begin() as other:  # another check-in, saved first
            other.execute(update(Intake).where(Intake.id == intake_id).values(version=Intake.version + 1))
        with pytest.raises(service.CheckInConflict):
            service.check_in(intake, answers, active_ruleset(), APPOINTMENT)
        assert db.session.scalar(select(CheckIn.id)) is None
        assert len(db.session.get(Intake, intake_id).assessments) == 1

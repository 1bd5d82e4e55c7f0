"""A decision reaches the patient, in headless Chromium (issue 13): a practitioner asks a question;
the patient answers on a phone and changes one answer; the practitioner sees what carried over
and what changed, overrides a flag and approves an edited plan; the patient reads the agreed
plan on their status page. axe-core checks every page."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from intake.auth import service as accounts
from intake.extensions import db, limiter
from intake.models import Intake
from intake.patient import service as patient
from intake.rulesets.active import active_ruleset
from intake.web import clinic
from tests.support.browser import PHONE, assert_accessible, open_flag, shot, watch_console
from tests.support.patient import seed
from tests.support.settings import TODAY

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
PRACTITIONER = "decision.pat@demo.clinic"
SHOTS = os.environ.get("MESO_SHOTS")



@pytest.fixture
def submitted(live_server) -> Iterator[tuple[int, str]]:
    """A patient's intake (ibuprofen, a cold-sore history, four drinks a week), submitted; and a practitioner."""
    app = live_server.app
    app.config.update(CLINIC_PHONE="020 7946 0000", CLINIC_EMAIL="hello@demo.clinic")
    with app.app_context():
        clinic.forget(app)
        if accounts.find_user(PRACTITIONER) is None:
            accounts.create_user(PRACTITIONER, "Dana Decider", "practitioner", PASSWORD)
        _intake, token = patient.start_intake({"full_name": "Iris Journey"})
    seed(app, token, overrides={"about": {"full_name": "Iris Journey", "email": "iris@example.org"},
                                "consent": {"signature": "Iris Journey"}})
    with app.test_request_context():
        intake = db.session.scalar(db.select(Intake).order_by(Intake.id.desc()).limit(1))
        patient.submit_intake(intake, active_ruleset(), TODAY)
        intake_id = intake.id
    yield intake_id, token
    app.config.update(CLINIC_PHONE="", CLINIC_EMAIL="")
    with app.app_context():
        clinic.forget(app)


@pytest.fixture
def staff(chromium, console_errors: list[str]) -> Iterator[Page]:
    limiter.reset()
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch_console(page, console_errors)
    yield page
    context.close()
    assert console_errors == [], "the browser console reported errors"


def on_phone(chromium, console_errors: list[str]):
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    watch_console(page, console_errors)
    return context, page


def test_a_question_an_answer_and_an_agreed_plan_reach_the_patient(
        chromium, staff: Page, live_server, submitted, console_errors: list[str]) -> None:
    intake_id, _token = submitted
    record = f"{live_server.url}/staff/intakes/{intake_id}"
    staff.goto(record)
    staff.get_by_label("Email address").fill(PRACTITIONER)
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Iris Journey")
    assert_accessible(staff)

    # Acknowledge the cold-sore history before asking: that review should survive the answer.
    open_flag(staff, "#flag-cold-sore-history")
    staff.locator("#flag-cold-sore-history").get_by_role("button", name="Acknowledge").click()
    expect(staff.locator("#flag-cold-sore-history")).to_contain_text("Acknowledged")
    staff.get_by_label("More information needed (ask the patient a question)").check()
    staff.get_by_label("Question for the patient").fill("How many drinks do you have in a week?")
    staff.get_by_role("checkbox", name="Lifestyle", exact=True).check()
    staff.get_by_role("button", name="Sign and record the decision").click()
    link = staff.get_by_label(re.compile("Private link")).input_value()
    assert_accessible(staff)

    # The patient, on a phone: the question is at the top of the reopened section.
    context, phone = on_phone(chromium, console_errors)
    phone.goto(link)
    expect(phone.get_by_role("heading", level=1)).to_have_text("The clinic needs more information")
    assert_accessible(phone)
    shot(phone, "decision-patient-question")
    phone.get_by_role("link", name="Change Lifestyle").click()
    expect(phone.get_by_role("region", name="The practitioner's question")).to_contain_text("drinks do you have")
    assert_accessible(phone)
    phone.get_by_label(re.compile("drinks", re.I)).fill("12")
    phone.get_by_role("button", name="Continue").click()
    phone.get_by_label("Your reply to the practitioner (optional)").fill("About twelve, mostly at weekends.")
    assert_accessible(phone)
    phone.get_by_role("button", name="Send my answers again").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your answers have been sent")
    assert_accessible(phone)
    context.close()

    # Back on the record: the review carried over, the answer that changed, the reply.
    staff.goto(record)
    expect(staff.locator("#flag-cold-sore-history")).to_contain_text("carried over from the review of")
    expect(staff.locator("#changes")).to_be_visible()
    expect(staff.locator("table.answer-changes")).to_contain_text("12")
    expect(staff.get_by_text("About twelve, mostly at weekends.").first).to_be_visible()
    assert_accessible(staff)
    shot(staff, "decision-record-after-answer")

    # Override the drinking flag with a reason, acknowledge the rest, edit the plan, approve.
    open_flag(staff, "#flag-heavy-drinking")
    drinking = staff.locator("#flag-heavy-drinking")
    drinking.get_by_label("Reason for overriding").fill("Weekend drinking only; advised none for 48 hours before.")
    drinking.get_by_role("button", name="Override with this reason").click()
    expect(staff.locator("#flag-heavy-drinking")).to_contain_text("Overridden")
    blocking = staff.locator("#blocking li a")
    for target in [blocking.nth(i).get_attribute("href") for i in range(blocking.count())]:
        open_flag(staff, target)
        staff.locator(target).get_by_role("button", name="Acknowledge").click()
    expect(staff.locator("#blocking")).to_have_count(0)
    staff.locator("details.plan-edit > summary").click()  # the plan editor is folded until wanted
    staff.get_by_label("Sessions", exact=True).fill("4")
    staff.get_by_label("Days between sessions").fill("21")
    staff.get_by_role("button", name="Save the plan").click()
    staff.get_by_label("Approved with precautions").check()
    staff.get_by_role("button", name="Sign and record the decision").click()
    expect(staff.get_by_role("status")).to_contain_text("Decision recorded and signed.")
    expect(staff.get_by_role("button", name="Amend decision")).to_be_visible()
    assert_accessible(staff)
    shot(staff, "decision-record-signed")

    # The patient opens the status page from the email, on a phone: the agreed plan.
    with live_server.app.app_context():
        message = live_server.app.extensions["mailman"].outbox[-1]
    status_link = re.search(r"http://\S+/s/\S+", message.body).group(0)
    context, phone = on_phone(chromium, console_errors)
    phone.goto(status_link)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your treatment plan is agreed")
    expect(phone.get_by_role("heading", name="Your agreed treatment plan")).to_be_visible()
    expect(phone.locator(".schedule li")).to_have_count(4)
    expect(phone.get_by_text("020 7946 0000")).to_be_visible()
    assert_accessible(phone)
    shot(phone, "decision-patient-status")
    context.close()

"""The patient's intake through the test client, CSRF on, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from intake.extensions import db
from intake.models import Assessment, AuditEntry, Intake, hash_token
from tests.support.html import checked, csrf_token, field_value, problems
from tests.support.patient import (
    APPOINTMENT,
    COMPLETE,
    EXPECTED_MEDICATIONS,
    SECTIONS,
    save,
    section_url,
    seed,
    start,
    submit,
    text,
)


def stored(app, token: str) -> Intake:
    with app.app_context():
        intake = db.session.scalar(select(Intake).where(Intake.token_hash == hash_token(token)))
        assert intake is not None
        db.session.expunge(intake)
        return intake


def count(app, model, **where) -> int:
    with app.app_context():
        query = select(func.count()).select_from(model).filter_by(**where)
        return db.session.scalar(query)


# -- the start page -------------------------------------------------------------------------


def test_start_page_explains_the_intake(client):
    page = text(client.get("/"))
    assert '<html lang="en" dir="ltr">' in page
    assert "<title>Before your mesotherapy appointment — Demo Mesotherapy Clinic</title>" in page
    assert "5 to 10 minutes" in page
    assert "names of any medicines" in page and "dates of any recent" in page
    assert "Your privacy" in page
    assert 'action="/start"' in page


def test_start_stores_a_draft_and_hands_out_the_private_link(app, forms):
    token = start(forms)
    intake = stored(app, token)
    assert intake.status == "draft" and intake.answers == {}
    assert intake.token_hash == hash_token(token) and token not in intake.token_hash


# -- the happy path -------------------------------------------------------------------------


def test_a_patient_completes_every_section_and_submits(app, client, forms):
    token = start(forms)
    for number, section in enumerate(SECTIONS, start=1):
        page = text(client.get(section_url(token, section)))
        assert f"Step {number} of {len(SECTIONS)}" in page
        response = save(forms, token, section)
        assert response.status_code == 302, problems(text(response))
    assert response.location.endswith(f"/i/{token}/review")

    review = text(client.get(f"/i/{token}/review"))
    assert "Check your answers before you submit" in review
    assert "Ibuprofen 200mg" in review and "Fish oil" in review
    assert "Type III: medium, sometimes burns, tans gradually" in review  # label, not the value 3
    assert review.count("Change<span") == len(SECTIONS)

    response = submit(forms, token)
    assert response.status_code == 302 and response.location.endswith(f"/i/{token}")

    intake = stored(app, token)
    assert intake.status == "submitted" and intake.submitted_at is not None
    assert intake.answers["medications"] == EXPECTED_MEDICATIONS
    assert intake.answers["about"]["appointment_date"] == APPOINTMENT
    assert intake.answers["consent"]["signed_at"]
    assert intake.full_name == "Ana Pereira" and intake.appointment_date == dt.date(2026, 12, 9)
    with app.app_context():
        assessments = db.session.scalars(select(Assessment).where(Assessment.intake_id == intake.id)).all()
        assert len(assessments) == 1
        assessment = assessments[0]
        assert assessment.ruleset_version
        document = assessment.document

    page = text(client.get(f"/i/{token}"))
    assert "Your answers have been sent" in page
    assert "What happens next" in page
    assert "A practitioner at Demo Mesotherapy Clinic will review your answers" in page
    instructions = document["instructions"]
    assert instructions, "the default rules give this patient something to do (alcohol, ibuprofen)"
    def in_date_order(item):
        return item["starts_on"] is not None, item["starts_on"] or "", -(item["days_before"] or 0)

    positions = [page.index(item["text"]) for item in sorted(instructions, key=in_date_order)]
    assert positions == sorted(positions), "instructions are listed in date order"
    for flag in document["flags"]:
        assert flag["message"] not in page, "practitioner-facing messages stay off the patient's page"
    assert "Before your appointment" in page and "Ibuprofen 200mg" in page
    assert count(app, AuditEntry, intake_id=intake.id, action="intake.viewed") == 1


def test_double_submission_is_stored_once(app, client, forms):
    token = start(forms)
    seed(app, token)
    # The same review page posted twice: a double click, or Back and submit again.
    review = client.get(f"/i/{token}/review").get_data(as_text=True)
    data = {"csrf_token": csrf_token(review)}
    first, second = client.post(f"/i/{token}/submit", data=data), client.post(f"/i/{token}/submit", data=data)
    assert first.status_code == second.status_code == 302
    assert second.location.endswith(f"/i/{token}")
    intake = stored(app, token)
    assert count(app, Assessment, intake_id=intake.id) == 1
    assert count(app, AuditEntry, intake_id=intake.id, action="intake.submitted") == 1


def test_a_male_patient_is_not_asked_the_pregnancy_questions(app, client, forms):
    token = start(forms)
    seed(app, token, until="health", overrides={"about": {"sex": "male"}})
    page = text(client.get(section_url(token, "health")))
    assert "Are you pregnant?" not in page and "breastfeeding" not in page
    response = save(forms, token, "health", {
        "pregnant": None, "trying_to_conceive": None, "breastfeeding": None, "recently_gave_birth": None,
        "hormonal_contraception": None,
    })
    assert response.status_code == 302
    health = stored(app, token).answers["health"]
    assert health["pregnant"] is None and health["breastfeeding"] is None


# -- validation: one or more errors per section ---------------------------------------------

CASES = [
    ("about", {"date_of_birth": "2030-01-01"}, "date_of_birth",
     "Your date of birth cannot be in the future."),
    ("about", {"appointment_date": "2026-11-01"}, "appointment_date",
     "The appointment date cannot be in the past."),
    ("about", {"email": "ana-at-example"}, "email",
     "Enter an email address like name@example.com."),
    ("about", {"full_name": "  "}, "full_name",
     "Enter your full name."),
    ("about", {"appointment_booked": None}, "appointment_booked-0",
     "Say whether you have booked your appointment."),
    ("about", {"appointment_date": "31/02/2027"}, "appointment_date",
     "Enter a real date."),
    ("goals", {"goals": [], "other_goal": ""}, "goals-0",
     "Choose at least one goal, or describe yours."),
    ("goals", {"areas": []}, "areas-0",
     "Choose at least one area."),
    ("goals", {"areas": ["face", "elbows"]}, "areas-0",
     "Choose one of the options given."),
    ("skin", {"fitzpatrick_type": None}, "fitzpatrick_type-0",
     "Select the description closest to your skin."),
    ("skin", {"keloid_scarring": "maybe"}, "keloid_scarring-0",
     "Select yes if you get raised or thick scars."),
    ("health", {"pregnant": "yes"}, "pregnancy_weeks",
     "Say how many weeks pregnant you are."),
    ("health", {"pregnant": "yes", "pregnancy_weeks": "50"}, "pregnancy_weeks",
     "Enter a number of weeks from 1 to 45."),
    ("health", {"breastfeeding": None}, "breastfeeding-0",
     "Select yes if you are breastfeeding."),
    ("health", {"conditions": ["none", "diabetes"]}, "conditions-0",
     "Untick “None of these”, or untick the others."),
    ("health", {"conditions": []}, "conditions-0",
     "Tick the conditions that apply to you, or “None of these”."),
    ("health", {"conditions": ["diabetes"]}, "diabetes_controlled-0",
     "Answer this question about your diabetes."),
    ("health", {"conditions": ["other"]}, "other_condition",
     "Describe the other condition."),
    ("health", {"recently_gave_birth": "yes", "delivery_date": "2024-01-01"}, "delivery_date",
     "Enter a date within the last year."),
    ("medications", {"items-1-stopped_on": ""}, "items-1-stopped_on",
     "Enter the date you stopped."),
    ("medications", {"items-1-stopped_on": "2026-12-01"}, "items-1-stopped_on",
     "The date you stopped cannot be in the future."),
    ("medications", {"items-0-name": ""}, "items-0-name",
     "Enter the name of the medicine or supplement."),
    ("medications", {key: None for key in COMPLETE["medications"] if key.startswith("items-")},
     "items-0-name", "Add at least one medication or supplement."),
    ("medications", {"has_medications": "no"}, "items-0-name",
     "You said you take none: remove the list or change the answer."),
    ("allergies", {"injection_reaction": "yes"}, "injection_reaction_details",
     "Describe the reaction you had."),
    ("allergies", {"anaphylaxis_history": None}, "anaphylaxis_history-0",
     "Select yes if you have ever had a severe allergic reaction."),
    ("lifestyle", {"alcohol_drinks_per_week": "lots"}, "alcohol_drinks_per_week",
     "Enter a whole number of drinks, like 0 or 6."),
    ("lifestyle", {"alcohol_drinks_per_week": "500"}, "alcohol_drinks_per_week",
     "Enter a number from 0 to 200."),
    ("treatments", {"items-0-on": "2026-12-24"}, "items-0-on",
     "Enter a past date for this treatment."),
    ("treatments", {"items-0-kind": ""}, "items-0-kind",
     "Choose the treatment."),
    ("treatments", {"items-0-kind": "", "items-0-on": "", "items-0-area": ""}, "items-0-kind",
     "Add the treatment and its date."),
    ("events", {"has_upcoming_events": "yes",
                "items-0-kind": "wedding", "items-0-on": "2026-10-01"},
     "items-0-on", "Enter a date in the next two years."),
    ("events", {"has_upcoming_events": "yes"}, "items-0-kind",
     "Add the event and its date."),
    ("consent", {"data_processing": None}, "data_processing",
     "You need to agree to this to continue."),
    ("consent", {"signature": "Someone Else"}, "signature",
     "Type your full name exactly as in “About you”."),
    ("consent", {"signature": ""}, "signature",
     "Type your full name to sign."),
]


@pytest.mark.parametrize(("section", "changes", "target", "message"), CASES,
                         ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_each_section_explains_what_to_fix_and_keeps_what_was_typed(app, forms, section, changes, target,
                                                                      message):
    token = start(forms)
    seed(app, token, until=section)
    response = save(forms, token, section, changes)
    page = text(response)
    assert response.status_code == 200
    assert (f"#{target}", message) in problems(page)
    assert page.count(message) >= 2, "the message is in the summary and beside the field"
    assert "<title>Error: " in page
    assert 'role="alert"' in page and "There is a problem" in page
    assert section not in (stored(app, token).completed_sections or [])
    # What was typed is shown again, valid or not.
    for name, value in {**COMPLETE[section], **changes}.items():
        if isinstance(value, str) and value.strip():
            if field_value(page, name) is not None:
                assert field_value(page, name) == value.strip(), name
            elif checked(page, name):
                assert checked(page, name) == [value], name


def test_errors_keep_ticked_boxes_and_rows(app, forms):
    token = start(forms)
    seed(app, token, until="health")
    page = text(save(forms, token, "health", {"conditions": ["diabetes", "epilepsy"], "pregnant": "yes"}))
    assert checked(page, "conditions") == ["diabetes", "epilepsy"]
    assert checked(page, "pregnant") == ["yes"]


# -- repeatable lists without JavaScript ----------------------------------------------------


def test_add_and_remove_medication_rows_post_back_without_validating(app, forms):
    token = start(forms)
    seed(app, token, until="medications")
    url = section_url(token, "medications")
    first_row = {"has_medications": "yes", "items-0-name": "Eliquis 5mg", "items-0-dose": "",
                 "items-0-status": "taking", "items-0-prescribed": "yes"}
    added = text(forms.post(url, [*first_row.items(), ("action", "add:items")]))
    assert problems(added) == [] and "There is a problem" not in added
    assert field_value(added, "items-0-name") == "Eliquis 5mg"
    assert checked(added, "items-0-prescribed") == ["yes"]
    assert field_value(added, "items-1-name") == ""
    assert 'id="items-1-name"' in added and "autofocus" in added.split('id="items-1-name"')[1].split(">")[0]

    two_rows = [*first_row.items(), ("items-1-name", "Fish oil"), ("items-1-status", "stopped"),
                ("items-1-stopped_on", "2026-10-01"), ("items-1-prescribed", "no")]
    removed = text(forms.post(url, [*two_rows, ("action", "remove:items:0")]))
    assert problems(removed) == []
    assert field_value(removed, "items-0-name") == "Fish oil"
    assert field_value(removed, "items-0-stopped_on") == "2026-10-01"
    assert 'name="items-1-name"' not in removed
    assert "medications" not in stored(app, token).answers, "adding and removing rows saves nothing"

    response = forms.post(url, [*two_rows, ("action", "continue")])
    assert response.status_code == 302
    items = stored(app, token).answers["medications"]["items"]
    assert [item["name"] for item in items] == ["Eliquis 5mg", "Fish oil"]


def test_removing_the_only_row_leaves_an_empty_one(app, forms):
    token = start(forms)
    seed(app, token, until="treatments")
    page = text(forms.post(section_url(token, "treatments"), [
        ("had_mesotherapy_before", "no"), ("has_recent_treatments", "yes"), ("items-0-kind", "laser"),
        ("items-0-on", "2026-10-10"), ("action", "remove:items:0")]))
    assert 'name="items-0-kind"' in page and 'name="items-1-kind"' not in page
    assert checked(page, "had_mesotherapy_before") == ["no"]


def test_a_list_never_grows_past_its_limit(app, forms):
    token = start(forms)
    seed(app, token, until="events")
    rows = [(f"items-{i}-kind", "other") for i in range(20)]
    page = text(forms.post(section_url(token, "events"), [("has_upcoming_events", "yes"), *rows,
                                                          ("action", "add:items")]))
    assert 'name="items-19-kind"' in page and 'name="items-20-kind"' not in page


def test_an_unknown_row_action_is_refused(app, forms):
    token = start(forms)
    seed(app, token, until="skin")
    assert forms.post(section_url(token, "skin"), [("action", "add:concerns")]).status_code == 400


# -- follow-up questions ----------------------------------------------------------------------


def test_follow_up_questions_are_on_the_page_under_their_question(app, client, forms):
    token = start(forms)
    seed(app, token, until="health")
    page = text(client.get(section_url(token, "health")))
    pregnant, weeks = page.index("Are you pregnant?"), page.index("How many weeks pregnant are you?")
    assert pregnant < page.index("If yes…", pregnant) < weeks < page.index("Are you trying to get pregnant?")
    assert 'data-reveal-for="pregnant" data-reveal-value="yes"' in page


def test_pregnancy_weeks_are_saved_only_when_pregnant(app, forms):
    token = start(forms)
    seed(app, token, until="health")
    assert save(forms, token, "health", {"pregnant": "no", "pregnancy_weeks": "12"}).status_code == 302
    assert stored(app, token).answers["health"]["pregnancy_weeks"] is None
    assert save(forms, token, "health", {"pregnant": "yes", "pregnancy_weeks": "12"}).status_code == 302
    assert stored(app, token).answers["health"]["pregnancy_weeks"] == 12


def test_not_booked_yet_stores_no_appointment(app, forms):
    token = start(forms)
    response = save(forms, token, "about", {"appointment_booked": "no", "appointment_date": ""})
    assert response.status_code == 302
    assert stored(app, token).answers["about"]["appointment_date"] is None


# -- the private link: resume, order, bad tokens --------------------------------------------


def test_resume_with_the_link_goes_where_the_patient_left_off_with_answers_filled_in(app, client, forms):
    token = start(forms)
    seed(app, token, until="skin")
    fresh = client.application.test_client()  # another browser: no cookies, only the link
    response = fresh.get(f"/i/{token}")
    assert response.status_code == 302 and response.location.endswith(f"/i/{token}/skin")
    about = text(fresh.get(section_url(token, "about")))
    assert field_value(about, "full_name") == "Ana Pereira"
    assert field_value(about, "date_of_birth") == "1988-04-12"
    assert checked(about, "sex") == ["female"] and checked(about, "appointment_booked") == ["yes"]
    goals = text(fresh.get(section_url(token, "goals")))
    assert sorted(checked(goals, "goals")) == ["fine_lines", "hydration"]


def test_resume_prefills_list_rows(app, client, forms):
    token = start(forms)
    seed(app, token, until="allergies")
    page = text(client.get(section_url(token, "medications")))
    assert field_value(page, "items-1-name") == "Fish oil"
    assert field_value(page, "items-1-stopped_on") == "2026-11-01"
    assert checked(page, "items-1-status") == ["stopped"]


def test_any_wrong_link_gets_the_same_plain_404(client, forms):
    token = start(forms)
    pages = [client.get(url) for url in (
        "/i/not-a-token", f"/i/{token[:-1]}x/about", f"/i/{'a' * 200}/about", f"/i/{token}/nonsense",
        f"/i/{token[:-2]}/review", "/i/unknown/plan.ics",
    )]
    assert {page.status_code for page in pages} == {404}
    assert len({page.get_data() for page in pages}) == 1
    assert "Page not found" in text(pages[0])


def test_sections_after_the_first_unfinished_one_cannot_be_skipped_to(app, client, forms):
    token = start(forms)
    seed(app, token, until="skin")
    assert client.get(section_url(token, "consent")).location.endswith(f"/i/{token}/skin")
    assert client.get(f"/i/{token}/review").location.endswith(f"/i/{token}/skin")
    # A hand-made post to a later section (the page itself cannot be opened).
    response = forms.post(section_url(token, "consent"), [("signature", "Ana Pereira")],
                          page=section_url(token, "skin"))
    assert response.status_code == 302 and response.location.endswith(f"/i/{token}/skin")
    assert "consent" not in stored(app, token).answers
    assert client.get(section_url(token, "about")).status_code == 200, "done sections can be revisited"


def test_save_and_finish_later_shows_the_private_link(app, client, forms):
    token = start(forms)
    response = save(forms, token, "about", action="later")
    assert response.status_code == 302 and response.location.endswith(f"/i/{token}/saved")
    page = text(client.get(response.location))
    assert "Your answers are saved" in page
    assert f'value="http://localhost/i/{token}"' in page
    assert stored(app, token).completed_sections == ["about"]


def test_every_section_shows_the_private_link(client, forms):
    token = start(forms)
    page = text(client.get(section_url(token, "about")))
    assert "Your private link" in page and f"http://localhost/i/{token}" in page


def test_changing_an_answer_from_the_review_returns_to_the_review(app, forms):
    token = start(forms)
    seed(app, token)
    response = forms.post(f"{section_url(token, 'lifestyle')}?next=review",
                          [("alcohol_drinks_per_week", "0"), ("smoking", "never"), ("recent_tanning", "no"),
                           ("action", "continue")])
    assert response.location.endswith(f"/i/{token}/review")


def test_private_pages_are_never_cached_nor_referred(client, forms):
    token = start(forms)
    for url in (section_url(token, "about"), f"/i/{token}/saved", "/i/nope"):
        response = client.get(url)
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"


# -- submission -----------------------------------------------------------------------------


def test_a_submission_that_no_longer_validates_goes_back_to_the_review(app, forms):
    token = start(forms)
    seed(app, token)
    app.config["TODAY"] = dt.date(2026, 12, 10)  # the appointment is now in the past
    response = submit(forms, token)
    assert response.status_code == 200
    page = text(response)
    assert (f"/i/{token}/about?next=review#appointment_date",
            "About you: The appointment date cannot be in the past.") in problems(page)
    assert stored(app, token).status == "draft"
    assert count(app, Assessment) == 0


def test_after_submission_the_link_is_read_only(app, client, forms):
    token = start(forms)
    seed(app, token)
    # A tab left open on a section before submitting, posted afterwards.
    old_page = csrf_token(client.get(section_url(token, "lifestyle")).get_data(as_text=True))
    submit(forms, token)
    before = stored(app, token).answers
    response = client.get(section_url(token, "lifestyle"))
    assert response.status_code == 302 and response.location.endswith(f"/i/{token}")
    response = client.post(section_url(token, "lifestyle"), data={
        "csrf_token": old_page, "alcohol_drinks_per_week": "30", "smoking": "current",
        "recent_tanning": "yes"})
    assert response.status_code == 302 and response.location.endswith(f"/i/{token}")
    assert stored(app, token).answers == before
    assert client.get(f"/i/{token}/review").location.endswith(f"/i/{token}")


def test_posting_without_the_csrf_token_is_refused(app, client, forms):
    token = start(forms)
    response = client.post(section_url(token, "about"), data={"full_name": "Ana", "action": "continue"})
    assert response.status_code == 400
    assert "Something in that request was not right" in text(response)
    assert client.post("/start").status_code == 400
    assert stored(app, token).answers == {}


# -- the proposed plan and its calendar file ---------------------------------------------


def submitted(app, forms, overrides=None) -> tuple[str, dict]:
    """A submitted intake's token and its stored assessment document."""
    token = start(forms)
    seed(app, token, overrides=overrides)
    assert submit(forms, token).status_code == 302
    with app.app_context():
        intake = db.session.scalar(select(Intake).where(Intake.token_hash == hash_token(token)))
        return token, intake.latest_assessment.document


def test_the_confirmation_shows_the_proposed_plan_with_its_dates(app, client, forms):
    token, document = submitted(app, forms)
    plan = document["plan"]
    assert plan["status"] == "proposed" and plan["schedule"]
    page = text(client.get(f"/i/{token}"))
    assert "Your proposed treatment plan" in page and "To be confirmed by your practitioner" in page
    first = dt.date.fromisoformat(plan["schedule"][0]["on"])
    assert f"Session 1:</strong> <time datetime=\"{first.isoformat()}\">" in page
    assert f'href="/i/{token}/plan.ics"' in page
    for note in plan["notes"]:
        assert note not in page, "the practitioner's plan notes stay on the staff side"


def test_the_plan_downloads_as_a_calendar_file(app, client, forms):
    from icalendar import Calendar

    token, document = submitted(app, forms)
    response = client.get(f"/i/{token}/plan.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    assert token.encode() not in response.data
    events = Calendar.from_ical(response.data).walk("VEVENT")
    sessions = [event for event in events if str(event["summary"]).startswith("Mesotherapy session")]
    schedule = document["plan"]["schedule"]
    assert [event.decoded("dtstart") for event in sessions] == [
        dt.date.fromisoformat(session["on"]) for session in schedule]
    assert all(str(event["status"]) == "TENTATIVE" for event in sessions), "not agreed yet"
    # Each dated instruction is a reminder on its day (the first session is the appointment here).
    reminders = [event for event in events if str(event["summary"]) == "Before your mesotherapy session"]
    dated = [item for item in document["instructions"] if item["starts_on"]]
    assert sorted((event.decoded("dtstart").isoformat(), str(event["description"])) for event in reminders) == sorted(
        (item["starts_on"], item["text"]) for item in dated)
    assert dated and all(event.walk("VALARM") for event in reminders)
    assert count(app, AuditEntry, action="intake.plan_downloaded") == 1


def test_no_calendar_before_submission_nor_when_treatment_is_not_advised(app, client, forms):
    token = start(forms)
    seed(app, token)
    assert client.get(f"/i/{token}/plan.ics").status_code == 404
    token, document = submitted(app, forms, overrides={"allergies": {"anaphylaxis_history": "yes"}})
    assert document["outcome"] == "contraindicated" and document["plan"]["status"] != "proposed"
    page = text(client.get(f"/i/{token}"))
    assert "Your practitioner will talk with you about whether, and when, treatment can go ahead." in page
    assert "Session 1:" not in page and "plan.ics" not in page
    assert client.get(f"/i/{token}/plan.ics").status_code == 404


def test_a_save_racing_another_tab_keeps_both_sections(app):
    """A draft changed by another request in between is re-read, not overwritten or failed."""
    import sqlalchemy as sa

    from intake.extensions import db
    from intake.models import Intake
    from intake.patient.service import save_section, start_intake

    with app.app_context():
        intake, _token = start_intake()
        stale = db.session.get(Intake, intake.id)
        # The other tab saves first, straight in the database: this session's copy is stale.
        with db.engine.begin() as connection:
            connection.execute(
                sa.update(Intake)
                .where(Intake.id == intake.id)
                .values(answers={"lifestyle": {"alcohol_drinks_per_week": 2, "smoking": "never",
                                               "recent_tanning": False}},
                        version=Intake.version + 1)
            )
        save_section(stale, "goals", {"goals": ["hydration"], "other_goal": "", "areas": ["face"]})
        db.session.expire_all()
        saved = db.session.get(Intake, intake.id)
        assert saved.answers["goals"]["goals"] == ["hydration"]
        assert saved.answers["lifestyle"]["alcohol_drinks_per_week"] == 2

"""A decision a clinic can stand behind, and a patient who hears it (issue 13), on both backends.

The severity ladder at approval; a signed decision locked until amended with a reason;
reviews carried over on re-submission; the patient's reply; the status page for each
outcome with the agreed plan and re-dated instructions; the calendar's UIDs and SEQUENCE;
notifications without health data, and their failures on the record.
"""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from icalendar import Calendar
from sqlalchemy import select

from intake.extensions import db, mail
from intake.models import Decision, FlagReview, Intake, Notification, PlanEdit
from intake.review import service
from intake.web import clinic
from tests.support.forms import FormClient
from tests.support.html import parse, problems
from tests.support.patient import complete, fields, start, submit, text
from tests.support.review import acknowledge_all, actions, decide, flags_of, record_url, review_flag, version
from tests.support.staff import make_user, sign_in

MESSAGE = "We can treat you once you have been off isotretinoin for six months."


def amend(forms, app, intake_id: int, reason: str = "The patient called with new information."):
    return forms.post(f"{record_url(intake_id)}/amend", {"version": version(app, intake_id),
                                                         "amendment_reason": reason}, page=record_url(intake_id))


def edit_plan(forms, app, intake_id: int, **changes):
    plan = {"version": version(app, intake_id), "sessions": 4, "interval_days": 21, **changes}
    with app.app_context():
        suggested = db.session.get(Intake, intake_id).latest_assessment.document["plan"]
    for area, depth in suggested["depth_mm"].items():
        plan.setdefault(f"depth_{area}_min", str(depth["min"]))
        plan.setdefault(f"depth_{area}_max", str(depth["max"]))
    return forms.post(f"{record_url(intake_id)}/plan", plan, page=record_url(intake_id))


def page(forms, intake_id: int) -> str:
    return forms.client.get(record_url(intake_id)).get_data(as_text=True)


def latest(app, model, **where):
    with app.app_context():
        query = select(model).filter_by(**where).order_by(model.id.desc()).limit(1)
        found = db.session.scalar(query)
        if found is not None:
            db.session.expunge(found)
        return found


# --- the severity ladder at the decision ------------------------------------------------------------


def titles_of(app, intake_id: int) -> dict[str, str]:
    """Each flag's title (as the rule file names it), by rule id."""
    with app.app_context():
        return {flag["rule_id"]: flag["title"]
                for flag in db.session.get(Intake, intake_id).latest_assessment.document["flags"]}


def test_an_open_defer_blocks_approval_until_overridden_with_a_reason(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Grace Okafor"]  # oral isotretinoin: defer
    response = decide(signed_in, app, intake_id, "approved")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    title = titles_of(app, intake_id)["oral-isotretinoin"]
    assert (f"{title} (defer): override it with a written reason, or decide to defer or not to treat "
            "before approving.") in [message for _link, message in problems(html)]
    assert parse(html).select_one('#blocking a[href="#flag-oral-isotretinoin"]') is not None
    review_flag(signed_in, app, intake_id, "oral-isotretinoin")  # acknowledging a defer is not enough
    assert decide(signed_in, app, intake_id, "approved").status_code == 422
    review_flag(signed_in, app, intake_id, "oral-isotretinoin", "override",
                "Stopped isotretinoin eight months ago; the ASDS consensus allows superficial treatment.")
    assert decide(signed_in, app, intake_id, "approved").status_code == 302
    assert latest(app, Decision).outcome == "approved"


def test_an_unacknowledged_precaution_blocks_approval(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Chloé Martin"]  # three precautions
    response = decide(signed_in, app, intake_id, "approved_with_precautions")
    assert response.status_code == 422
    messages = [message for _link, message in problems(response.get_data(as_text=True))]
    titles = titles_of(app, intake_id)
    assert sorted(messages) == sorted(f"{titles[rule]} (precaution): acknowledge it before approving."
                                      for rule in flags_of(app, intake_id, "precaution"))
    acknowledge_all(signed_in, app, intake_id)
    assert decide(signed_in, app, intake_id, "approved_with_precautions").status_code == 302


def test_deferring_and_declining_need_no_override_but_a_message_for_the_patient(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Grace Okafor"]
    response = decide(signed_in, app, intake_id, "deferred", defer_until="2027-01-18")
    assert response.status_code == 422
    assert "Write what the patient should read" in response.get_data(as_text=True)
    assert decide(signed_in, app, intake_id, "deferred", defer_until="2027-01-18",
                  patient_message=MESSAGE).status_code == 302
    decision = latest(app, Decision)
    assert (decision.outcome, decision.defer_until, decision.patient_message) == (
        "deferred", dt.date(2027, 1, 18), MESSAGE)


def test_info_items_are_shown_apart_never_open_never_reviewed(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Amelia Hart"]  # suitable: three info items, no flag to review
    html = page(signed_in, intake_id)
    info = parse(html).select_one("#info + details > ul.info-list")
    assert info is not None and len(info.select("li")) == len(flags_of(app, intake_id, "info")) == 3
    assert parse(html).select(".flag-list") == []
    assert not parse(html).select('form[action*="/flags/"]'), "no review form for an info item"
    assert "Nothing blocks approval." in html
    response = review_flag(signed_in, app, intake_id, "arrive-make-up-free", "override", "No need.")
    assert response.status_code == 422
    assert decide(signed_in, app, intake_id, "approved").status_code == 302


# --- a signed decision is final -----------------------------------------------------------------------


def signed(forms, app, intake_id: int) -> None:
    acknowledge_all(forms, app, intake_id)
    assert decide(forms, app, intake_id, "approved_with_precautions", note="Agreed.").status_code == 302


@pytest.mark.parametrize("route", ["flag", "plan", "decision", "more_information"])
def test_after_signing_nothing_on_the_record_changes(app, signed_in, demo_intakes, route):
    intake_id = demo_intakes["Chloé Martin"]
    signed(signed_in, app, intake_id)
    before = version(app, intake_id)
    if route == "flag":
        response = review_flag(signed_in, app, intake_id, "cold-sore-history", "override", "Changed my mind.")
    elif route == "plan":
        response = edit_plan(signed_in, app, intake_id)
    elif route == "decision":
        response = decide(signed_in, app, intake_id, "not_suitable", note="No.", patient_message="Sorry.")
    else:
        response = signed_in.post(f"{record_url(intake_id)}/decision",
                                  [("version", before), ("outcome", "more_information_needed"),
                                   ("question", "Any news?"), ("reopen", "skin")], page=record_url(intake_id))
    assert response.status_code == 422
    assert "A decision is signed: nothing on this record changes" in text(response)
    assert version(app, intake_id) == before
    with app.app_context():
        assert len(list(db.session.scalars(select(Decision)))) == 1


def test_a_signed_record_shows_no_forms_but_amend(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Chloé Martin"]
    signed(signed_in, app, intake_id)
    tree = parse(page(signed_in, intake_id))
    actions_ = [form["action"] for form in tree.select("form")]
    assert f"{record_url(intake_id)}/amend" in actions_
    assert not [action for action in actions_ if "/flags/" in action or action.endswith(("/plan", "/decision"))]


def test_an_admin_can_change_nothing_on_a_signed_record(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Chloé Martin"]
    signed(signed_in, app, intake_id)
    make_user(app, "ada@demo.clinic", "admin", "Ada Admin")
    admin = FormClient(app.test_client())
    sign_in(admin, "ada@demo.clinic")
    for url in ("amend", "decision", "plan", "flags/cold-sore-history"):
        response = admin.post(f"{record_url(intake_id)}/{url}", {"version": version(app, intake_id)},
                              page=record_url(intake_id))
        assert response.status_code == 403, url


def test_an_amendment_needs_a_reason_and_supersedes_with_the_full_history(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Chloé Martin"]
    signed(signed_in, app, intake_id)
    first = latest(app, Decision)
    response = amend(signed_in, app, intake_id, reason="  ")
    assert response.status_code == 422 and "Write why the signed decision needs amending." in text(response)
    assert amend(signed_in, app, intake_id, "She told us about a cold sore this morning.").status_code == 302
    html = page(signed_in, intake_id)
    assert "Amending the decision of" in html and "She told us about a cold sore this morning." in html
    # The record may change again while the decision being amended stays in force.
    assert review_flag(signed_in, app, intake_id, "cold-sore-history", "override",
                       "Antiviral cover prescribed.").status_code == 302
    assert decide(signed_in, app, intake_id, "deferred", defer_until="2026-12-20",
                  patient_message="Let the cold sore heal first.").status_code == 302
    second = latest(app, Decision)
    assert second.supersedes_id == first.id
    assert second.amendment_reason == "She told us about a cold sore this morning."
    with app.app_context():
        intake = db.session.get(Intake, intake_id)
        assert intake.amending_decision_id is None and intake.review_status == "deferred"
    history = parse(page(signed_in, intake_id)).select_one("#decision-history")
    assert history is not None and len(history.select("li")) == 2
    assert "Superseded on" in history.get_text() and "She told us about a cold sore" in history.get_text()
    assert actions(app, intake_id).count("decision.amended") == 1
    assert "decision.amendment_started" in actions(app, intake_id)


def test_two_practitioners_amending_at_once_the_second_gets_the_current_state(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Chloé Martin"]
    signed(signed_in, app, intake_id)
    stale = version(app, intake_id)
    assert amend(signed_in, app, intake_id, "First colleague's reason.").status_code == 302
    response = signed_in.post(f"{record_url(intake_id)}/amend", {"version": stale,
                                                                 "amendment_reason": "Second colleague's reason."},
                              page=record_url(intake_id))
    assert response.status_code == 409
    html = text(response)
    assert "Amendment of the decision started: First colleague's reason." in html
    assert "Second colleague's reason." in html  # what they typed is kept


def test_two_sessions_amending_on_postgresql_one_wins(app, demo_intakes, database_url, signed_in):
    if not database_url.startswith("postgresql"):
        pytest.skip("two concurrent connections need a server database")
    intake_id = demo_intakes["Chloé Martin"]
    signed(signed_in, app, intake_id)
    make_user(app, "sam@demo.clinic", "practitioner", "Sam Second")
    expected = version(app, intake_id)
    both_loaded = threading.Barrier(2)
    results: dict[str, str] = {}

    def start_amending(email: str) -> None:
        from intake.models import StaffUser

        with app.app_context():
            user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
            intake = db.session.get(Intake, intake_id)
            both_loaded.wait(timeout=10)
            try:
                service.start_amendment(intake, f"{email} amends", user, expected)
                results[email] = "won"
            except service.Conflict:
                results[email] = "conflict"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=start_amending, args=(email,))
               for email in ("pat@demo.clinic", "sam@demo.clinic")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results.values()) == ["conflict", "won"]
    assert actions(app, intake_id).count("decision.amendment_started") == 1


# --- reviews carry over; the patient replies ------------------------------------------------------------


def submitted_patient(app, forms, overrides=None) -> tuple[str, int]:
    """A fresh patient (ibuprofen, fish oil stopped, a cold-sore history, four drinks a week), submitted."""
    token = start(forms)
    complete(forms, token, overrides=overrides)
    assert submit(forms, token).status_code == 302
    with app.app_context():
        intake = db.session.scalar(select(Intake).order_by(Intake.id.desc()).limit(1))
        return token, intake.id


def ask(forms, app, intake_id: int, *sections: str):
    return forms.post(f"{record_url(intake_id)}/decision",
                      [("version", version(app, intake_id)), ("outcome", "more_information_needed"),
                       ("question", "How many drinks a week, honestly? And are you still taking ibuprofen?"),
                       *[("reopen", section) for section in sections]], page=record_url(intake_id))


def new_link(html: str) -> str:
    box = parse(html).select_one("#private-link-box")
    assert box is not None
    return box["value"].rsplit("/i/", 1)[1]


def test_reviews_carry_over_changed_answers_reopen_gone_flags_are_listed(app, signed_in, outbox):
    # Eight drinks a week: above the at-risk limit, a precaution whose answer then changes.
    token, intake_id = submitted_patient(app, signed_in, {"lifestyle": {"alcohol_drinks_per_week": "8"}})
    assert {"heavy-drinking", "cold-sore-history", "unprescribed-nsaid-or-aspirin"} <= set(
        flags_of(app, intake_id))
    acknowledge_all(signed_in, app, intake_id)
    review_flag(signed_in, app, intake_id, "cold-sore-history", "override", "Antiviral cover discussed.")
    assert edit_plan(signed_in, app, intake_id, sessions=4, interval_days=21).status_code == 302
    first_edit = latest(app, PlanEdit)
    link = new_link(ask(signed_in, app, intake_id, "medications", "lifestyle").get_data(as_text=True))

    # The patient sees the question on the reopened section, changes two answers and replies in words.
    section = text(signed_in.client.get(f"/i/{link}/lifestyle"))
    assert "The practitioner's question" in section and "honestly?" in section
    signed_in.post(f"/i/{link}/lifestyle", [*fields("lifestyle", {"alcohol_drinks_per_week": "10"}),
                                            ("action", "continue")])
    signed_in.post(f"/i/{link}/medications", [*fields("medications", {
        "items-0-name": None, "items-0-dose": None, "items-0-status": None, "items-0-prescribed": None,
        "items-1-name": "Fish oil", "items-1-status": "stopped"}), ("action", "continue")])
    response = signed_in.post(f"/i/{link}/submit", {"reply": "Ten drinks, and I stopped the ibuprofen."},
                              page=f"/i/{link}/review")
    assert response.status_code == 302

    with app.app_context():
        intake = db.session.get(Intake, intake_id)
        previous, current = intake.assessments[-2:]
        reviews = {r.rule_id: r for r in db.session.scalars(select(FlagReview).filter_by(assessment_id=current.id))}
        assert set(current.carried["kept"]) == set(reviews)
        assert reviews["cold-sore-history"].action == "overridden"
        assert reviews["cold-sore-history"].reason == "Antiviral cover discussed."
        assert reviews["cold-sore-history"].carried_from_id is not None
        assert "heavy-drinking" in current.carried["reopened"]
        assert "heavy-drinking" not in reviews
        assert "unprescribed-nsaid-or-aspirin" in [item["rule_id"] for item in current.carried["resolved"]]
        carried_edit = db.session.scalar(select(PlanEdit).filter_by(assessment_id=current.id))
        assert carried_edit is not None and carried_edit.carried_from_id == first_edit.id
        assert (carried_edit.plan["sessions"], carried_edit.plan["interval_days"]) == (4, 21)
        asking = db.session.scalar(select(Decision))
        assert asking.reply == "Ten drinks, and I stopped the ibuprofen." and asking.replied_at is not None
        assert previous.answers is not None and current.answers["lifestyle"]["alcohol_drinks_per_week"] == 10

    html = page(signed_in, intake_id)
    tree = parse(html)
    assert "carried over from the review of" in tree.select_one("#flag-cold-sore-history").get_text()
    assert "Open again" in tree.select_one("#flag-heavy-drinking").get_text()
    assert "Resolved by the patient's new answers" in html
    changes = {row.select_one("th").get_text(strip=True): [cell.get_text(strip=True) for cell in row.select("td")]
               for row in tree.select("table.answer-changes tbody tr")}
    assert ["8", "10"] in changes.values(), changes
    assert "Ten drinks, and I stopped the ibuprofen." in html
    assert {"intake.replied", "review.carried_over"} <= set(actions(app, intake_id))


def test_an_unsafe_plan_edit_is_dropped_with_the_reason(app, signed_in):
    token, intake_id = submitted_patient(app, signed_in)
    assert edit_plan(signed_in, app, intake_id, sessions=4).status_code == 302
    link = new_link(ask(signed_in, app, intake_id, "goals").get_data(as_text=True))
    signed_in.post(f"/i/{link}/goals", [*fields("goals", {"goals": ["hair_loss"], "areas": ["scalp"]}),
                                        ("action", "continue")])
    signed_in.post(f"/i/{link}/submit", {}, page=f"/i/{link}/review")
    with app.app_context():
        current = db.session.get(Intake, intake_id).latest_assessment
        assert current.carried["plan"] == {"carried": False,
                                           "dropped_because": ["The suggested treatment changed with the new answers."]}
        assert db.session.scalar(select(PlanEdit).filter_by(assessment_id=current.id)) is None
    html = page(signed_in, intake_id)
    assert "The earlier plan edit was dropped" in html and "The suggested treatment changed" in html


# --- what the patient sees, and hears ---------------------------------------------------------------------


def status_page(forms, token: str) -> str:
    return text(forms.client.get(f"/i/{token}"))


def test_before_a_decision_the_status_page_says_it_is_awaiting_review(app, signed_in):
    token, _intake_id = submitted_patient(app, signed_in)
    html = status_page(signed_in, token)
    assert "Your answers have been sent" in html and "will review your answers" in html
    assert "Your proposed treatment plan" in html and "To be confirmed by your practitioner" in html


def test_each_instruction_says_where_its_advice_comes_from(app, signed_in):
    token, _intake_id = submitted_patient(app, signed_in)
    items = parse(status_page(signed_in, token)).select("ol.checklist > li")
    cited = [item for item in items if item.select_one("details.checklist__source")]
    assert cited, "no instruction names its sources"
    links = cited[0].select("details.checklist__source .citations a[href^='https://']")
    assert links and all(link.get_text(strip=True) for link in links)


def test_an_approval_shows_the_agreed_plan_and_instructions_dated_for_its_first_session(app, signed_in, outbox):
    token, intake_id = submitted_patient(app, signed_in)
    acknowledge_all(signed_in, app, intake_id)
    with app.app_context():
        suggested = db.session.get(Intake, intake_id).latest_assessment.document["plan"]
    assert (suggested["sessions"], suggested["interval_days"]) != (4, 21)
    assert edit_plan(signed_in, app, intake_id, sessions=4, interval_days=21).status_code == 302
    assert decide(signed_in, app, intake_id, "approved_with_precautions").status_code == 302
    html = status_page(signed_in, token)
    assert "Your treatment plan is agreed" in html and "Your agreed treatment plan" in html
    assert "To be confirmed" not in html
    assert "A course of 4 sessions, about every 3 weeks." in html
    agreed = latest(app, Decision).plan
    first = dt.date.fromisoformat(agreed["schedule"][0]["on"])
    assert [time["datetime"] for time in parse(html).select(".schedule time")] == [
        (first + dt.timedelta(days=21 * n)).isoformat() for n in range(4)]
    for time in parse(html).select(".checklist time"):
        assert dt.date.fromisoformat(time["datetime"]) <= first  # never after the session it prepares


def test_a_deferral_moves_the_instructions_to_the_date_it_lifts(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Grace Okafor"]  # booked for 5 December
    with app.app_context():
        intake = db.session.get(Intake, intake_id)
        assert intake.appointment_date == dt.date(2026, 12, 5)
        token = service.issue_new_link(intake, "staff:test")
    assert decide(signed_in, app, intake_id, "deferred", defer_until="2027-01-18",
                  patient_message=MESSAGE).status_code == 302
    html = status_page(signed_in, token)
    assert "Your treatment needs to wait" in html
    assert "Treatment can go ahead from Monday 18 January 2027." in html
    assert MESSAGE in html
    assert "Please contact the clinic to book an appointment on or after Monday 18 January 2027." in html
    # The appointment of 5 December no longer dates anything: no date before the deferral lifts.
    assert all(dt.date.fromisoformat(t["datetime"]) >= dt.date(2027, 1, 18)
               for t in parse(html).select(".checklist time"))


def test_not_suitable_is_said_kindly_with_how_to_reach_the_clinic(app, signed_in, demo_intakes):
    app.config.update(CLINIC_PHONE="020 7946 0000", CLINIC_EMAIL="hello@demo.clinic")
    clinic.forget(app)  # settings are read at start; a worker keeps what it read
    intake_id = demo_intakes["Margaret Doyle"]
    with app.app_context():
        token = service.issue_new_link(db.session.get(Intake, intake_id), "staff:test")
    assert decide(signed_in, app, intake_id, "not_suitable", note="Anticoagulated.",
                  patient_message="Your blood thinner makes injections unsafe for you.").status_code == 302
    html = status_page(signed_in, token)
    assert "This treatment is not right for you now" in html and "This is to keep you safe." in html
    assert "Your blood thinner makes injections unsafe for you." in html
    assert "Anticoagulated." not in html, "the practitioner's note stays on the record"
    assert "020 7946 0000" in html and "hello@demo.clinic" in html


def test_more_information_shows_the_question_and_where_to_answer(app, signed_in):
    token, intake_id = submitted_patient(app, signed_in)
    link = new_link(ask(signed_in, app, intake_id, "lifestyle").get_data(as_text=True))
    html = text(signed_in.client.get(f"/i/{link}", follow_redirects=True))
    assert "The clinic needs more information" in html and "honestly?" in html
    assert parse(html).select_one("textarea#reply") is not None
    assert signed_in.client.get(f"/i/{token}").status_code == 404, "the earlier link was replaced"


def test_the_calendar_keeps_its_uids_and_raises_its_sequence_when_the_plan_changes(app, signed_in):
    token, intake_id = submitted_patient(app, signed_in)
    acknowledge_all(signed_in, app, intake_id)
    assert decide(signed_in, app, intake_id, "approved_with_precautions").status_code == 302

    def sessions() -> list:
        events = Calendar.from_ical(signed_in.client.get(f"/i/{token}/plan.ics").data).walk("VEVENT")
        return [event for event in events if str(event["summary"]).startswith("Mesotherapy session")]

    before = sessions()
    assert {str(event["status"]) for event in before} == {"CONFIRMED"}
    assert amend(signed_in, app, intake_id, "Longer gaps suit her work.").status_code == 302
    assert edit_plan(signed_in, app, intake_id, sessions=len(before), interval_days=28).status_code == 302
    assert decide(signed_in, app, intake_id, "approved_with_precautions").status_code == 302
    after = sessions()
    assert [str(e["uid"]) for e in after] == [str(e["uid"]) for e in before]
    assert all(int(a["sequence"]) > int(b["sequence"]) for b, a in zip(before, after, strict=True))
    days = [event.decoded("dtstart") for event in after]
    gaps = {(later - earlier).days for earlier, later in zip(days, days[1:], strict=False)}
    assert gaps == {28}


HEALTH_WORDS = re.compile(r"cold sore|alcohol|ibuprofen|drink|approved|defer|suitable|isotretinoin|blood", re.I)


def test_the_patient_is_emailed_a_link_to_their_status_without_health_data(app, signed_in, demo_intakes, outbox):
    intake_id = demo_intakes["Grace Okafor"]
    assert decide(signed_in, app, intake_id, "deferred", defer_until="2027-01-18",
                  patient_message=MESSAGE).status_code == 302
    [message] = outbox
    assert message.to == ["grace.okafor@example.org"]
    assert not HEALTH_WORDS.search(message.subject) and not HEALTH_WORDS.search(message.body)
    status_url = re.search(r"http://localhost(/s/\S+)", message.body).group(1)
    html = text(signed_in.client.get(status_url))
    assert "Treatment can go ahead from Monday 18 January 2027." in html
    assert latest(app, Notification, intake_id=intake_id).status == "sent"
    assert "link.status_viewed" not in actions(app, intake_id)  # (the action is intake.status_viewed)
    assert "intake.status_viewed" in actions(app, intake_id)


def test_a_failing_mail_server_leaves_the_decision_and_the_failure_on_the_record(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Grace Okafor"]
    app.config["MAIL_BACKEND"] = "smtp"
    app.config["MAIL_SERVER"], app.config["MAIL_PORT"] = "127.0.0.1", 9  # nothing listens there
    app.config["OUTBOX_MAX_ATTEMPTS"] = 1  # no retry: the failure is final (retries: tests/web/test_outbox.py)
    mail.init_app(app)
    try:
        response = decide(signed_in, app, intake_id, "deferred", defer_until="2027-01-18", patient_message=MESSAGE)
    finally:
        app.config["MAIL_BACKEND"] = "locmem"
        mail.init_app(app)
    assert response.status_code == 302
    assert latest(app, Decision).outcome == "deferred"
    failed = latest(app, Notification, intake_id=intake_id)
    assert failed.status == "failed" and failed.kind == "decision" and failed.error
    html = page(signed_in, intake_id)
    messages = parse(html).select_one("#messages + .table-wrap")
    assert messages is not None and "Failed" in messages.get_text()
    assert "link.email_failed" in actions(app, intake_id)


# --- the clinic has an identity -------------------------------------------------------------------------


def test_every_page_that_says_contact_the_clinic_shows_how(app, signed_in, demo_intakes):
    app.config.update(CLINIC_PHONE="020 7946 0000", CLINIC_ADDRESS="1 High Street, London")
    clinic.forget(app)  # settings are read at start; a worker keeps what it read
    token = start(signed_in)
    complete(signed_in, token, until="consent")
    pages = {
        "consent section": signed_in.client.get(f"/i/{token}/consent"),
        "saved page": signed_in.client.get(f"/i/{token}/saved"),
        "an unknown link": signed_in.client.get("/i/no-such-token"),
    }
    complete(signed_in, token)
    pages["review before submitting"] = signed_in.client.get(f"/i/{token}/review")
    submit(signed_in, token)
    pages["status page"] = signed_in.client.get(f"/i/{token}")
    for name, response in pages.items():
        html = text(response)
        assert "contact" in html.lower() or "tell the clinic" in html, name
        assert "020 7946 0000" in html and "1 High Street, London" in html, name


def test_an_admin_sets_the_clinic_details_and_patients_see_them(app, forms, admin, demo_intakes):
    sign_in(forms, "ada@demo.clinic")
    response = forms.post("/staff/clinic/", {"name": "Glow Clinic", "phone": "0161 496 0000", "email": "not an email",
                                             "address": "", "opening_hours": "", "contact_note": ""})
    assert response.status_code == 422 and "Enter an email address like clinic@example.com." in text(response)
    assert 'value="0161 496 0000"' in response.get_data(as_text=True)  # kept as typed
    response = forms.post("/staff/clinic/", {"name": "Glow Clinic", "phone": "0161 496 0000",
                                             "email": "hello@glow.example", "address": "2 Market Street",
                                             "opening_hours": "Mon–Fri 9–6", "contact_note": "Call after 10am."})
    assert response.status_code == 302
    html = text(forms.client.get("/i/no-such-token"))
    assert "Glow Clinic" in html and "0161 496 0000" in html and "Call after 10am." in html
    with app.app_context():
        from intake.models import AuditEntry

        entry = db.session.scalar(select(AuditEntry).filter_by(action="clinic.updated"))
        assert entry is not None and set(entry.data["changes"]) >= {"name", "phone", "email"}


def test_a_practitioner_cannot_change_the_clinic_details(app, signed_in):
    assert signed_in.client.get("/staff/clinic/").status_code == 403


# --- save and finish later keeps what is there ------------------------------------------------------------


def test_saving_for_later_keeps_invalid_and_unfinished_answers(app, signed_in):
    token = start(signed_in)
    complete(signed_in, token, until="about")
    typed = fields("about", {"date_of_birth": "1988-02-31", "email": "", "appointment_date": None})
    response = signed_in.post(f"/i/{token}/about", [*typed, ("action", "later")])
    assert response.status_code == 302 and response.location.endswith("/saved")
    with app.app_context():
        intake = db.session.scalar(select(Intake).order_by(Intake.id.desc()).limit(1))
        assert "about" not in (intake.answers or {}) and intake.completed_sections == []
        assert ["full_name", "Ana Pereira"] in intake.drafts["about"]
    html = signed_in.client.get(f"/i/{token}/about").get_data(as_text=True)
    tree = parse(html)
    assert tree.select_one("#full_name")["value"] == "Ana Pereira"
    assert tree.select_one("#date_of_birth")["value"] == "1988-02-31"
    assert "You saved this page before it was finished" in text(signed_in.client.get(f"/i/{token}/about"))
    assert problems(html), "what still needs doing is said"
    response = signed_in.post(f"/i/{token}/about", [*fields("about"), ("action", "continue")])
    assert response.status_code == 302 and response.location.endswith("/goals")
    with app.app_context():
        intake = db.session.scalar(select(Intake).order_by(Intake.id.desc()).limit(1))
        assert intake.drafts == {} and intake.answers["about"]["full_name"] == "Ana Pereira"

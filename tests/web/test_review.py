"""The review queue, the intake record, flag reviews, plan edits and signed decisions, on both backends."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import select

from intake.extensions import db
from intake.models import Decision, FlagReview, Intake, PlanEdit
from intake.review import queries as review_queue
from intake.review import service
from tests.support.html import checked, csrf_token, input_attributes, parse, row_of, status_counts
from tests.support.review import actions, flags_of, names, record_url, review_flag, version
from tests.support.settings import TODAY
from tests.support.staff import make_user, sign_in

#: The demo intakes by name, in the queue's default order (highest severity, then soonest appointment).
DEFAULT_ORDER = [
    "Margaret Doyle", "Jade Carter", "Daniel Kim",  # contraindicated; Daniel has no appointment
    "Sofia Rossi", "Lucy Brennan", "Grace Okafor", "Hannah Lewis",  # defer
    "Tom Becker", "Chloé Martin", "Nina Petrova", "Priya Nair",  # precaution
    "Amelia Hart",  # suitable
]


# --- access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [
    ("GET", "/staff/queue"), ("GET", "/staff/intakes/1"), ("GET", "/staff/intakes/1/print"),
    ("POST", "/staff/intakes/1/flags/pregnancy"), ("POST", "/staff/intakes/1/plan"),
    ("POST", "/staff/intakes/1/decision"),
])
def test_anonymous_visitors_are_sent_to_sign_in(client, method, path):
    token = csrf_token(client.get("/staff/sign-in").get_data(as_text=True))
    response = client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
    assert response.status_code == 302
    assert response.location.split("?")[0].endswith("/staff/sign-in")


def test_every_page_works_for_a_practitioner(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Hannah Lewis"]
    for path in ("/staff/queue", record_url(intake_id), f"{record_url(intake_id)}/print"):
        assert signed_in.client.get(path).status_code == 200, path
    assert signed_in.client.get("/staff/intakes/999999").status_code == 404
    assert 'href="/staff/queue"' in signed_in.client.get("/staff/").get_data(as_text=True)


def test_an_admin_can_read_but_not_decide(app, forms, demo_intakes):
    make_user(app, "ada@demo.clinic", "admin", "Ada Admin")
    sign_in(forms, email="ada@demo.clinic")
    intake_id = demo_intakes["Amelia Hart"]
    assert forms.client.get(record_url(intake_id)).status_code == 200
    response = forms.post(f"{record_url(intake_id)}/decision",
                          {"version": version(app, intake_id), "outcome": "approved"}, page=record_url(intake_id))
    assert response.status_code == 403


# --- the queue ----------------------------------------------------------------------------------


def test_the_queue_lists_highest_severity_then_soonest_appointment(signed_in, demo_intakes):
    html = signed_in.client.get("/staff/queue").get_data(as_text=True)
    assert names(html) == DEFAULT_ORDER
    assert "<caption>12 intakes</caption>" in html
    assert status_counts(html)["Awaiting review"] == 12
    assert status_counts(html)["Started, not submitted"] == 1
    assert '<label class="label" for="q">Name or email (a word or its first letters)</label>' in html
    assert '<th scope="col">Open flags</th>' in html


def test_the_queue_filters(signed_in, demo_intakes):
    def listed(query: str) -> list[str]:
        return names(signed_in.client.get(f"/staff/queue?{query}").get_data(as_text=True))

    assert listed("severity=contraindicated") == ["Margaret Doyle", "Jade Carter", "Daniel Kim"]
    assert listed("q=PETROVA") == ["Nina Petrova"]
    assert listed("q=grace.okafor@EXAMPLE") == ["Grace Okafor"]
    assert listed("q=%25") == []  # a wildcard is searched for literally
    assert listed("appointment_from=2026-11-28&appointment_to=2026-11-30") == [
        "Sofia Rossi", "Lucy Brennan", "Tom Becker"]
    assert listed("status=draft") == ["Oliver Grant"]
    assert len(listed("status=all")) == 13
    # Names are encrypted at rest: no sort by name; search finds words by their start, accents aside.
    assert "sort=name" not in signed_in.client.get("/staff/queue").get_data(as_text=True)
    assert listed("q=chloe") == ["Chloé Martin"]
    assert listed("q=nin+petr") == ["Nina Petrova"]
    assert listed("q=ni") == []  # two letters match whole words only
    assert listed("sort=appointment&severity=defer") == ["Sofia Rossi", "Lucy Brennan", "Grace Okafor", "Hannah Lewis"]


def test_bad_filters_are_explained(signed_in, demo_intakes):
    response = signed_in.client.get("/staff/queue?appointment_from=31-31-2026&severity=nonsense")
    assert response.status_code == 400
    assert "There is a problem" in response.get_data(as_text=True)


def test_the_queue_paginates_and_keeps_filters(signed_in, demo_intakes, monkeypatch):
    monkeypatch.setattr(review_queue, "PER_PAGE", 5)
    first = signed_in.client.get("/staff/queue?sort=severity").get_data(as_text=True)
    assert names(first) == DEFAULT_ORDER[:5]
    assert "page 1 of 3" in first
    assert 'href="/staff/queue?page=2&amp;sort=severity" rel="next"' in first
    third = signed_in.client.get("/staff/queue?sort=severity&page=3").get_data(as_text=True)
    assert names(third) == DEFAULT_ORDER[10:]
    assert names(signed_in.client.get("/staff/queue?page=99").get_data(as_text=True)) == DEFAULT_ORDER[10:]


def test_rows_show_open_flags_and_counts_follow_decisions(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Hannah Lewis"]
    total = len(flags_of(app, intake_id))
    def open_flags(html: str) -> int:  # the first whole number of Hannah's row
        return int(next(cell for cell in row_of(html, "Hannah Lewis") if cell.isdigit()))

    html = signed_in.client.get("/staff/queue").get_data(as_text=True)
    assert open_flags(html) == total
    review_flag(signed_in, app, intake_id, "pregnancy")
    html = signed_in.client.get("/staff/queue").get_data(as_text=True)
    assert open_flags(html) == total - 1
    signed_in.post(f"{record_url(intake_id)}/decision",
                   {"version": version(app, intake_id), "outcome": "deferred", "defer_until": "2027-09-01",
                    "patient_message": "We can treat you after your baby is born and you have stopped breastfeeding."},
                   page=record_url(intake_id))
    html = signed_in.client.get("/staff/queue").get_data(as_text=True)
    assert "Hannah Lewis" not in names(html)
    assert status_counts(html)["Deferred"] == 1
    assert names(signed_in.client.get("/staff/queue?status=deferred").get_data(as_text=True)) == ["Hannah Lewis"]


# --- the record ---------------------------------------------------------------------------------


def test_the_record_shows_answers_flags_plan_and_history(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Hannah Lewis"]
    html = signed_in.client.get(record_url(intake_id)).get_data(as_text=True)
    assert "Pregnant. Mesotherapy and skin boosters are not used in pregnancy" in html
    assert "<code>precautions/pregnancy.yaml:11</code>" in html
    assert "Are you pregnant? Yes" in html and "<code>health.pregnant equals true</code>" in html
    sources = parse(html).select_one("#flag-pregnancy .citations")
    link = sources.select_one('a[href="https://azpmu.org/blogs/news/mesotherapy-pre-and-post-care-information-for-aestheticians"]')
    assert link is not None and link.get_text(strip=True).startswith("AZPMU. Mesotherapy pre and post care")
    assert '<span class="badge badge--defer">Defer</span>' in html
    with app.app_context():
        ruleset_version = db.session.get(Intake, intake_id).latest_assessment.ruleset_version
    assert ruleset_version[:12] in html
    assert "no date it lifts: date to be set by the practitioner" in html  # a deferral without a date
    assert 'id="summary-medications"' in html and "hannah.lewis@example.org" in html  # every section
    assert "Record viewed by Pat Practitioner" in html  # history, newest first
    assert actions(app, intake_id)[-1] == "intake.viewed"


def test_printing_is_audited_and_shows_the_signature(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Amelia Hart"]
    signed_in.post(f"{record_url(intake_id)}/decision",
                   {"version": version(app, intake_id), "outcome": "approved", "note": "All clear."},
                   page=record_url(intake_id))
    html = signed_in.client.get(f"{record_url(intake_id)}/print").get_data(as_text=True)
    assert "Consultation record: Amelia Hart" in html
    assert "Session 4:" in html and "Hydration and glow" in html  # the plan and its dated schedule
    assert re.search(r"Pat Practitioner, \d+ \w+ \d{4}, \d\d:\d\d<br>", html)  # the signature
    assert "All clear." in html
    assert "<form class=\"decision-form" not in html
    assert actions(app, intake_id)[-1] == "intake.printed"


# --- flags --------------------------------------------------------------------------------------


def test_acknowledging_a_flag_is_recorded_and_audited(app, signed_in, demo_intakes, practitioner):
    intake_id = demo_intakes["Hannah Lewis"]
    before = version(app, intake_id)
    response = review_flag(signed_in, app, intake_id, "pregnancy", at_version=before)
    assert response.status_code == 302 and response.location.endswith(f"{record_url(intake_id)}#flags")
    assert version(app, intake_id) == before + 1
    with app.app_context():
        review = db.session.scalar(select(FlagReview))
        assert (review.rule_id, review.action, review.staff_user_id) == ("pregnancy", "acknowledged", practitioner)
    assert actions(app, intake_id)[-1] == "flag.acknowledged"
    html = signed_in.client.get(record_url(intake_id)).get_data(as_text=True)
    assert "Acknowledged</span>" in html and "by Pat Practitioner" in html


def test_overriding_needs_a_reason(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Hannah Lewis"]
    response = review_flag(signed_in, app, intake_id, "pregnancy", "override", " ")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Write why this flag may be overridden." in html
    assert 'href="#flag-pregnancy-reason"' in html
    with app.app_context():
        assert db.session.scalar(select(FlagReview)) is None
    assert "flag.overridden" not in actions(app, intake_id)

    response = review_flag(signed_in, app, intake_id, "pregnancy", "override",
                           "Delivered last month; not breastfeeding.")
    assert response.status_code == 302
    with app.app_context():
        review = db.session.scalar(select(FlagReview))
        assert (review.action, review.reason) == ("overridden", "Delivered last month; not breastfeeding.")
    assert actions(app, intake_id)[-1] == "flag.overridden"


def test_an_unknown_flag_is_refused(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Amelia Hart"]
    response = review_flag(signed_in, app, intake_id, "no-such-rule")
    assert response.status_code == 422
    assert "is not on this intake" in response.get_data(as_text=True)


# --- decisions ----------------------------------------------------------------------------------


def test_a_contraindication_blocks_approval_until_overridden_with_a_reason(app, signed_in, demo_intakes, practitioner):
    intake_id = demo_intakes["Margaret Doyle"]
    [blocking] = flags_of(app, intake_id, "contraindicated")
    decide = {"outcome": "approved", "note": "Discussed with her GP."}
    response = signed_in.post(f"{record_url(intake_id)}/decision", {"version": version(app, intake_id), **decide},
                              page=record_url(intake_id))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    with app.app_context():
        title = next(flag["title"] for flag in db.session.get(Intake, intake_id).latest_assessment.document["flags"]
                     if flag["rule_id"] == blocking)
    assert (f"{title} (contraindicated): override it with a written reason, or decide to defer or not to "
            "treat before approving.") in html
    assert "Discussed with her GP." in html  # the typed note is kept
    assert f'href="#flag-{blocking}"' in html

    review_flag(signed_in, app, intake_id, blocking)
    response = signed_in.post(f"{record_url(intake_id)}/decision", {"version": version(app, intake_id), **decide},
                              page=record_url(intake_id))
    assert response.status_code == 422  # acknowledging is not enough

    review_flag(signed_in, app, intake_id, blocking, "override",
                "Anticoagulation paused by her cardiologist for two weeks.")
    precautions = flags_of(app, intake_id, "precaution")
    if precautions:  # the ladder: each precaution acknowledged too
        response = signed_in.post(f"{record_url(intake_id)}/decision",
                                  {"version": version(app, intake_id), **decide}, page=record_url(intake_id))
        assert response.status_code == 422 and "acknowledge it before approving" in response.get_data(as_text=True)
        for rule_id in precautions:
            review_flag(signed_in, app, intake_id, rule_id)
    response = signed_in.post(f"{record_url(intake_id)}/decision", {"version": version(app, intake_id), **decide},
                              page=record_url(intake_id))
    assert response.status_code == 302
    with app.app_context():
        decision = db.session.scalar(select(Decision))
        assessment = db.session.get(Intake, intake_id).latest_assessment
        assert decision.outcome == "approved"
        assert decision.staff_user_id == practitioner
        assert decision.signed_at is not None
        assert decision.ruleset_version == assessment.ruleset_version
        assert decision.assessment_id == assessment.id
    # Signed, then the patient told (a link to their status page; no health data in the email).
    assert actions(app, intake_id)[-3:] == ["decision.recorded", "link.status_issued", "link.emailed"]
    html = signed_in.client.get(record_url(intake_id)).get_data(as_text=True)
    assert re.search(r"Pat Practitioner, \d+ \w+ \d{4}, \d\d:\d\d<br>", html)  # signed
    assert "Decision: approved" in html  # in the history


@pytest.mark.parametrize("fields, message", [
    ({"outcome": "deferred"}, "Give the date treatment is deferred until, after today."),
    ({"outcome": "deferred", "defer_until": TODAY.isoformat()}, "Give the date treatment is deferred until"),
    ({"outcome": "more_information_needed"}, "Write the question for the patient."),
    ({"outcome": "not_suitable"}, "Write a note saying why this intake is not suitable."),
    ({}, "Choose a decision."),
])
def test_a_decision_needs_what_its_outcome_needs(app, signed_in, demo_intakes, fields, message):
    intake_id = demo_intakes["Chloé Martin"]
    response = signed_in.post(f"{record_url(intake_id)}/decision", {"version": version(app, intake_id), **fields},
                              page=record_url(intake_id))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Decision)) is None


def test_more_information_needed_keeps_the_question(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Chloé Martin"]
    response = signed_in.post(f"{record_url(intake_id)}/decision",
                              {"version": version(app, intake_id), "outcome": "more_information_needed",
                               "question": "When was your last cold sore?", "reopen": "skin"},
                              page=record_url(intake_id))
    assert response.status_code == 200  # the page with the patient's new link
    with app.app_context():
        decision = db.session.scalar(select(Decision))
        assert (decision.outcome, decision.question, decision.plan, decision.reopened_sections) == (
            "more_information_needed", "When was your last cold sore?", None, ["skin"])


# --- the plan -----------------------------------------------------------------------------------


def plan_fields(app, intake_id: int, **changes) -> dict:
    return {"version": version(app, intake_id), "sessions": 4, "interval_days": 15,
            "depth_face_min": "1", "depth_face_max": "2", **changes}


def test_a_plan_outside_the_protocol_is_refused_with_a_clear_message(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Amelia Hart"]
    url = f"{record_url(intake_id)}/plan"
    response = signed_in.post(url, plan_fields(app, intake_id, sessions=9, interval_days=7, depth_face_max="3.5"),
                              page=record_url(intake_id))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Sessions must be from 3 to 5 for the protocols in this plan." in html
    assert "Days between sessions must be at least 14" in html
    assert "Depth for face must be within 1 mm to 2 mm" in html
    assert 'value="9"' in html  # what was typed stays
    with app.app_context():
        assert db.session.scalar(select(PlanEdit)) is None


def test_a_plan_within_bounds_is_recorded_beside_the_suggestion(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Amelia Hart"]
    response = signed_in.post(f"{record_url(intake_id)}/plan",
                              plan_fields(app, intake_id, sessions=5, interval_days=21, depth_face_max="1.5"),
                              page=record_url(intake_id))
    assert response.status_code == 302
    with app.app_context():
        edit = db.session.scalar(select(PlanEdit))
        assert edit.changes == {"sessions": [4, 5], "interval_days": [15, 21], "depth_mm.face.max": [2, 1.5]}
        dates = [s["on"] for s in edit.plan["schedule"]]
        assert dates == ["2026-12-04", "2026-12-25", "2027-01-15", "2027-02-05", "2027-02-26"]
    assert actions(app, intake_id)[-1] == "plan.edited"
    html = signed_in.client.get(record_url(intake_id)).get_data(as_text=True)
    assert '<th scope="col">Suggested</th>' in html and '<th scope="col">Edited</th>' in html
    assert "<td>4</td><td>5</td>" in html
    assert "Session 5:" in html

    same = signed_in.post(f"{record_url(intake_id)}/plan",
                          plan_fields(app, intake_id, sessions=5, interval_days=21, depth_face_max="1.5"),
                          page=record_url(intake_id))
    assert same.status_code == 422 and "nothing was changed" in same.get_data(as_text=True)

    signed_in.post(f"{record_url(intake_id)}/decision", {"version": version(app, intake_id), "outcome": "approved"},
                   page=record_url(intake_id))
    with app.app_context():
        assert db.session.scalar(select(Decision)).plan["sessions"] == 5


def test_a_plan_without_a_schedule_cannot_be_edited(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Margaret Doyle"]
    html = signed_in.client.get(record_url(intake_id)).get_data(as_text=True)
    assert "Edit the plan" not in html
    response = signed_in.post(f"{record_url(intake_id)}/plan", plan_fields(app, intake_id), page=record_url(intake_id))
    assert response.status_code == 422


# --- optimistic locking -------------------------------------------------------------------------


def test_a_stale_form_gets_a_conflict_that_says_what_changed_and_keeps_the_input(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Chloé Martin"]
    stale = version(app, intake_id)
    # A colleague acknowledges a flag after this page was loaded.
    review_flag(signed_in, app, intake_id, "cold-sore-history", at_version=stale)
    response = signed_in.post(f"{record_url(intake_id)}/decision",
                              {"version": stale, "outcome": "not_suitable", "note": "My typed note, kept.",
                               "patient_message": "We cannot treat you safely at the moment."},
                              page=record_url(intake_id))
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Someone else changed this intake while you were working" in html
    assert "Flag cold-sore-history acknowledged — Pat Practitioner" in html
    assert "My typed note, kept." in html
    assert "not_suitable" in checked(html, "outcome")
    assert f'name="version" value="{stale + 1}"' in html  # saving again is now possible, deliberately
    with app.app_context():
        assert db.session.scalar(select(Decision)) is None
    assert actions(app, intake_id).count("decision.recorded") == 0


def test_a_stale_plan_edit_is_a_conflict_too(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Amelia Hart"]
    stale = version(app, intake_id)
    signed_in.post(f"{record_url(intake_id)}/decision", {"version": stale, "outcome": "approved"},
                   page=record_url(intake_id))
    response = signed_in.post(f"{record_url(intake_id)}/plan", {**plan_fields(app, intake_id, sessions=3),
                                                                "version": stale}, page=record_url(intake_id))
    assert response.status_code == 409
    assert "Decision: approved" in response.get_data(as_text=True)
    assert input_attributes(response.get_data(as_text=True), "sessions").items() >= {
        "name": "sessions", "type": "number", "value": "3"}.items()


def test_two_practitioners_deciding_on_the_same_version_one_wins(app, demo_intakes, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("two concurrent connections need a server database")
    make_user(app, "sam@demo.clinic", "practitioner", "Sam Second")
    pat = make_user(app)
    intake_id = demo_intakes["Nina Petrova"]
    with app.app_context():  # her precaution acknowledged, so approving is allowed (the severity ladder)
        from intake.models import StaffUser

        service.acknowledge_flag(db.session.get(Intake, intake_id), "anaesthetic-allergy",
                                 db.session.get(StaffUser, pat), version(app, intake_id))
    expected = version(app, intake_id)
    both_loaded = threading.Barrier(2)
    results: dict[str, str] = {}

    def decide(email: str, outcome: str) -> None:
        from intake.models import StaffUser

        with app.app_context():
            user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
            intake = db.session.get(Intake, intake_id)
            assert intake.version == expected
            both_loaded.wait(timeout=10)
            try:
                service.record_decision(intake, outcome, user, expected, today=TODAY,
                                        note=f"{email} decided", patient_message="We cannot treat you now.")
                results[email] = "won"
            except service.Conflict:
                results[email] = "conflict"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=decide, args=("pat@demo.clinic", "approved")),
               threading.Thread(target=decide, args=("sam@demo.clinic", "not_suitable"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results.values()) == ["conflict", "won"]
    with app.app_context():
        decisions = list(db.session.scalars(select(Decision)))
        assert len(decisions) == 1
        assert db.session.get(Intake, intake_id).version == expected + 1
        assert actions(app, intake_id).count("decision.recorded") == 1


def test_the_queue_is_a_fixed_number_of_queries_whatever_the_clinic_size(app, signed_in, demo_intakes):
    from sqlalchemy import event

    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert signed_in.client.get("/staff/queue?status=all").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # The signed-in user, the counts per status, one page of rows and the open flags of that
    # page's rows: no query per intake.
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 4, selects
    assert not any("FROM assessment" in s and "WHERE assessment.intake_id =" in s for s in selects)

"""Invitations, patient links (expiry, revocation, new links), the more-information round trip,
the override report and the staff navigation, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from intake.extensions import db, mail
from intake.models import Assessment, AuditEntry, Decision, Intake, IntakeStatus
from intake.protection.search import matching_search
from tests.support.html import csrf_token, row_of, status_counts
from tests.support.invitations import INVITE, intake_named, invite, link_token
from tests.support.patient import complete, fields, save, start
from tests.support.review import actions, flags_of, record_url, review_flag, version
from tests.support.settings import TODAY
from tests.support.staff import sign_in

REPORT = "/staff/reports/overrides"




# --- access control -----------------------------------------------------------------------------


@pytest.mark.parametrize("method, url", [
    ("get", INVITE), ("post", INVITE), ("get", REPORT), ("get", REPORT + ".csv"),
    ("post", "/staff/intakes/1/link/new"), ("post", "/staff/intakes/1/link/revoke"),
])
def test_anonymous_staff_pages_go_to_sign_in(forms, method, url):
    if method == "get":
        response = forms.client.get(url)
    else:  # with a valid CSRF token, so that it is the access check that answers
        response = forms.post(url, {}, page="/staff/sign-in")
    assert response.status_code == 302
    assert "/staff/sign-in" in response.location


@pytest.mark.parametrize("who", ["practitioner", "admin"])
def test_every_staff_member_can_invite_and_read_the_report(app, forms, practitioner, admin, who):
    sign_in(forms, "pat@demo.clinic" if who == "practitioner" else "ada@demo.clinic")
    for url in (INVITE, REPORT, REPORT + ".csv"):
        assert forms.client.get(url).status_code == 200, url


def test_the_navigation_shows_accounts_and_rules_to_admins_only(app, forms, practitioner, admin):
    sign_in(forms)
    html = forms.client.get(INVITE).get_data(as_text=True)
    assert 'href="/staff/queue"' in html and 'href="/staff/reports/overrides"' in html
    assert '<a href="/staff/invite" aria-current="page">' in html
    assert 'href="/staff/accounts"' not in html and 'href="/staff/rules/"' not in html
    forms.client.post("/staff/sign-out", data={"csrf_token": csrf_token(html)})
    sign_in(forms, "ada@demo.clinic")
    html = forms.client.get(REPORT).get_data(as_text=True)
    assert 'href="/staff/accounts"' in html and 'href="/staff/rules/"' in html


# --- invitations --------------------------------------------------------------------------------


def test_an_invitation_prefills_an_intake_and_emails_its_private_link(app, signed_in, outbox):
    response = invite(signed_in)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    token = link_token(html)
    assert "The link was emailed to ruth@example.org." in html
    assert response.headers["Cache-Control"] == "no-store"
    assert len(outbox) == 1 and outbox[0].to == ["ruth@example.org"]
    assert f"http://localhost/i/{token}" in outbox[0].body

    intake = intake_named(app, "Ruth Ellis")
    assert intake.status == IntakeStatus.DRAFT and intake.invited_at is not None and intake.started_at is None
    assert intake.appointment_date == TODAY + dt.timedelta(days=10)
    assert token not in intake.token_hash  # stored hashed
    assert actions(app, intake.id) == ["intake.invited", "link.emailed"]
    with app.app_context():
        assert db.session.scalar(select(AuditEntry.actor).where(AuditEntry.action == "intake.invited")).startswith(
            "staff:")

    # The patient's form opens with what the clinic knew.
    about = signed_in.client.get(f"/i/{token}/about").get_data(as_text=True)
    assert 'value="Ruth Ellis"' in about and 'value="ruth@example.org"' in about

    queue = signed_in.client.get("/staff/queue?status=invited").get_data(as_text=True)
    assert status_counts(queue)["Invited, not started"] == 1
    assert ">Ruth Ellis</a>" in queue
    # The invited patient is found by name and by email before they open the link.
    for search in ("elli", "ruth@example.org"):
        found = signed_in.client.get(f"/staff/queue?status=all&q={search}").get_data(as_text=True)
        assert ">Ruth Ellis</a>" in found, search
    save(signed_in, token, "about", {"full_name": "Ruth Ellis", "email": "ruth@example.org"})
    queue = signed_in.client.get("/staff/queue?status=draft").get_data(as_text=True)
    assert status_counts(queue)["Invited, not started"] == 0
    assert status_counts(queue)["Started, not submitted"] == 1
    assert ">Ruth Ellis</a>" in queue


def test_an_invitation_without_email_only_shows_the_link(app, signed_in, outbox):
    response = invite(signed_in, send_email=None)
    assert response.status_code == 200
    link_token(response.get_data(as_text=True))
    assert outbox == []


@pytest.mark.parametrize("changes, message", [
    ({"full_name": ""}, "Enter the patient's name."),
    ({"email": "ruth-at-example"}, "Enter an email address like name@example.com."),
    ({"appointment_date": ""}, "Enter the appointment date."),
    ({"appointment_date": (TODAY - dt.timedelta(days=1)).isoformat()}, "The appointment date is in the past."),
])
def test_a_bad_invitation_says_what_is_wrong_and_keeps_what_was_typed(app, signed_in, outbox, changes, message):
    response = invite(signed_in, **changes)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert 'class="error-summary' in html
    kept = {"full_name": "Ruth Ellis", "email": "ruth@example.org", **changes}
    for name in ("full_name", "email"):
        assert f'value="{kept[name]}"' in html
    with app.app_context():
        assert db.session.scalar(select(Intake)) is None
    assert outbox == []


def test_the_email_failing_still_shows_the_link(app, signed_in):
    app.config["MAIL_BACKEND"] = "smtp"
    app.config["MAIL_SERVER"], app.config["MAIL_PORT"] = "127.0.0.1", 9  # nothing listens there
    mail.init_app(app)
    try:
        html = invite(signed_in).get_data(as_text=True)
    finally:
        app.config["MAIL_BACKEND"] = "locmem"
        mail.init_app(app)
    link_token(html)
    assert "The email could not be sent." in html
    assert actions(app, intake_named(app, "Ruth Ellis").id)[-1] == "link.email_failed"


# --- patient links ------------------------------------------------------------------------------


def test_a_wrong_revoked_or_expired_link_gives_the_same_plain_404(app, signed_in, outbox):
    token = link_token(invite(signed_in).get_data(as_text=True))
    other = link_token(invite(signed_in, full_name="Sam Other", email="sam@example.org").get_data(as_text=True))
    assert signed_in.client.get(f"/i/{token}/about").status_code == 200
    wrong = signed_in.client.get("/i/not-a-real-token-at-all/about")
    assert wrong.status_code == 404

    # Expired: issued more than PATIENT_LINK_DAYS ago.
    with app.app_context():
        intake = db.session.scalar(select(Intake).where(matching_search("Ruth Ellis")))
        intake.link_issued_at = intake.link_issued_at - dt.timedelta(days=61)
        db.session.commit()
    expired = signed_in.client.get(f"/i/{token}/about")
    assert expired.status_code == 404
    assert expired.get_data() == wrong.get_data()
    app.config["PATIENT_LINK_DAYS"] = 90
    assert signed_in.client.get(f"/i/{token}/about").status_code == 200

    # Revoked by staff.
    ruth = intake_named(app, "Ruth Ellis").id
    response = signed_in.post(f"/staff/intakes/{ruth}/link/revoke", {}, page=record_url(ruth))
    assert response.status_code == 302
    revoked = signed_in.client.get(f"/i/{token}/about")
    assert revoked.status_code == 404
    assert revoked.get_data() == wrong.get_data()
    assert "Revoked on" in signed_in.client.get(record_url(ruth)).get_data(as_text=True)

    # The other patient's link is untouched and opens only their own intake.
    theirs = signed_in.client.get(f"/i/{other}/about").get_data(as_text=True)
    assert 'value="Sam Other"' in theirs and "Ruth Ellis" not in theirs
    assert "link.revoked" in actions(app, ruth)


def test_a_new_link_replaces_the_old_one(app, signed_in, outbox):
    old = link_token(invite(signed_in).get_data(as_text=True))
    ruth = intake_named(app, "Ruth Ellis").id
    response = signed_in.post(f"/staff/intakes/{ruth}/link/new", {"send_email": "y"}, page=record_url(ruth))
    assert response.status_code == 200
    new = link_token(response.get_data(as_text=True))
    assert new != old
    assert signed_in.client.get(f"/i/{old}/about").status_code == 404
    assert signed_in.client.get(f"/i/{new}/about").status_code == 200
    assert len(outbox) == 2 and new in outbox[1].body and "Earlier links no longer work" in outbox[1].body
    assert actions(app, ruth)[-2:] == ["link.issued", "link.emailed"]


def test_link_forms_need_a_csrf_token(app, signed_in, outbox):
    invite(signed_in)
    ruth = intake_named(app, "Ruth Ellis").id
    assert signed_in.client.post(f"/staff/intakes/{ruth}/link/revoke").status_code == 400
    assert signed_in.client.post(f"/staff/intakes/{ruth}/link/new").status_code == 400
    assert signed_in.post("/staff/intakes/999999/link/new", {}, page=record_url(ruth)).status_code == 404


# --- more information needed --------------------------------------------------------------------


def ask(forms, app, intake_id: int, question: str = "When was your last cold sore?", reopen=("skin",)):
    fields = [("version", version(app, intake_id)), ("outcome", "more_information_needed"), ("question", question),
              *[("reopen", section) for section in reopen]]
    return forms.post(f"{record_url(intake_id)}/decision", fields, page=record_url(intake_id))


def test_more_information_needs_sections_to_reopen(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Chloé Martin"]
    response = ask(signed_in, app, intake_id, reopen=())
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Choose the sections the patient should answer again." in html
    assert "When was your last cold sore?" in html  # the question typed is kept
    response = ask(signed_in, app, intake_id, reopen=("nonsense",))
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(Decision)) is None
        assert db.session.get(Intake, intake_id).status == IntakeStatus.SUBMITTED


def test_the_more_information_round_trip(app, signed_in, demo_intakes, outbox):
    intake_id = demo_intakes["Chloé Martin"]
    response = ask(signed_in, app, intake_id, reopen=("skin", "health"))
    assert response.status_code == 200
    token = link_token(response.get_data(as_text=True))
    # The email leads to the question; it never carries it (no health data in email).
    assert len(outbox) == 1 and token in outbox[0].body and "has a question for you" in outbox[0].body
    assert "cold sore" not in outbox[0].body and "cold sore" not in outbox[0].subject
    with app.app_context():
        intake = db.session.get(Intake, intake_id)
        assert (intake.status, intake.reopened_sections) == (IntakeStatus.REOPENED, ["skin", "health"])
    queue = signed_in.client.get("/staff/queue?status=more_information_needed").get_data(as_text=True)
    assert ">Chloé Martin</a>" in queue

    # The patient's link opens the question, with only the reopened sections to change.
    opened = signed_in.client.get(f"/i/{token}")
    assert opened.status_code == 302 and opened.location.endswith(f"/i/{token}/review")
    review = signed_in.client.get(f"/i/{token}/review").get_data(as_text=True)
    assert "When was your last cold sore?" in review
    assert f'href="/i/{token}/skin?next=review"' in review
    assert f'href="/i/{token}/health?next=review"' in review
    assert f'href="/i/{token}/goals?next=review"' not in review
    locked = signed_in.client.get(f"/i/{token}/goals")
    assert locked.status_code == 302 and locked.location.endswith(f"/i/{token}")
    assert signed_in.client.get(f"/i/{token}/skin").status_code == 200
    with app.app_context():
        goals_before = db.session.get(Intake, intake_id).answers["goals"]
    refused = signed_in.post(f"/i/{token}/goals", [*fields("goals", {"areas": ["neck"]}), ("action", "continue")],
                             page=f"/i/{token}/review")
    assert refused.status_code == 302
    with app.app_context():
        assert db.session.get(Intake, intake_id).answers["goals"] == goals_before  # not saved

    saved = save(signed_in, token, "skin", {"cold_sore_history": "no"})
    assert saved.status_code == 302 and saved.location.endswith(f"/i/{token}/review")
    submitted = signed_in.post(f"/i/{token}/submit", {}, page=f"/i/{token}/review")
    assert submitted.status_code == 302
    with app.app_context():
        intake = db.session.get(Intake, intake_id)
        assert (intake.status, intake.reopened_sections) == (IntakeStatus.SUBMITTED, [])
        assert intake.answers["skin"]["cold_sore_history"] is False
        assessments = db.session.scalars(select(Assessment).where(Assessment.intake_id == intake_id)).all()
        assert len(assessments) == 2  # the earlier one is kept
    assert signed_in.client.get(f"/i/{token}").status_code == 200  # the confirmation again
    assert signed_in.client.get(f"/i/{token}/skin").status_code == 302  # read-only again

    queue = signed_in.client.get("/staff/queue?status=awaiting_review").get_data(as_text=True)
    assert ">Chloé Martin</a>" in queue
    record = signed_in.client.get(record_url(intake_id)).get_data(as_text=True)
    assert "Earlier assessments" in record
    assert "Resubmitted with more information" in record
    # Every step audited, in order (views of the record and the confirmation are audited in between).
    trail = [action for action in actions(app, intake_id) if action not in ("intake.viewed",)]
    start_at = trail.index("decision.recorded")
    assert trail[start_at:start_at + 7] == ["decision.recorded", "intake.reopened", "link.issued", "link.emailed",
                                            "intake.section_saved", "intake.resubmitted", "intake.viewed"][:7] \
        or trail[start_at:start_at + 6] == ["decision.recorded", "intake.reopened", "link.issued", "link.emailed",
                                            "intake.section_saved", "intake.resubmitted"]


def test_a_later_decision_closes_the_reopened_sections(app, signed_in, demo_intakes, outbox):
    intake_id = demo_intakes["Chloé Martin"]
    token = link_token(ask(signed_in, app, intake_id).get_data(as_text=True))
    decline = {"outcome": "not_suitable", "note": "Spoke on the phone.",
               "patient_message": "As we discussed on the phone, we cannot treat you at the moment."}
    # The question is a signed decision: changing it before the patient answers is an amendment.
    response = signed_in.post(f"{record_url(intake_id)}/decision", {"version": version(app, intake_id), **decline},
                              page=record_url(intake_id))
    assert response.status_code == 422
    assert signed_in.post(f"{record_url(intake_id)}/amend",
                          {"version": version(app, intake_id), "amendment_reason": "She called: no need to wait."},
                          page=record_url(intake_id)).status_code == 302
    response = signed_in.post(f"{record_url(intake_id)}/decision", {"version": version(app, intake_id), **decline},
                              page=record_url(intake_id))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Intake, intake_id).status == IntakeStatus.SUBMITTED
    assert signed_in.client.get(f"/i/{token}/skin").status_code == 302
    assert signed_in.client.get(f"/i/{token}").status_code == 200


def test_an_admin_cannot_ask_for_more_information(app, forms, admin, demo_intakes):
    sign_in(forms, "ada@demo.clinic")
    assert ask(forms, app, demo_intakes["Chloé Martin"]).status_code == 403


def test_a_fresh_patient_intake_is_not_listed_as_invited(app, signed_in):
    token = start(signed_in)
    complete(signed_in, token, until="goals")
    queue = signed_in.client.get("/staff/queue?status=all").get_data(as_text=True)
    assert status_counts(queue)["Invited, not started"] == 0
    assert status_counts(queue)["Started, not submitted"] == 1


# --- override report ----------------------------------------------------------------------------


def test_the_override_report_counts_per_rule(app, signed_in, demo_intakes):
    intake_id = demo_intakes["Chloé Martin"]
    rules = flags_of(app, intake_id)
    assert len(rules) >= 1
    first = rules[0]
    assert review_flag(signed_in, app, intake_id, first).status_code == 302
    # A change of mind: the latest review per flag counts.
    assert review_flag(signed_in, app, intake_id, first, "override", "Seen the GP letter.").status_code == 302
    with app.app_context():
        flagged = sum(1 for a in db.session.scalars(select(Assessment))
                      if first in {f["rule_id"] for f in a.document["flags"]})
    html = signed_in.client.get(REPORT).get_data(as_text=True)
    assert list(row_of(html, first)) == [str(flagged), "0", "1", "100%"]
    csv_text = signed_in.client.get(REPORT + ".csv").get_data(as_text=True)
    assert csv_text.splitlines()[0] == "rule_id,flagged,acknowledged,overridden,override_rate"
    assert f"{first},{flagged},0,1,1.000" in csv_text.splitlines()
    with app.app_context():
        assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "report.exported"))


# --- the queue's columns ------------------------------------------------------------------------


def test_the_queue_columns_follow_every_operation(app, signed_in, demo_intakes, outbox):
    """review_status, latest_outcome and queue_sort equal what the assessments and decisions say."""
    from intake.models import queue_sort_key

    chloe, amelia = demo_intakes["Chloé Martin"], demo_intakes["Amelia Hart"]
    token = link_token(ask(signed_in, app, chloe).get_data(as_text=True))
    save(signed_in, token, "skin", {"cold_sore_history": "no"})
    signed_in.post(f"/i/{token}/submit", {}, page=f"/i/{token}/review")
    signed_in.post(f"{record_url(amelia)}/decision", {"version": version(app, amelia), "outcome": "approved"},
                   page=record_url(amelia))
    invite(signed_in)
    started = start(signed_in)
    save(signed_in, started, "about")
    with app.app_context():
        intakes = db.session.scalars(select(Intake)).all()
        assert len(intakes) == 15  # 13 demo, 1 invited, 1 started
        for intake in intakes:
            latest = intake.latest_assessment
            decision = db.session.scalar(select(Decision).where(Decision.intake_id == intake.id)
                                         .order_by(Decision.id.desc()).limit(1))
            if intake.status == IntakeStatus.DRAFT:
                expected = "invited" if intake.invited_at and not intake.started_at else "draft"
            elif decision is None or decision.assessment_id != latest.id:
                expected = "awaiting_review"
            else:
                expected = decision.outcome
            assert intake.review_status == expected, intake.full_name
            assert intake.latest_outcome == (latest.outcome if latest else None)
            assert intake.queue_sort == queue_sort_key(intake.latest_outcome, intake.appointment_date)
        statuses = {intake.full_name: intake.review_status for intake in intakes}
    assert statuses["Chloé Martin"] == "awaiting_review" and statuses["Amelia Hart"] == "approved"
    assert statuses["Ruth Ellis"] == "invited" and statuses["Ana Pereira"] == "draft"

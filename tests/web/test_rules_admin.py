"""Rules admin under /staff/rules: versions, checks, preview, activation, roll back, on both backends."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select, update

from intake.config import REPO_ROOT
from intake.extensions import db
from intake.models import Assessment, AuditEntry, Intake, ReassessRun, RulesetActivation, RulesetVersion, queue_sort_key
from intake.protection.search import matching_search
from intake.rulesets import active
from intake.rulesets.active import active_ruleset
from intake.rulesets.files import clinic_files
from tests.support.html import csrf_token, table_rows, text_of
from tests.support.rules_admin import GOOD, activate, new_version, upload, versions
from tests.support.staff import make_user, sign_in

#: Loads, but fails default rule tests: a stricter cold-sore rule, a new precaution, a disabled rule.
STRICT = """\
- id: cold-sore-history
  title: Cold sore history
  override: true
  severity: defer
  defer_for_days: 90
  when: {field: skin.cold_sore_history, equals: true}
  message: We defer patients with cold sores until they have seen their GP.
  source: [rule-default]

- id: current-smoker
  title: Current smoker
  severity: precaution
  when: {field: lifestyle.smoking, equals: current}
  message: Smoking slows healing.
  source: [rule-default]
"""

BROKEN = """\
- id: current-smoker
  title: Current smoker
  severity: awful
  when: {field: lifestyle.smoking, equals: current}
  message: Smoking slows healing.
  source: [rule-default]
"""

PAGES = ["/staff/rules/", "/staff/rules/change", "/staff/rules/edit", "/staff/rules/history",
         "/staff/rules/versions/{v}", "/staff/rules/versions/{v}/preview", "/staff/rules/versions/{v}/diff/{v}",
         "/staff/rules/reassess/{r}"]
POSTS = ["/staff/rules/upload", "/staff/rules/edit", "/staff/rules/versions/{v}/activate",
         "/staff/rules/versions/{v}/rollback"]





def audit_actions(app) -> list[str]:
    with app.app_context():
        return [a for a in db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))
                if a.startswith("rules.")]



# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES + POSTS)
def test_anonymous_visitors_are_sent_to_sign_in(rules_app, client, path):
    token = csrf_token(client.get("/staff/sign-in").get_data(as_text=True))
    method = "POST" if path in POSTS else "GET"
    path = path.format(v=1, r=1)
    response = client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
    assert response.status_code == 302
    assert response.location.split("?")[0].endswith("/staff/sign-in")


def test_a_practitioner_can_neither_see_nor_change_the_rules(rules_app, forms):
    make_user(rules_app)
    sign_in(forms)
    for path in PAGES:
        assert forms.client.get(path.format(v=1, r=1)).status_code == 403, path
    token = csrf_token(forms.client.get("/staff/queue").get_data(as_text=True))
    for path in POSTS:
        response = forms.client.post(path.format(v=1, r=1), data={"csrf_token": token, "note": "x"})
        assert response.status_code == 403, path
    assert versions(rules_app) == []


def test_every_page_opens_for_an_admin(rules_app, admin_forms, demo_intakes):
    version_id = new_version(admin_forms)
    response = activate(admin_forms, version_id)
    assert response.status_code == 302
    run_id = int(response.location.rsplit("/", 1)[1])
    for path in PAGES:
        assert admin_forms.client.get(path.format(v=version_id, r=run_id)).status_code == 200, path


# --- the active ruleset, readably --------------------------------------------------------------


def test_the_active_rules_in_plain_words(rules_app, admin_forms):
    html = admin_forms.client.get("/staff/rules/").get_data(as_text=True)
    assert "no version activated yet" in html
    assert "allergies → local anaesthetic allergy is yes" in html
    assert "rules/precautions/allergies.yaml:" in html
    # Origins name the layer, never the server's directories.
    assert "<code>rules/precautions/allergies.yaml:" in html and str(REPO_ROOT) not in html


# --- upload and edit ----------------------------------------------------------------------------


def test_an_upload_becomes_a_checked_candidate_and_nothing_goes_live(rules_app, admin_forms):
    with rules_app.app_context():
        before = active_ruleset().ruleset.version
    response = upload(admin_forms, "ours.yaml", GOOD, note="smoking")
    assert response.status_code == 302
    [(version_id, active)] = versions(rules_app)
    assert not active
    page = admin_forms.client.get(response.location).get_data(as_text=True)
    assert "Rule tests pass" in page and "current-smoker" in page
    assert "+++ b/clinic/precautions/ours.yaml" in page
    with rules_app.app_context():
        assert active_ruleset().ruleset.version == before
        stored = db.session.get(RulesetVersion, version_id)
        assert clinic_files(stored.files) == {"precautions/ours.yaml": GOOD}
        assert stored.note == "smoking" and stored.hash
    assert audit_actions(rules_app) == ["rules.candidate_saved"]


@pytest.mark.parametrize("name, content, path, message", [
    ("ours.yaml", BROKEN, "", "clinic/precautions/ours.yaml, line 3, rule current-smoker: &#39;severity&#39; must be"),
    ("ours.yaml", "- id: [\n", "", "clinic/precautions/ours.yaml, line 2"),
    ("ours.yaml", GOOD, "../../etc/passwd", "is not a path inside the rules folder"),
    ("ours.yaml", GOOD, "/etc/rules.yaml", "is not a path inside the rules folder"),
    ("ours.txt", GOOD, "notes.txt", "is not a rule file"),
    ("ours.yaml", b"\xff\xfe", "", "is not UTF-8 text"),
    ("ours.yaml", "# " + "x" * 300_000, "", "the limit is"),
    ("rules.zip", b"not a zip", "", "not a zip archive"),
])
def test_a_bad_upload_is_explained_and_leaves_the_active_version_untouched(
        rules_app, admin_forms, name, content, path, message):
    first = new_version(admin_forms)
    assert activate(admin_forms, first).status_code == 302
    rules_app.config["RULES_UPLOAD_MAX_BYTES"] = 100_000
    response = upload(admin_forms, name, content, path)
    assert response.status_code in (413, 422)
    if response.status_code == 422:
        assert message in response.get_data(as_text=True)
    assert versions(rules_app) == [(first, True)]


def zipped(entries: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_a_zip_replaces_the_clinic_folder_and_path_traversal_is_refused(rules_app, admin_forms):
    response = upload(admin_forms, "clinic.zip", zipped({"clinic/precautions/ours.yaml": GOOD,
                                                          "clinic/disabled.yaml": "- keloid-scarring\n"}))
    assert response.status_code == 302
    [(version_id, _)] = versions(rules_app)
    with rules_app.app_context():
        assert sorted(clinic_files(db.session.get(RulesetVersion, version_id).files)) == [
            "disabled.yaml", "precautions/ours.yaml"]
    for bad in ({"../precautions/evil.yaml": GOOD}, {"precautions/../../evil.yaml": GOOD},
                {"/abs/precautions/x.yaml": GOOD}, {"precautions/run.sh": "echo"}):
        response = upload(admin_forms, "bad.zip", zipped(bad))
        assert response.status_code == 422
        assert "There is a problem" in response.get_data(as_text=True)
    rules_app.config["RULES_UPLOAD_MAX_FILES"] = 2
    many = zipped({f"precautions/r{i}.yaml": "" for i in range(3)})
    assert "the limit is 2" in upload(admin_forms, "many.zip", many).get_data(as_text=True)
    assert versions(rules_app) == [(version_id, False)]


CLINIC_SOURCES = """\
- id: clinic-smoking-leaflet-2026
  authors: The clinic
  title: Smoking and healing (patient leaflet)
  published_in: Clinic handbook
  year: 2026
  url: https://example.org/smoking
  supports: Smoking slows skin repair.
"""

CITING = GOOD.replace("source: [rule-default]", "source: [clinic-smoking-leaflet-2026]")


def test_a_clinic_sources_file_uploads_alone_or_zipped_and_its_rules_cite_it(rules_app, admin_forms):
    refused = upload(admin_forms, "ours.yaml", CITING)
    assert refused.status_code == 422
    assert "cites &#39;clinic-smoking-leaflet-2026&#39;, which is not in sources.yaml" in refused.get_data(as_text=True)
    alone = new_version(admin_forms, CLINIC_SOURCES, name="sources.yaml")
    response = upload(admin_forms, "ours.yaml", CITING, base=alone)
    assert response.status_code == 302, response.get_data(as_text=True)
    both = int(response.location.rsplit("/", 1)[1])
    response = upload(admin_forms, "clinic.zip", zipped({"clinic/sources.yaml": CLINIC_SOURCES,
                                                         "clinic/precautions/ours.yaml": CITING}))
    assert response.status_code == 302
    zipped_id = int(response.location.rsplit("/", 1)[1])
    with rules_app.app_context():
        for version_id in (both, zipped_id):
            files = clinic_files(db.session.get(RulesetVersion, version_id).files)
            assert files == {"sources.yaml": CLINIC_SOURCES, "precautions/ours.yaml": CITING}
    assert activate(admin_forms, both).status_code == 302
    with rules_app.app_context():
        ruleset = active_ruleset().ruleset
        assert ruleset.sources["clinic-smoking-leaflet-2026"].title == "Smoking and healing (patient leaflet)"
        assert ruleset.rule("current-smoker").source == ("clinic-smoking-leaflet-2026",)


def test_an_edit_with_errors_keeps_the_typed_text(rules_app, admin_forms):
    response = admin_forms.post("/staff/rules/edit", {"path": "precautions/ours.yaml", "text": BROKEN},
                                page="/staff/rules/edit")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "clinic/precautions/ours.yaml, line 3, rule current-smoker" in html
    assert "severity: awful" in html  # the text as typed
    assert versions(rules_app) == []
    response = admin_forms.post("/staff/rules/edit", {"path": "precautions/ours.yaml", "text": GOOD},
                                page="/staff/rules/edit")
    assert response.status_code == 302
    edit_page = admin_forms.client.get("/staff/rules/edit?path=disabled.yaml")
    assert edit_page.status_code == 200
    assert admin_forms.client.get("/staff/rules/edit?path=../x.yaml").status_code == 404


# --- activation, history, roll back -----------------------------------------------------------


def test_nothing_goes_live_unless_valid_and_its_tests_pass(rules_app, admin_forms):
    strict = new_version(admin_forms, STRICT)
    response = activate(admin_forms, strict)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Not activated" in html and "Rule tests fail" in html
    assert "a smoker gets no precaution flag" in html
    assert versions(rules_app) == [(strict, False)]
    good = new_version(admin_forms)
    response = activate(admin_forms, good, note="")
    assert response.status_code == 422 and "Say why" in response.get_data(as_text=True)
    with rules_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RulesetActivation)) == 0
    assert "rules.activated" not in audit_actions(rules_app)


def test_activation_reassesses_open_intakes_keeping_earlier_assessments(rules_app, admin_forms, demo_intakes):
    with rules_app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Assessment))
        old_version = active_ruleset().ruleset.version
        # Stale queue columns: the re-assessment must write them from the new assessments.
        db.session.execute(update(Intake).values(latest_outcome="stale", queue_sort=99))
        db.session.commit()
    version_id = new_version(admin_forms)
    response = activate(admin_forms, version_id)
    assert response.status_code == 302 and "/staff/rules/reassess/" in response.location
    page = admin_forms.client.get(response.location).get_data(as_text=True)
    assert f"Done: 12 open intakes re-assessed under version {version_id}" in page
    with rules_app.app_context():
        run = db.session.scalars(select(ReassessRun)).one()
        assert (run.status, run.total, run.done, run.changed) == ("done", 12, 12, 0)
        assert db.session.scalar(select(func.count()).select_from(Assessment)) == before + 12
        tom = db.session.scalars(select(Intake).where(matching_search("Tom Becker"))).one()
        first, latest = tom.assessments[0], tom.assessments[-1]
        assert first.ruleset_version == old_version and first.ruleset_version_id is None
        assert latest.ruleset_version_id == version_id
        assert "current-smoker" in [flag["rule_id"] for flag in latest.document["flags"]]
        # The queue lists and sorts by the new outcome.
        for intake in db.session.scalars(select(Intake).where(Intake.status != "draft")):
            assert intake.latest_outcome == intake.latest_assessment.outcome
            assert intake.queue_sort == queue_sort_key(intake.latest_outcome, intake.appointment_date)
        assert active_ruleset().version_id == version_id
    actions = audit_actions(rules_app)
    assert actions[-3:] == ["rules.candidate_saved", "rules.activated", "rules.reassess_started"]


def test_history_diffs_and_one_click_roll_back(rules_app, admin_forms):
    first = new_version(admin_forms)
    assert activate(admin_forms, first, "first").status_code == 302
    second = new_version(admin_forms, GOOD.replace("slows healing", "delays healing"), name="ours.yaml")
    assert activate(admin_forms, second, "second").status_code == 302
    assert versions(rules_app) == [(first, False), (second, True)]
    with rules_app.app_context():
        assert "delays healing" in active_ruleset().ruleset.rule("current-smoker").message
    history = admin_forms.client.get("/staff/rules/history").get_data(as_text=True)
    assert f"Roll back to version {first}" in history
    diff = admin_forms.client.get(f"/staff/rules/versions/{second}/diff/{first}").get_data(as_text=True)
    assert "-  message: Smoking slows healing." in diff and "+  message: Smoking delays healing." in diff
    response = admin_forms.post(f"/staff/rules/versions/{first}/rollback", {}, page="/staff/rules/history")
    assert response.status_code == 302
    assert versions(rules_app) == [(first, True), (second, False)]
    with rules_app.app_context():
        assert "slows healing" in active_ruleset().ruleset.rule("current-smoker").message
        kinds = [(a.version_id, a.kind, a.previous_version_id) for a in
                 db.session.scalars(select(RulesetActivation).order_by(RulesetActivation.id))]
        assert kinds == [(first, "activate", None), (second, "activate", first), (first, "rollback", second)]
    assert audit_actions(rules_app).count("rules.rolled_back") == 1


def test_a_worker_picks_up_a_version_activated_elsewhere(rules_app, admin_forms):
    version_id = new_version(admin_forms)
    with rules_app.app_context():
        version = db.session.get(RulesetVersion, version_id)
        version.active = True  # as another worker's activation leaves the database
        db.session.commit()
        rules_app.config["RULES_REFRESH_SECONDS"] = 3600
        active.refresh(rules_app, force=True)
        assert active_ruleset().version_id == version_id
        version.active = False
        db.session.commit()
        assert active_ruleset().version_id == version_id  # not yet looked again
        rules_app.config["RULES_REFRESH_SECONDS"] = 0
        assert active_ruleset().version_id is None  # back to the folders


# --- preview ------------------------------------------------------------------------------------


def test_preview_figures_on_the_demo_intakes(rules_app, admin_forms, demo_intakes):
    strict = new_version(admin_forms, STRICT)
    assert f'name="from" value="{strict}"' in admin_forms.client.get(
        f"/staff/rules/change?from={strict}").get_data(as_text=True)
    response = upload(admin_forms, "disabled.yaml", "- heavy-drinking\n", base=strict)
    assert response.status_code == 302
    version_id = int(response.location.rsplit("/", 1)[1])
    response = admin_forms.client.get(f"/staff/rules/versions/{version_id}/preview?last=200")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    summary = text_of(html, "preview-summary")
    assert summary == (f"12 intakes assessed under the active rules and under version {version_id}: "
                       "2 change, 1 of them in outcome.")
    rows = table_rows(html, "Intakes that change")
    assert sorted(rows) == [("Chloé Martin", "precaution → defer", "", "heavy-drinking"),
                            ("Tom Becker", "precaution → precaution", "current-smoker", "heavy-drinking")]
    totals = {rule: (int(before), int(after), int(gained), int(lost)) for rule, before, after, gained, lost in
              table_rows(html, "Intakes flagged, per rule")}
    assert totals["heavy-drinking"] == (2, 0, 0, 2)
    assert totals["current-smoker"] == (0, 1, 1, 0)
    assert totals["cold-sore-history"] == (1, 1, 0, 0)
    assert totals["reschedule-if-unwell"] == (12, 12, 0, 0)
    outcomes = table_rows(html, "Outcomes before and after")
    assert outcomes == [("suitable", "1", "1"), ("precaution", "4", "3"), ("defer", "4", "5"),
                        ("contraindicated", "3", "3")]
    # The last 3 only; a bad number is explained.
    assert "3 intakes assessed" in admin_forms.client.get(
        f"/staff/rules/versions/{version_id}/preview?last=3").get_data(as_text=True)
    bad = admin_forms.client.get(f"/staff/rules/versions/{version_id}/preview?last=lots&since=yesterday")
    assert bad.status_code == 422
    assert "Enter a whole number" in bad.get_data(as_text=True)
    assert "Enter a date as YYYY-MM-DD" in bad.get_data(as_text=True)
    assert versions(rules_app) == [(strict, False), (version_id, False)]


def test_cli_preview_of_a_clinic_folder(rules_app, demo_intakes, tmp_path):
    from intake.rulesets import cli as rules_cli

    if "rules" not in rules_app.cli.commands:
        rules_app.cli.add_command(rules_cli.rules)
    clinic = tmp_path / "clinic"
    (clinic / "precautions").mkdir(parents=True)
    (clinic / "precautions" / "ours.yaml").write_text(STRICT)
    (clinic / "disabled.yaml").write_text("- heavy-drinking\n")
    runner = rules_app.test_cli_runner()
    result = runner.invoke(args=["rules", "preview", str(clinic), "--since", "2000-01-01"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "12 intakes: 2 change, 1 in outcome" in lines
    assert "  precaution -> defer: 1" in lines
    assert any(line.endswith("Chloé Martin: precaution -> defer -heavy-drinking") for line in lines)
    assert any(line.endswith("Tom Becker: precaution -> precaution +current-smoker -heavy-drinking") for line in lines)
    assert "  heavy-drinking: 2 -> 0 (+0 -2)" in lines
    assert "  current-smoker: 0 -> 1 (+1 -0)" in lines
    assert "2 change" in runner.invoke(args=["rules", "preview", str(clinic), "--last", "12"]).output
    assert runner.invoke(args=["rules", "preview", str(clinic)]).exit_code == 2
    nothing = runner.invoke(args=["rules", "preview", str(clinic), "--since", "2999-01-01"])
    assert "0 intakes: 0 change, 0 in outcome" in nothing.output

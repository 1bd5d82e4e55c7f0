"""The admin's preview of a large range in chunks (issue 18): started from the preview page, followed on a run
page, cancellable, its result the inline preview's; on both backends, jobs run eagerly (no broker)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from intake.extensions import db
from intake.jobs import scheduled
from intake.models import AuditEntry, PreviewChunk, PreviewRun
from intake.rulesets import parallel_preview
from tests.support.html import csrf_token, parse, table_rows, text_of
from tests.support.jobs import CLINIC_RULES as STRICT  # a stricter cold-sore rule, a new precaution
from tests.support.rules_admin import new_version
from tests.support.staff import make_user, sign_in

CAPTIONS = ("Outcomes before and after", "Intakes that change", "Intakes flagged, per rule")


def figures(html: str) -> tuple:
    """What a preview shows: its summary and its three tables."""
    return (text_of(html, "preview-summary"), *(table_rows(html, caption) for caption in CAPTIONS))


def preview_actions(app) -> list[str]:
    with app.app_context():
        return [a for a in db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))
                if a.startswith("rules.preview")]


def start_run(admin_forms, version_id: int, query: str = "last=200", data: dict | None = None):
    page = f"/staff/rules/versions/{version_id}/preview?{query}"
    return admin_forms.post(f"/staff/rules/versions/{version_id}/preview/runs", data or {"last": "200"}, page=page)


def run_path(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.location


@pytest.fixture
def chunked(rules_app):
    """Previews of more than 5 intakes go in 3 chunks (the demo has 12 submitted intakes)."""
    rules_app.config.update(PREVIEW_INLINE_LIMIT=5, PREVIEW_CHUNKS=3)
    return rules_app


def test_a_small_range_is_previewed_in_the_request(chunked, admin_forms, demo_intakes):
    version_id = new_version(admin_forms, STRICT)
    html = admin_forms.client.get(f"/staff/rules/versions/{version_id}/preview?last=5").get_data(as_text=True)
    assert text_of(html, "preview-summary").startswith("5 intakes assessed")
    assert parse(html).find(id="preview-chunked") is None
    assert preview_actions(chunked) == ["rules.previewed"]
    with chunked.app_context():
        assert db.session.scalar(select(func.count()).select_from(PreviewRun)) == 0


def test_a_large_range_runs_in_chunks_and_shows_what_the_inline_preview_shows(chunked, admin, admin_forms,
                                                                               demo_intakes):
    version_id = new_version(admin_forms, STRICT)
    chunked.config["PREVIEW_INLINE_LIMIT"] = 2000
    inline = admin_forms.client.get(f"/staff/rules/versions/{version_id}/preview?last=200").get_data(as_text=True)
    chunked.config["PREVIEW_INLINE_LIMIT"] = 5

    offer = admin_forms.client.get(f"/staff/rules/versions/{version_id}/preview?last=200")
    assert offer.status_code == 200
    html = offer.get_data(as_text=True)
    assert parse(html).find(id="preview-summary") is None  # nothing previewed in this request
    assert text_of(html, "preview-chunked").startswith("This range holds 12 intakes, more than the 5 previewed")
    start_form = parse(html).find(id="preview-chunked").find_next("form")
    assert start_form["method"] == "post"
    assert {i["name"]: i["value"] for i in start_form.find_all("input") if i["name"] != "csrf_token"} == {
        "last": "200"}

    path = run_path(start_run(admin_forms, version_id))
    assert path.endswith(f"/staff/rules/versions/{version_id}/preview/runs/" + path.rsplit("/", 1)[1])
    page = admin_forms.client.get(path)
    assert page.status_code == 200
    result = page.get_data(as_text=True)
    assert text_of(result, "run-status") == "Done: 12 intakes previewed."
    assert parse(result).find("progress").attrs == {"max": "12", "value": "12", "aria-labelledby": "run-status"}
    assert figures(result) == figures(inline)
    assert "Cancel the preview" not in result
    with chunked.app_context():
        run = db.session.scalars(select(PreviewRun)).one()
        assert (run.version_id, run.started_by, run.status, run.total) == (version_id, f"staff:{admin}", "done", 12)
        assert db.session.scalar(select(func.count()).where(PreviewChunk.run_id == run.id)) == 3
    # Kept: the result is shown again, and the preview page links to it.
    assert figures(admin_forms.client.get(path).get_data(as_text=True)) == figures(inline)
    again = admin_forms.client.get(f"/staff/rules/versions/{version_id}/preview?last=200").get_data(as_text=True)
    assert path.split("localhost")[-1] in [a["href"] for a in parse(again).find_all("a")]
    assert preview_actions(chunked) == ["rules.previewed", "rules.preview_started", "rules.preview_viewed",
                                        "rules.preview_viewed"]


def test_a_preview_in_chunks_can_be_cancelled_while_its_chunks_wait(chunked, admin_forms, demo_intakes,
                                                                    monkeypatch):
    version_id = new_version(admin_forms, STRICT)
    sent: list[tuple] = []
    monkeypatch.setattr(parallel_preview.jobs, "dispatch", lambda *args, **kwargs: sent.append(args))  # queued
    path = run_path(start_run(admin_forms, version_id))
    html = admin_forms.client.get(path).get_data(as_text=True)
    assert text_of(html, "run-status") == ("0 of 12 intakes previewed under the active rules and under version "
                                           f"{version_id}. Reload the page to follow.")
    assert parse(html).find("a", string="Reload to follow")["href"] == path.split("localhost")[-1]
    assert parse(html).find(id="preview-summary") is None

    cancelled = admin_forms.post(f"{path}/cancel", {}, page=path)
    assert cancelled.status_code == 303 and cancelled.location == path
    html = admin_forms.client.get(path).get_data(as_text=True)
    assert text_of(html, "run-status") == "Cancelled after 0 of 12 intakes: a cancelled preview shows no result."
    assert "Cancel the preview" not in html and parse(html).find(id="preview-summary") is None
    with chunked.app_context():
        # A worker that takes a chunk now leaves it alone.
        assert [parallel_preview.run_chunk(*args[1:]) for args in sent] == ["cancelled"] * 3
    # (The form client reads the run page for its CSRF token before it sends Cancel: a third look.)
    assert preview_actions(chunked) == ["rules.preview_started", "rules.preview_viewed", "rules.preview_viewed",
                                        "rules.preview_cancelled", "rules.preview_viewed"]
    # Cancelling it again changes nothing and says so.
    again = admin_forms.post(f"{path}/cancel", {}, page=path, follow_redirects=True).get_data(as_text=True)
    assert "This preview is no longer running: nothing to cancel." in again
    assert preview_actions(chunked).count("rules.preview_cancelled") == 1


def test_a_cancelled_run_whose_chunk_is_still_running_says_it_is_cancelling(chunked, admin_forms, demo_intakes,
                                                                            monkeypatch):
    version_id = new_version(admin_forms, STRICT)
    monkeypatch.setattr(parallel_preview.jobs, "dispatch", lambda *args, **kwargs: None)  # queued
    path = run_path(start_run(admin_forms, version_id))
    with chunked.app_context():  # a worker took the first chunk; it checks for a cancel every 2,000 intakes
        db.session.execute(update(PreviewChunk).where(PreviewChunk.position == 0).values(state="running", done=2))
        db.session.commit()
    assert admin_forms.post(f"{path}/cancel", {}, page=path).status_code == 303
    html = admin_forms.client.get(path).get_data(as_text=True)
    assert text_of(html, "run-status") == ("Cancelling: 2 of 12 intakes previewed; the chunks still running stop at "
                                           "their next check. Reload the page to follow.")
    assert "Reload to follow" in html and "Cancel the preview" not in html
    with chunked.app_context():  # the worker reaches its check
        db.session.execute(update(PreviewChunk).where(PreviewChunk.position == 0).values(state="cancelled"))
        db.session.commit()
    html = admin_forms.client.get(path).get_data(as_text=True)
    assert text_of(html, "run-status") == "Cancelled after 2 of 12 intakes: a cancelled preview shows no result."


@pytest.fixture
def failures_not_raised(chunked):
    """Jobs fail as they do without a broker outside tests: recorded, not raised into the request."""
    settings = chunked.extensions["celery"].conf
    settings.task_eager_propagates = False
    yield
    settings.task_eager_propagates = True


def test_a_failed_chunk_shows_its_error(chunked, failures_not_raised, admin_forms, demo_intakes, monkeypatch):
    version_id = new_version(admin_forms, STRICT)
    real_preview, calls = parallel_preview.preview, []

    def second_chunk_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the intake store went away")
        return real_preview(*args, **kwargs)

    monkeypatch.setattr(parallel_preview, "preview", second_chunk_fails)
    path = run_path(start_run(admin_forms, version_id))
    html = admin_forms.client.get(path).get_data(as_text=True)
    assert text_of(html, "run-status") == "The preview stopped after 8 of 12 intakes: a chunk failed."
    assert [li.get_text() for li in parse(html).find(id="run-errors").find_all("li")] == [
        "the intake store went away"]
    assert parse(html).find(id="preview-summary") is None


def test_a_bad_range_is_refused_and_nothing_starts(chunked, admin_forms, demo_intakes):
    version_id = new_version(admin_forms, STRICT)
    response = start_run(admin_forms, version_id, data={"last": "lots"})
    assert response.status_code == 422
    assert "Enter a whole number" in response.get_data(as_text=True)
    with chunked.app_context():
        assert db.session.scalar(select(func.count()).select_from(PreviewRun)) == 0


def test_a_run_is_shown_under_its_own_version_only(chunked, admin_forms, demo_intakes):
    version_id, other_id = new_version(admin_forms, STRICT), new_version(admin_forms, STRICT, name="other.yaml")
    path = run_path(start_run(admin_forms, version_id))
    run_id = path.rsplit("/", 1)[1]
    elsewhere = f"/staff/rules/versions/{other_id}/preview/runs/{run_id}"
    assert admin_forms.client.get(elsewhere).status_code == 404
    assert admin_forms.post(f"{elsewhere}/cancel", {}, page=path).status_code == 404
    assert admin_forms.client.get(f"/staff/rules/versions/{version_id}/preview/runs/999999").status_code == 404
    assert admin_forms.client.get(f"/staff/rules/versions/999999/preview/runs/{run_id}").status_code == 404


def test_old_runs_are_purged_by_the_next_run_the_purge_job_and_flask_data_purge(chunked, admin_forms,
                                                                                 demo_intakes):
    version_id = new_version(admin_forms, STRICT)
    run_path(start_run(admin_forms, version_id))
    run_path(start_run(admin_forms, version_id))
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=25)
    with chunked.app_context():
        first, second = db.session.scalars(select(PreviewRun.id).order_by(PreviewRun.id))
        db.session.execute(update(PreviewRun).where(PreviewRun.id == first).values(created_at=long_ago))
        db.session.commit()
    third = run_path(start_run(admin_forms, version_id))
    with chunked.app_context():
        kept = list(db.session.scalars(select(PreviewRun.id).order_by(PreviewRun.id)))
        assert first not in kept and second in kept and len(kept) == 2
        assert db.session.scalar(select(func.count()).where(PreviewChunk.run_id == first)) == 0
    assert admin_forms.client.get(third).status_code == 200
    with chunked.app_context():
        db.session.execute(update(PreviewRun).values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=25)))
        db.session.commit()
        assert scheduled.purge()["preview_runs"] == 2
        assert db.session.scalar(select(func.count()).select_from(PreviewRun)) == 0
        assert db.session.scalar(select(func.count()).select_from(PreviewChunk)) == 0
    # `flask data purge` (cron, by hand) does the same.
    run_path(start_run(admin_forms, version_id))
    with chunked.app_context():
        db.session.execute(update(PreviewRun).values(created_at=long_ago))
        db.session.commit()
    result = chunked.test_cli_runner().invoke(args=["data", "purge"])
    assert "Deleted 1 chunked rules previews started more than 24 hours ago." in result.output, result.output
    with chunked.app_context():
        assert db.session.scalar(select(func.count()).select_from(PreviewRun)) == 0


def test_the_runs_of_a_pruned_candidate_go_with_it(chunked, admin_forms, demo_intakes):
    chunked.config["RULES_VERSIONS_KEPT"] = 1
    version_id = new_version(admin_forms, STRICT)
    path = run_path(start_run(admin_forms, version_id))
    new_version(admin_forms, STRICT, name="newer.yaml")  # the older candidate is pruned
    assert admin_forms.client.get(path).status_code == 404
    with chunked.app_context():
        assert db.session.scalar(select(func.count()).select_from(PreviewRun)) == 0
        assert db.session.scalar(select(func.count()).select_from(PreviewChunk)) == 0


ROUTES = [("GET", "/staff/rules/versions/{v}/preview/runs/{r}"), ("POST", "/staff/rules/versions/{v}/preview/runs"),
          ("POST", "/staff/rules/versions/{v}/preview/runs/{r}/cancel")]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_visitors_are_sent_to_sign_in(chunked, client, method, path):
    token = csrf_token(client.get("/staff/sign-in").get_data(as_text=True))
    response = client.open(path.format(v=1, r=1), method=method,
                           data={"csrf_token": token, "last": "200"} if method == "POST" else None)
    assert response.status_code == 302
    assert response.location.split("?")[0].endswith("/staff/sign-in")


def test_a_practitioner_can_neither_start_nor_see_nor_cancel_a_run(chunked, admin_forms, forms, demo_intakes):
    version_id = new_version(admin_forms, STRICT)
    run_id = run_path(start_run(admin_forms, version_id)).rsplit("/", 1)[1]
    admin_forms.post("/staff/sign-out", {}, page="/staff/")
    make_user(chunked)
    sign_in(forms)
    token = csrf_token(forms.client.get("/staff/queue").get_data(as_text=True))
    for method, path in ROUTES:
        response = forms.client.open(path.format(v=version_id, r=run_id), method=method,
                                     data={"csrf_token": token, "last": "200"} if method == "POST" else None)
        assert response.status_code == 403, path
    with chunked.app_context():
        assert db.session.scalar(select(func.count()).select_from(PreviewRun)) == 1
        assert db.session.scalar(select(PreviewRun.status)) == "done"

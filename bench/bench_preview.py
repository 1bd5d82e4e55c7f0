"""Print how long a ruleset preview takes against many stored intakes, and its peak memory.

Run from the repo root:

    .venv/bin/python bench/bench_preview.py [--count 100000] [--database sqlite|URL] [--assessed 1.0] [--workers 1,2,4]

Figures, not assertions (DESIGN.md). It fills a database with ``--count`` submitted
intakes (synthetic answers from bench_rules.make_intake, bulk inserted; a fresh SQLite
file by default, or the PostgreSQL URL given, whose tables it creates and empties), a
share of them (``--assessed``, all by default) with the assessment the app stores at
submission under the current rules (the preview reuses its flags as the "before" side;
``--assessed 0``: each intake assessed under both rulesets), then
previews a candidate clinic folder (a stricter cold-sore rule, a new precaution, a
disabled rule) against the repo's rules over every intake, as /staff/rules/…/preview
and `flask rules preview` do (preview_past_intakes): intakes streamed in batches, both rulesets.

Printed: the preview's wall time and intakes per second; the peak of Python allocations
during the preview (tracemalloc, run separately: it slows Python down) and the process's
resident memory before, after and at its peak during the preview (VmHWM, reset first).

``--workers 1,2,4`` then runs the same preview in chunks on job workers (`flask worker -c N`
on Redis, ``--redis``; two chunks per worker process), for each N: the wall time from the
first chunk sent to the merged result, checked equal to the single-process result, and each
worker process's peak resident memory. ``--skip-single`` leaves out the one-process run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

from sqlalchemy import delete, func, insert, select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_rules import ON, make_intake  # noqa: E402

from intake import create_app  # noqa: E402
from intake.answers import dump_answers, load_answers  # noqa: E402
from intake.assessment import load_ruleset  # noqa: E402
from intake.assessment.engine import assess  # noqa: E402
from intake.assessment.preview import flag_summary  # noqa: E402
from intake.extensions import db  # noqa: E402
from intake.models import Assessment, Intake, IntakeStatus, PreviewChunk, PreviewRun  # noqa: E402
from intake.rulesets import parallel_preview  # noqa: E402
from intake.rulesets.assessments import flags_to_review  # noqa: E402
from intake.rulesets.files import folders_snapshot  # noqa: E402
from intake.rulesets.past_intakes import preview_past_intakes  # noqa: E402

CLINIC = """\
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


def rss_kib(field: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (Linux >= 4.0)
        return True
    except OSError:
        return False


def fill(count: int, seed: int, batch: int = 5000, *, assessed: float = 0.0, ruleset=None) -> None:
    """``count`` submitted intakes; the first ``assessed`` share of them (newest first) with the assessment
    the app stores at submission under ``ruleset`` (document, answers, flags in short), the rest with none."""
    rng = random.Random(seed)
    submitted = dt.datetime.combine(ON, dt.time(), dt.UTC)
    rows, assessments = [], []
    first_id = (db.session.scalar(select(func.max(Intake.id))) or 0) + 1
    with_assessment = count - int(count * assessed)  # the newest intakes are the last inserted
    for i in range(count):
        # Stored as the app stores a submission: validated, then dumped.
        loaded = load_answers(make_intake(i, rng), today=ON)
        answers = dump_answers(loaded)
        about = answers["about"]
        rows.append({"id": first_id + i, "token_hash": f"{i:064x}", "status": IntakeStatus.SUBMITTED,
                     "answers": answers, "completed_sections": [], "full_name": about["full_name"],
                     "email": about["email"], "submitted_at": submitted + dt.timedelta(milliseconds=400 * i),
                     "version": 1})
        if i >= with_assessment:
            result = assess(loaded, ruleset, ON)
            document = result.to_dict()
            assessments.append({"intake_id": first_id + i, "assessed_on": ON, "ruleset_version": ruleset.version,
                                "outcome": result.outcome, "document": document, "answers": answers,
                                "flag_count": len(flags_to_review(document)),
                                "flag_summary": flag_summary(result.flags), "created_at": submitted})
        if len(rows) == batch:
            db.session.execute(insert(Intake), rows)
            rows = []
        if len(assessments) == batch:
            db.session.execute(insert(Assessment), assessments)
            assessments = []
    if rows:
        db.session.execute(insert(Intake), rows)
    if assessments:
        db.session.execute(insert(Assessment), assessments)
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--database", default="sqlite", help="sqlite (a fresh file) or a PostgreSQL URL")
    parser.add_argument("--keep", action="store_true", help="leave the intakes in the database")
    parser.add_argument("--assessed", type=float, default=1.0,
                        help="share of the intakes with the assessment stored at submission under the current "
                             "rules (reused as the preview's \"before\" side); 0: none, every one assessed twice")
    parser.add_argument("--workers", default="", help="comma-separated worker process counts, e.g. 1,2,4")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14", help="the broker of --workers")
    parser.add_argument("--skip-single", action="store_true", help="no one-process preview (only --workers)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-preview-"))
    url = f"sqlite:///{scratch / 'bench.sqlite'}" if args.database == "sqlite" else args.database
    queue = f"bench-preview-{uuid.uuid4().hex[:8]}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-" * 8, "TESTING": True,
                      "JOBS_BROKER_URL": args.redis if args.workers else "", "JOBS_QUEUE": queue})
    clinic = scratch / "clinic"
    (clinic / "precautions").mkdir(parents=True)
    (clinic / "precautions" / "ours.yaml").write_text(CLINIC)
    (clinic / "disabled.yaml").write_text("- heavy-drinking\n")
    current = load_ruleset(REPO / "rules")
    candidate = load_ruleset([REPO / "rules", clinic])
    backend = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    print(f"bench_preview: {args.count:,} intakes on {backend}, Python "
          f"{platform.python_version()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
          f"{dt.date.today()}")
    with app.app_context():
        db.create_all()
        db.session.execute(delete(Assessment))
        db.session.execute(delete(Intake))
        db.session.commit()
        start = time.perf_counter()
        fill(args.count, args.seed, assessed=args.assessed, ruleset=current)
        print(f"  filled in {time.perf_counter() - start:.1f} s (bulk insert); {args.assessed:.0%} of the intakes "
              f"with the assessment stored at submission under the current rules")
        db.session.expunge_all()

        if not args.skip_single:
            before = rss_kib()
            peak_reset = reset_peak_rss()
            start = time.perf_counter()
            result = preview_past_intakes(current, candidate, since=dt.date(2000, 1, 1))
            elapsed = time.perf_counter() - start
            after, peak = rss_kib(), rss_kib("VmHWM")
            db.session.rollback()
            print(f"  preview: {result.total:,} intakes in {elapsed:.1f} s ({result.total / elapsed:,.0f} intakes/s); "
                  f"{result.changed_count:,} change, {result.outcome_changed:,} in outcome, "
                  f"{len(result.skipped)} skipped")
            print(f"  resident memory: {before / 1024:.0f} MiB before, {after / 1024:.0f} MiB after, "
                  f"peak during the preview {peak / 1024:.0f} MiB" + ("" if peak_reset else " (peak not reset)"))
            for (old, new), count in sorted(result.transitions.items()):
                print(f"    {old} -> {new}: {count:,}")

            tracemalloc.start()
            result = preview_past_intakes(current, candidate, since=dt.date(2000, 1, 1))
            _, traced_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            db.session.rollback()
            print(f"  tracemalloc peak during a second preview: {traced_peak / 2**20:.1f} MiB")
        for workers in [int(n) for n in args.workers.split(",") if n]:
            curve(app, url, args.redis, queue, workers, [REPO / "rules", clinic], current, candidate)
        if not args.keep:
            db.session.execute(delete(Intake))
            db.session.commit()


def curve(app, url: str, redis: str, queue: str, workers: int, folders: list[Path], current, candidate) -> None:
    """One point of the curve: the preview in 2 × ``workers`` chunks on ``flask worker -c workers``."""
    env = {**os.environ, "DATABASE_URL": url, "JOBS_BROKER_URL": redis, "JOBS_QUEUE": queue,
           "PYTHONPATH": str(REPO)}
    log = Path(tempfile.mkstemp(prefix=f"bench-worker-{workers}-", suffix=".log")[1])
    with log.open("wb") as output:
        worker = subprocess.Popen(  # noqa: S603 - our own interpreter and app
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "-c", str(workers), "--without-gossip",
             "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
            cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while b" ready." not in log.read_bytes() and time.monotonic() < deadline:
                time.sleep(0.2)
            single = preview_past_intakes(current, candidate, since=dt.date(2000, 1, 1), max_rows=500)
            db.session.rollback()
            # Cold: each worker process loads both rulesets first (as for a real preview); warm: loaded.
            for label in ("cold", "warm"):
                start = time.perf_counter()
                run_id = parallel_preview.start(parallel_preview.rules_in_force(), folders_snapshot(folders),
                                                chunks=2 * workers, since=dt.date(2000, 1, 1), max_rows=500)
                status = parallel_preview.wait(run_id, timeout=900, poll=0.1)
                result = parallel_preview.merged(run_id)
                elapsed = time.perf_counter() - start
                peaks = [rss_of(pid, "VmHWM") for pid in children(worker.pid)]
                print(f"  {workers} worker process(es), {2 * workers} chunks, {label}: {status}, {result.total:,} "
                      f"intakes in {elapsed:.1f} s ({result.total / elapsed:,.0f} intakes/s); equal to one process: "
                      f"{result == single}; peak RSS per worker process "
                      f"{', '.join(f'{peak / 1024:.0f}' for peak in peaks)} MiB; load average "
                      f"{os.getloadavg()[0]:.1f}", flush=True)
        finally:
            worker.terminate()
            worker.wait(30)
    db.session.execute(delete(PreviewChunk))
    db.session.execute(delete(PreviewRun))
    db.session.commit()


def children(pid: int) -> list[int]:
    """The worker's pool processes (its children)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text:
            found.append(int(status.parent.name))
    return found


def rss_of(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    main()

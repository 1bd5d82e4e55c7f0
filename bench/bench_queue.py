"""Print the server time of the review queue and the intake record with a large clinic history.

Run from the repo root:

    .venv/bin/python bench/bench_queue.py [--db URL] [--count 100000] [--requests 50] [--reuse]

``--db`` defaults to a SQLite file in /tmp; for PostgreSQL give a URL such as
``postgresql+psycopg://postgres@127.0.0.1:5432/test_5``. THE DATABASE IS EMPTIED (all the
app's tables dropped and recreated) unless ``--reuse`` keeps what an earlier run filled.

Figures, not assertions (DESIGN.md). It fills the database with ``--count`` intakes by bulk
insert (about 85 % submitted with one or two assessments, a third of those decided, some
flags reviewed, the rest invited or started drafts), then times ``--requests`` GETs of each
page through the Flask test client, signed in as a practitioner: in-process, so the time
is the server's (routing, queries, template), without a network. It prints median and p95.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select  # noqa: E402

from intake import create_app  # noqa: E402
from intake.auth import service as accounts  # noqa: E402
from intake.demo.intakes import seed_intakes  # noqa: E402
from intake.extensions import db  # noqa: E402
from intake.models import (  # noqa: E402
    Assessment,
    Decision,
    FlagReview,
    Intake,
    RuleTally,
    SearchTerm,
    hash_token,
    queue_sort_key,
)
from intake.protection import active_keyring  # noqa: E402
from intake.protection.search import index_terms  # noqa: E402

TODAY = dt.date(2026, 11, 25)
PASSWORD = "bench-password-long-enough-42"
FIRST = ["Ana", "Ben", "Chloé", "Daniel", "Emma", "Farah", "George", "Hannah", "Ivan", "Jade", "Karim", "Lucy",
         "Mia", "Noah", "Olivia", "Priya", "Quentin", "Rosa", "Sam", "Tara", "Umar", "Vera", "Will", "Yara", "Zoe"]
LAST = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson",
        "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke",
        "Okafor", "Rossi", "Nair", "Kim", "Petrova", "Becker", "Martin", "Doyle", "Hart", "Lewis", "Carter"]
BATCH = 5000


def templates() -> list[dict]:
    """Real answers and assessments of the demo intakes: the documents the generated rows reuse."""
    seed_intakes(TODAY)
    found = []
    for intake in db.session.scalars(select(Intake).where(Intake.status == "submitted")):
        assessment = intake.latest_assessment
        found.append({"answers": intake.answers, "outcome": assessment.outcome,
                      "defer_until": assessment.defer_until, "ruleset_version": assessment.ruleset_version,
                      "document": assessment.document})
    db.session.rollback()
    return found


def fill(count: int, seed: int = 20261125) -> None:
    rng = random.Random(seed)
    db.drop_all()
    db.create_all()
    shapes = templates()
    db.drop_all()
    db.create_all()
    staff = accounts.create_user("bench@demo.clinic", "Bench Practitioner", "practitioner", PASSWORD)
    now = dt.datetime.now(dt.UTC)
    keyring = active_keyring()
    tally: Counter[str] = Counter()  # what store_assessment counts for the override report
    started = time.perf_counter()
    next_assessment = 1
    next_review = 1
    for first_id in range(1, count + 1, BATCH):
        intakes, assessments, decisions, reviews, terms = [], [], [], [], []
        for intake_id in range(first_id, min(first_id + BATCH, count + 1)):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            email = f"{name.lower().replace(' ', '.')}{intake_id}@example.org"
            # Names and emails are encrypted: the queue finds them through their keyed digests.
            terms.extend({"intake_id": intake_id, "digest": digest}
                         for digest in {keyring.digest(term) for term in index_terms(name, email)})
            created = now - dt.timedelta(days=rng.uniform(0, 900))
            appointment = TODAY + dt.timedelta(days=rng.randint(-700, 60)) if rng.random() < 0.9 else None
            shape = rng.choice(shapes)
            kind = rng.random()
            row = {"id": intake_id, "token_hash": hash_token(f"bench-{intake_id}"), "answers": {},
                   "completed_sections": [], "full_name": name, "email": email, "appointment_date": appointment,
                   "created_at": created, "updated_at": created, "version": 1, "link_issued_at": created,
                   "reopened_sections": [], "status": "draft", "submitted_at": None, "invited_at": None,
                   "started_at": None, "review_status": "draft", "latest_outcome": None,
                   "queue_sort": queue_sort_key(None, appointment)}
            if kind < 0.05:  # invited, not started
                row.update(invited_at=created, answers={"about": {"full_name": name, "email": email}},
                           review_status="invited")
            elif kind < 0.15:  # started, not submitted
                row.update(started_at=created, answers={"about": shape["answers"]["about"]},
                           completed_sections=["about"])
            else:
                row.update(status="submitted", submitted_at=created + dt.timedelta(minutes=20),
                           answers=shape["answers"], completed_sections=list(shape["answers"]),
                           review_status="awaiting_review", latest_outcome=shape["outcome"],
                           queue_sort=queue_sort_key(shape["outcome"], appointment))
                assessed_twice = rng.random() < 0.05
                for _again in range(2 if assessed_twice else 1):
                    assessments.append({"id": next_assessment, "intake_id": intake_id, "created_at": created,
                                        "assessed_on": TODAY, "ruleset_version": shape["ruleset_version"],
                                        "outcome": shape["outcome"], "defer_until": shape["defer_until"],
                                        "document": shape["document"],
                                        "flag_count": len(shape["document"]["flags"])})
                    tally.update({flag["rule_id"] for flag in shape["document"]["flags"]})
                    next_assessment += 1
                latest = next_assessment - 1
                flags = shape["document"]["flags"]
                if flags and assessed_twice:
                    # Reviewed, then re-submitted on the same answers: the review carried over.
                    first = {"id": next_review, "intake_id": intake_id, "assessment_id": latest - 1,
                             "rule_id": flags[0]["rule_id"], "action": "acknowledged", "reason": "bench",
                             "staff_user_id": staff.id, "at": created, "carried_from_id": None}
                    reviews.append(first)
                    reviews.append({**first, "id": next_review + 1, "assessment_id": latest,
                                    "carried_from_id": next_review})
                    next_review += 2
                elif flags and rng.random() < 0.5:
                    reviews.append({"id": next_review, "intake_id": intake_id, "assessment_id": latest,
                                    "rule_id": flags[0]["rule_id"],
                                    "action": rng.choice(["acknowledged", "overridden"]), "reason": "bench",
                                    "staff_user_id": staff.id, "at": created, "carried_from_id": None})
                    next_review += 1
                if rng.random() < 0.35:
                    outcome = rng.choice(["approved", "approved_with_precautions", "deferred", "not_suitable"])
                    row["review_status"] = outcome
                    decisions.append({"intake_id": intake_id, "assessment_id": latest, "outcome": outcome,
                                      "defer_until": TODAY + dt.timedelta(days=30) if outcome == "deferred" else None,
                                      "question": "", "note": "bench", "plan": None, "staff_user_id": staff.id,
                                      "signed_at": created, "ruleset_version": shape["ruleset_version"],
                                      "reopened_sections": None})
            intakes.append(row)
        db.session.execute(insert(Intake), intakes)
        db.session.execute(insert(SearchTerm), terms)
        if assessments:
            db.session.execute(insert(Assessment), assessments)
        if decisions:
            db.session.execute(insert(Decision), decisions)
        if reviews:
            db.session.execute(insert(FlagReview), reviews)
        db.session.commit()
    db.session.execute(insert(RuleTally), [{"rule_id": rule_id, "flagged": n} for rule_id, n in tally.items()])
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:  # ids were given explicitly: move the sequences on
            for table in ("intake", "assessment", "flag_review"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            connection.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")  # what autovacuum does after a bulk load
    else:
        with db.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
    print(f"filled {count:,} intakes, {next_assessment - 1:,} assessments in {time.perf_counter() - started:.1f} s")


def sign_in(client) -> None:
    page = client.get("/staff/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    response = client.post("/staff/sign-in", data={"csrf_token": token, "email": "bench@demo.clinic",
                                                   "password": PASSWORD, "next": ""})
    assert response.status_code == 302, response.status_code


def measure(client, url: str, requests: int) -> tuple[float, float]:
    client.get(url)  # warm: caches, prepared plans
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=f"sqlite:///{Path('/tmp') / 'meso-bench-queue.sqlite'}")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--reuse", action="store_true", help="keep the intakes an earlier run filled")
    options = parser.parse_args()
    os.environ.setdefault("MESO_ENV", "development")
    app = create_app({"SQLALCHEMY_DATABASE_URI": options.db, "TODAY": TODAY, "SERVER_NAME": "localhost",
                      "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789", "MAIL_BACKEND": "locmem",
                      "SIGN_IN_RATE_LIMIT": "1000 per minute"})
    with app.app_context():
        if not options.reuse:
            fill(options.count)
        total = db.session.scalar(select(func.count()).select_from(Intake))
        decided = db.session.scalar(select(Intake.id).join(Decision, Decision.intake_id == Intake.id).limit(1))
        # The longest record: medicines to match, two assessments, a review carried over to the second.
        carried = select(FlagReview.intake_id).where(FlagReview.carried_from_id.is_not(None))
        busiest = next((intake.id for intake in db.session.scalars(
            select(Intake).where(Intake.id.in_(carried)).order_by(Intake.id).limit(200))
            if (intake.answers.get("medications") or {}).get("items")), decided)
        counted = select(Intake.review_status, func.count()).group_by(Intake.review_status)
        counts = {status: number for status, number in db.session.execute(counted)}
        print(f"{db.engine.dialect.name}: {total:,} intakes {counts}; {options.requests} requests per page")
    client = app.test_client()
    sign_in(client)
    pages = {
        "queue, first page": "/staff/queue",
        "queue, filtered (status + severity)": "/staff/queue?status=awaiting_review&severity=precaution",
        "queue, filtered (status + severity + name)": "/staff/queue?status=awaiting_review&severity=precaution&q=smith",
        "queue, any status, by appointment, page 40": "/staff/queue?status=all&sort=appointment&page=40",
        "record page (decided)": f"/staff/intakes/{decided}",
        "record page (medicines, carried-over review)": f"/staff/intakes/{busiest}",
    }
    print(f"{'page':<46} {'median ms':>10} {'p95 ms':>8}")
    for label, url in pages.items():
        median, p95 = measure(client, url, options.requests)
        print(f"{label:<46} {median:>10.1f} {p95:>8.1f}")
    # Not a goal page (3 requests only).
    median, p95 = measure(client, "/staff/reports/overrides", 3)
    print(f"{'override report (3 requests)':<46} {median:>10.1f} {p95:>8.1f}")


if __name__ == "__main__":
    main()

"""Print what data protection costs: encryption on submissions, and search through the index.

Run from the repo root:
    .venv/bin/python bench/bench_protection.py [--submissions 300] [--intakes 100000]
                                               [--database-url postgresql+psycopg://…/db]

Figures, not assertions. On a throwaway SQLite file (or an empty PostgreSQL database you
name: its tables are dropped and re-created) it measures:

1. **submissions/s** through the real operations (``start_intake`` + every section's
   answers + ``submit_intake``, with its assessment and audit entries), once with the
   encrypted columns as shipped and once with encryption switched off (the keyring's
   encrypt/decrypt replaced by the identity; everything else the same). Interleaved in
   chunks, so both run under the same conditions.
2. **Fernet** alone: encrypting and decrypting one answers document.
3. **search latency** with ``--intakes`` intakes in the table (names and emails encrypted,
   ~30 search terms each): the full queue page (filters, counts, one page of rows) with a
   search, p50/p95 over 50 searches of names and email prefixes, beside the same page
   without a search, and ``matching_search``'s id lookup alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from intake import create_app  # noqa: E402
from intake.demo.intakes import demo_documents  # noqa: E402
from intake.extensions import db  # noqa: E402
from intake.models import Intake, SearchTerm  # noqa: E402
from intake.protection import Keyring, active_keyring, dump_json  # noqa: E402
from intake.protection.search import index_terms, matching_search  # noqa: E402
from intake.review.queries import QueueFilter, queue_page  # noqa: E402

TODAY = dt.date(2026, 11, 25)
FIRST = ["Ana", "Bea", "Chloé", "Dan", "Eve", "Farah", "Grace", "Hugo", "Iris", "Jade", "Kofi", "Lucy", "Mina",
         "Nina", "Omar", "Priya", "Quinn", "Rosa", "Sofia", "Tom", "Uma", "Vera", "Wen", "Yara", "Zoë"]
LAST = ["Silva", "Costa", "Martin", "Moss", "Okafor", "Nair", "Petrova", "Becker", "Kim", "Doyle", "Rossi",
        "Brennan", "Carter", "Hart", "Grant", "Lambert", "Novak", "Haddad", "Lindqvist", "Murphy"]


def make_app(url: str):  # type: ignore[no-untyped-def]
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "TODAY": TODAY,
                      "SECRET_KEY": "bench-secret-key-0123456789-abcdefghijkl"})
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


def submit_one(document: dict) -> None:
    from intake.patient.service import start_intake, submit_intake
    from intake.rulesets.active import active_ruleset

    intake, _token = start_intake(prefill=document["about"])
    intake.answers = document
    db.session.commit()
    submit_intake(intake, active_ruleset(), TODAY)


def bench_submissions(app, count: int) -> None:  # type: ignore[no-untyped-def]
    documents = demo_documents(TODAY)
    keyring = app.extensions["meso_keyring"]
    real = (Keyring.encrypt, Keyring.decrypt)
    times = {"encrypted": 0.0, "clear": 0.0}
    done = {"encrypted": 0, "clear": 0}
    chunk = 25
    with app.app_context():
        for _ in range(3):  # warm up: rules compiled, lexicon loaded
            submit_one(documents[0])
        while done["encrypted"] < count:
            for mode in ("encrypted", "clear"):
                if mode == "clear":
                    Keyring.encrypt = lambda self, text: text  # type: ignore[method-assign]
                    Keyring.decrypt = lambda self, token: token  # type: ignore[method-assign]
                started = time.perf_counter()
                for n in range(chunk):
                    submit_one(documents[(done[mode] + n) % len(documents)])
                times[mode] += time.perf_counter() - started
                done[mode] += chunk
                Keyring.encrypt, Keyring.decrypt = real  # type: ignore[method-assign]
                db.session.remove()
    for mode in ("encrypted", "clear"):
        print(f"  {mode:9}: {done[mode] / times[mode]:7.1f} submissions/s "
              f"({times[mode] / done[mode] * 1000:.2f} ms each, {done[mode]} submissions)")
    print(f"  encryption costs {(times['encrypted'] / done['encrypted'] - times['clear'] / done['clear']) * 1000:.2f}"
          f" ms per submission ({(times['encrypted'] / times['clear'] - 1) * 100:+.1f} %)")
    text = dump_json(documents[0])
    token = keyring.encrypt(text)
    rounds = 2000
    started = time.perf_counter()
    for _ in range(rounds):
        keyring.encrypt(text)
    encrypt_us = (time.perf_counter() - started) / rounds * 1e6
    started = time.perf_counter()
    for _ in range(rounds):
        keyring.decrypt(token)
    decrypt_us = (time.perf_counter() - started) / rounds * 1e6
    print(f"  Fernet on one answers document ({len(text)} bytes of JSON, {len(token)} stored): "
          f"encrypt {encrypt_us:.0f} µs, decrypt {decrypt_us:.0f} µs")


def fill(app, count: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(20261130)
    with app.app_context():
        keyring = active_keyring()
        now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        intake_table = Intake.__table__
        batch = 2000
        started = time.perf_counter()
        for start in range(0, count, batch):
            rows, terms = [], []
            for number in range(start + 1, min(count, start + batch) + 1):
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                email = f"{name.lower().replace(' ', '.')}{number}@example.org"
                rows.append({"id": number, "token_hash": f"{number:064x}", "status": "draft", "answers": {},
                             "completed_sections": [], "full_name": name, "email": email,
                             "appointment_date": TODAY + dt.timedelta(days=number % 60),
                             "created_at": now, "updated_at": now, "version": 1})
                terms.extend({"intake_id": number, "digest": keyring.digest(t)} for t in index_terms(name, email))
            db.session.execute(insert(intake_table), rows)
            db.session.execute(insert(SearchTerm), terms)
            db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text("ANALYZE"))  # as autovacuum would, soon after a bulk load
            db.session.commit()
        elapsed = time.perf_counter() - started
        total_terms = db.session.scalar(select(sa.func.count()).select_from(SearchTerm))
        print(f"  filled {count} intakes with {total_terms} search terms in {elapsed:.0f} s")


def bench_search(app) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    queries = ([rng.choice(FIRST).lower()[:4] for _ in range(15)] + [rng.choice(LAST) for _ in range(15)]
               + [f"{rng.choice(FIRST)} {rng.choice(LAST)[:3]}" for _ in range(15)]
               + [f"{rng.choice(FIRST).lower()}.{rng.choice(LAST).lower()}1@" for _ in range(5)])
    with app.app_context():
        for label, run in (
            ("queue page, no search", lambda q: queue_page(QueueFilter(status="all"))),
            ("queue page with search", lambda q: queue_page(QueueFilter(status="all", search=q))),
            ("matching ids only", lambda q: db.session.scalars(select(Intake.id).where(matching_search(q))).all()),
        ):
            run(queries[0])
            timings, matched = [], []
            for q in queries:
                started = time.perf_counter()
                result = run(q)
                timings.append((time.perf_counter() - started) * 1000)
                matched.append(result.total if hasattr(result, "total") else len(result))
                db.session.remove()
            timings.sort()
            print(f"  {label:22}: p50 {statistics.median(timings):7.1f} ms, "
                  f"p95 {timings[int(len(timings) * 0.95) - 1]:7.1f} ms, max {timings[-1]:7.1f} ms "
                  f"({len(queries)} searches, median {statistics.median(matched):.0f} matches)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--intakes", type=int, default=100_000)
    parser.add_argument("--database-url", help="an empty database to use (default: a temporary SQLite file)")
    parser.add_argument("--search-only", action="store_true", help="skip the submissions (1-2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        print(f"database: {sa.engine.make_url(url).get_backend_name()}, Python {sys.version.split()[0]}")
        app = make_app(url)
        if not args.search_only:
            print("1-2. submissions (start, answers, submit with assessment and audit), with and without encryption")
            bench_submissions(app, args.submissions)
            app = make_app(url)
        print(f"3. search with {args.intakes} intakes")
        fill(app, args.intakes)
        bench_search(app)
        with app.app_context():
            db.drop_all()


if __name__ == "__main__":
    main()

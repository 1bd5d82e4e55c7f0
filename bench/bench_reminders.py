"""Print how long reminders due for many patients take with several workers, and check none went twice.

Run from the repo root:

    .venv/bin/python bench/bench_reminders.py [--count 10000] [--workers 2] [--database sqlite|URL]

Figures, not assertions (DESIGN.md). It empties the database given (a fresh SQLite file by
default, or the PostgreSQL URL given, whose tables it creates), bulk inserts ``--count``
invited patients who have not sent their form, each with an appointment three days ahead
(so one "form not sent" reminder is due for each of them at 10:00 today), then starts
``--workers`` processes at once (multiprocessing), each running ``send_due_reminders``
passes against the same database until a pass finds nothing left to do, as schedulers on
several machines would. Mail goes to Flask-Mailman's in-memory backend of each process.

Printed: the wall time from the start signal to the last worker done, reminders per second,
what each worker sent and found already taken, and the checks: every patient got exactly
one email (no address in two workers' outboxes or twice in one), the table holds one row
per patient, each linked to its outbox message, all "sent".
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import platform
import queue
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from intake import create_app  # noqa: E402
from intake.extensions import db  # noqa: E402
from intake.models import Intake, IntakeStatus, OutboxMessage, OutboxState, Reminder, ReviewStatus, hash_token  # noqa: E402
from intake.outbox import deliver_due  # noqa: E402
from intake.protection.encryption import generate_key  # noqa: E402
from intake.reminders.send import send_due_reminders  # noqa: E402

TODAY = dt.date(2026, 11, 25)
#: 10:00 in the clinic (Europe/London) on TODAY: the hour "form not sent" reminders go.
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/London"))
BATCH = 1000


def make_app(url: str, key: str) -> Any:
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TODAY": TODAY, "SERVER_NAME": "localhost",
                       "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789", "MAIL_BACKEND": "locmem",
                       "ENCRYPTION_KEYS": [key], "REMINDERS_DIGEST": False})


def fill(count: int) -> None:
    db.drop_all()
    db.create_all()
    invited = dt.datetime(2026, 11, 11, 9, tzinfo=dt.UTC)
    appointment = TODAY + dt.timedelta(days=3)
    for first in range(1, count + 1, BATCH):
        rows = [{"id": number, "token_hash": hash_token(f"bench-{number}"), "status": IntakeStatus.DRAFT,
                 "answers": {}, "completed_sections": [], "drafts": {}, "amendment_reason": "", "check_in_code": "",
                 "full_name": f"Patient {number}", "email": f"patient{number}@example.org",
                 "appointment_date": appointment, "invited_at": invited, "link_issued_at": invited,
                 "review_status": ReviewStatus.INVITED}
                for number in range(first, min(first + BATCH, count + 1))]
        db.session.execute(insert(Intake), rows)
        db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(select(func.setval("intake_id_seq", count)))
        db.session.commit()


def worker(url: str, key: str, start: Any, results: Any) -> None:
    app = make_app(url, key)
    with app.app_context():
        outbox = app.extensions["mailman"].outbox = []
        totals: Counter[str] = Counter()
        start.wait()
        began = time.perf_counter()
        passes = 0
        while True:
            passes += 1
            result = send_due_reminders(NOW)
            totals.update({"sent": result.sent, "taken": result.taken, "failed": result.failed,
                           "skipped": result.skipped, "queued": result.queued})
            if result.sent + result.failed + result.skipped + result.queued == 0:
                break
        results.put({"pid": os.getpid(), "seconds": time.perf_counter() - began, "passes": passes,
                     "totals": dict(totals), "to": [message.to[0] for message in outbox]})
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", default="sqlite")
    options = parser.parse_args()
    os.environ.setdefault("MESO_ENV", "development")
    url = options.database
    if url == "sqlite":
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='meso-bench-reminders-')) / 'bench.sqlite'}"
    key = generate_key()
    app = make_app(url, key)
    with app.app_context():
        began = time.perf_counter()
        fill(options.count)
        print(f"Filled {options.count} invited patients in {time.perf_counter() - began:.1f} s "
              f"({db.engine.dialect.name}; Python {platform.python_version()}, {os.cpu_count()} CPUs)")
        db.engine.dispose()
    context = multiprocessing.get_context("spawn")  # each worker its own app, engine and connections
    start = context.Event()
    results = context.Queue()
    processes = [context.Process(target=worker, args=(url, key, start, results)) for _ in range(options.workers)]
    for process in processes:
        process.start()
    time.sleep(5)  # let every worker build its app before the start signal
    began = time.perf_counter()
    start.set()
    reports: list[dict[str, Any]] = []
    while len(reports) < len(processes):
        try:
            reports.append(results.get(timeout=1))
        except queue.Empty:
            if any(process.exitcode not in (None, 0) for process in processes):
                raise SystemExit(f"A worker died (exit codes {[p.exitcode for p in processes]}): see above") from None
    wall = time.perf_counter() - began
    for process in processes:
        process.join()
    print(f"{options.workers} workers: {wall:.1f} s wall for {options.count} reminders "
          f"({options.count / wall:.0f} per second)")
    for report in reports:
        totals = report["totals"]
        print(f"  worker {report['pid']}: {report['passes']} passes in {report['seconds']:.1f} s, "
              f"{totals.get('sent', 0)} sent, {totals.get('taken', 0)} already taken, "
              f"{totals.get('failed', 0)} failed")
    addresses = Counter(address for report in reports for address in report["to"])
    twice = [address for address, times in addresses.items() if times > 1]
    with app.app_context():
        # A delivery that could not start at its commit (the database busy with the other worker's batch) waits
        # in the outbox for the periodic deliver_due, as in production: run it once here.
        waiting = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.state != OutboxState.SENT))
        late = deliver_due()
        print(f"Outbox: {waiting} left waiting by the passes; deliver_due then sent {late}")
        # Each reminder's outcome is its outbox message's state.
        stored = Counter(db.session.scalars(
            select(OutboxMessage.state).join(Reminder, Reminder.outbox_message_id == OutboxMessage.id)))
        keys = db.session.scalar(select(func.count(func.distinct(Reminder.key))))
    print(f"Emails: {sum(addresses.values())} to {len(addresses)} patients; sent twice: {len(twice)}"
          f"{' ' + ', '.join(twice[:5]) if twice else ''}")
    once = not twice and len(addresses) == options.count == stored["sent"]
    print(f"Reminder rows: {dict(stored)} under {keys} keys; {'OK: each patient once' if once else 'MISMATCH'}")


if __name__ == "__main__":
    main()

"""Load test: gunicorn (several workers) on PostgreSQL over loopback, many patients at once, staff reading the queue.

For each concurrency level, ``--patients`` simulated patients are shared by that many threads;
each starts an intake, fills in every section (GET the page, POST the form), reviews,
submits and reads the confirmation, while ``--practitioners`` threads sign in and read the
review queue and a record. It prints throughput, p50/p95/p99 latency per request kind,
errors and 5xx, then checks in the database that every submission answered with success is
stored exactly once and assessed. Last, the highest level whose p95 stays under 300 ms:
the sustained submissions per second at p95 < 300 ms.

    .venv/bin/python bench/load_test.py --database postgresql+psycopg://postgres@127.0.0.1:5432/test_7b \\
        [--workers 4] [--levels 2,4,8,16] [--patients 48] [--practitioners 2]

The database is emptied first (drop_all/create_all): never point it at data you keep.
Rate limits are raised out of the way (one loopback address sends everything).
"""

from __future__ import annotations

import argparse
import datetime as dt
import queue
import threading
import time
from zoneinfo import ZoneInfo

import loadkit
from loadkit import Browser, Patient


def run_level(host: str, port: int, threads: int, patients: int, practitioners: int,
              today: dt.date, first_number: int) -> dict:
    todo: queue.Queue[int] = queue.Queue()
    for number in range(first_number, first_number + patients):
        todo.put(number)
    done: list[Patient] = []
    hits_by_thread: list[list] = []
    lock = threading.Lock()

    def patient_worker() -> None:
        hits: list = []
        with lock:
            hits_by_thread.append(hits)
        while True:
            try:
                number = todo.get_nowait()
            except queue.Empty:
                return
            browser = Browser(host, port, hits)  # a new visitor: fresh cookies, fresh connection
            patient = loadkit.patient_journey(browser, Patient(number), today)
            browser.close()
            with lock:
                done.append(patient)

    stop = threading.Event()
    staff_hits: list = []
    staff = [threading.Thread(target=loadkit.practitioner_loop, args=(Browser(host, port, staff_hits), stop))
             for _ in range(practitioners)]
    workers = [threading.Thread(target=patient_worker) for _ in range(threads)]
    started = time.monotonic()
    for thread in staff + workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.monotonic() - started
    stop.set()
    for thread in staff:
        thread.join()
    hits = [hit for chunk in hits_by_thread for hit in chunk] + staff_hits
    return {"threads": threads, "elapsed": elapsed, "patients": done, "hits": hits}


def report(level: dict) -> dict:
    hits, patients, elapsed = level["hits"], level["patients"], level["elapsed"]
    submitted = sum(p.submitted for p in patients)
    errors = [hit for hit in hits if hit.status == 0 or hit.status >= 400]
    server_errors = [hit for hit in hits if hit.status >= 500]
    submit_latencies = [hit.seconds * 1000 for hit in hits if hit.kind == "submit" and hit.status]
    all_latencies = [hit.seconds * 1000 for hit in hits if hit.status]
    p95 = loadkit.percentile(all_latencies, 0.95)
    print(f"\n== {level['threads']} concurrent patients (+ practitioners): {len(patients)} patients "
          f"in {elapsed:.1f} s")
    print(f"  throughput: {len(hits) / elapsed:.1f} requests/s, {submitted / elapsed:.2f} submissions/s")
    print(f"  errors (no answer or >= 400): {len(errors)}, of which 5xx: {len(server_errors)}; "
          f"patients not submitted: {len(patients) - submitted}"
          + (f" (first: {next(p.failed_at for p in patients if not p.submitted)})"
             if submitted < len(patients) else ""))
    for line in loadkit.latency_table(hits):
        print(line)
    return {"threads": level["threads"], "submissions_per_s": submitted / elapsed, "p95": p95,
            "submit_p95": loadkit.percentile(submit_latencies, 0.95), "errors": len(errors),
            "server_errors": len(server_errors)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/test_7b")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--levels", default="2,4,8,16", help="concurrent patients, one run per level")
    parser.add_argument("--patients", type=int, default=48, help="patients per level")
    parser.add_argument("--practitioners", type=int, default=2)
    parser.add_argument("--redis", default="", help="RATELIMIT_STORAGE_URI for the workers (default memory://)")
    args = parser.parse_args()

    loadkit.table_names_ok(args.database)
    loadkit.reset_database(args.database)
    today = dt.datetime.now(ZoneInfo("Europe/London")).date()
    extra = {"RATELIMIT_STORAGE_URI": args.redis} if args.redis else {}
    summaries, everyone = [], []
    print(f"gunicorn --workers {args.workers} on {args.database.split('@')[-1]}; "
          f"{args.patients} patients per level, {args.practitioners} practitioners reading the queue")
    with loadkit.gunicorn(args.database, args.workers, extra) as (host, port):
        # Warm-up, not counted: each worker loads the rules and templates on its first requests.
        warm = run_level(host, port, args.workers, args.workers * 2, 1, today, 1)
        everyone += warm["patients"]
        number = 1 + args.workers * 2
        for threads in [int(level) for level in args.levels.split(",")]:
            level = run_level(host, port, threads, args.patients, args.practitioners, today, number)
            number += args.patients
            everyone += level["patients"]
            summaries.append(report(level))

    checked = loadkit.verify(args.database, everyone)
    print("\n== database check after the run")
    print(f"  answered 'submitted': {checked.successes}; stored exactly once and assessed: "
          f"{checked.stored_once_and_assessed}; lost: {len(checked.lost)}; duplicated: {len(checked.duplicated)}; "
          f"submitted intakes in the database: {checked.submitted_in_database}")
    print("\n== summary")
    print(f"  {'patients':>8}{'subm/s':>9}{'p95 ms':>9}{'submit p95':>12}{'errors':>8}{'5xx':>6}")
    for row in summaries:
        print(f"  {row['threads']:>8}{row['submissions_per_s']:>9.2f}{row['p95']:>9.0f}{row['submit_p95']:>12.0f}"
              f"{row['errors']:>8}{row['server_errors']:>6}")
    under = [row for row in summaries if row["p95"] < 300 and row["server_errors"] == 0]
    if under:
        best = max(under, key=lambda row: row["submissions_per_s"])
        print(f"  sustained at p95 < 300 ms: {best['submissions_per_s']:.2f} submissions/s "
              f"({best['threads']} concurrent patients, p95 {best['p95']:.0f} ms)")
    else:
        print("  no level kept p95 under 300 ms")


if __name__ == "__main__":
    main()

"""Fault test: PostgreSQL stopped and started again under load; the app must answer a clear 503, lose nothing,
and recover by itself.

It creates a private, throwaway PostgreSQL cluster (initdb into a temporary directory, pg_ctl on
127.0.0.1:``--port``, 5499 by default — never the shared server on 5432), starts gunicorn on it,
and runs patients (each completing and submitting an intake, pressing the button again after a
503 as a patient would) and practitioners reading the queue. Mid-load it stops PostgreSQL
(``pg_ctl stop -m fast``: open connections are cut), waits ``--outage`` seconds and starts it
again. It prints what was answered during the outage (503 pages, anything else), whether 503
section pages came back with what the patient typed, the time from PostgreSQL being back to the
first successful request, and then checks in the database that every submission answered with
success is stored exactly once and assessed.

    .venv/bin/python bench/fault_test.py [--workers 3] [--patients 24] [--threads 6] [--outage 6]

Run as root, it runs initdb/pg_ctl as the ``postgres`` user (initdb refuses root).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import loadkit
from loadkit import Browser, Patient

PG_BIN = Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip())


class PrivateCluster:
    """A PostgreSQL cluster of its own in a temporary directory, for stopping and starting at will."""

    def __init__(self, port: int):
        self.port = port
        self.directory = Path(tempfile.mkdtemp(prefix="meso-fault-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.directory, "postgres")

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_user, *command], check=True, capture_output=True, text=True)

    def create(self) -> None:
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.directory, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=5499)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--patients", type=int, default=24)
    parser.add_argument("--threads", type=int, default=6, help="concurrent patients")
    parser.add_argument("--practitioners", type=int, default=1)
    parser.add_argument("--outage", type=float, default=6.0, help="seconds PostgreSQL stays down")
    parser.add_argument("--after", type=float, default=3.0, help="seconds of load before stopping PostgreSQL")
    args = parser.parse_args()

    cluster = PrivateCluster(args.port)
    try:
        cluster.create()
        cluster.start()
        run(cluster, args)
    finally:
        cluster.remove()


def run(cluster: PrivateCluster, args: argparse.Namespace) -> None:
    loadkit.table_names_ok(cluster.url)
    loadkit.reset_database(cluster.url)
    today = dt.datetime.now(ZoneInfo("Europe/London")).date()
    todo: queue.Queue[int] = queue.Queue()
    for number in range(1, args.patients + 1):
        todo.put(number)
    patients: list[Patient] = []
    hits: list = []
    lock = threading.Lock()
    # Patients keep pressing the button through the outage, for as long as the whole run may take.
    retry_until = time.monotonic() + args.after + args.outage + 300

    def patient_worker(host: str, port: int) -> None:
        mine: list = []
        while True:
            try:
                number = todo.get_nowait()
            except queue.Empty:
                break
            browser = Browser(host, port, mine)
            patient = loadkit.patient_journey(browser, Patient(number), today, retry_until=retry_until)
            browser.close()
            with lock:
                patients.append(patient)
        with lock:
            hits.extend(mine)

    events: dict[str, float] = {}
    print(f"private PostgreSQL on 127.0.0.1:{args.port} ({cluster.directory}); gunicorn --workers {args.workers}; "
          f"{args.patients} patients, {args.threads} at a time; PostgreSQL stopped after {args.after:.0f} s "
          f"for {args.outage:.0f} s")
    with loadkit.gunicorn(cluster.url, args.workers) as (host, port):
        stop = threading.Event()
        staff_hits: list = []
        staff = [threading.Thread(target=loadkit.practitioner_loop, args=(Browser(host, port, staff_hits), stop))
                 for _ in range(args.practitioners)]
        workers = [threading.Thread(target=patient_worker, args=(host, port)) for _ in range(args.threads)]
        for thread in staff + workers:
            thread.start()
        time.sleep(args.after)
        events["stopping"] = time.monotonic()
        cluster.stop()
        events["stopped"] = time.monotonic()
        time.sleep(args.outage)
        events["starting"] = time.monotonic()
        cluster.start()
        events["started"] = time.monotonic()
        for thread in workers:
            thread.join()
        stop.set()
        for thread in staff:
            thread.join()
        hits.extend(staff_hits)

    report(args, patients, hits, events)
    checked = loadkit.verify(cluster.url, patients)
    print("\n== database check after the run")
    print(f"  answered 'submitted': {checked.successes} of {len(patients)} patients; stored exactly once and "
          f"assessed: {checked.stored_once_and_assessed}; lost: {len(checked.lost)}; duplicated: "
          f"{len(checked.duplicated)}; submitted intakes in the database: {checked.submitted_in_database}")


def report(args: argparse.Namespace, patients: list[Patient], hits: list, events: dict[str, float]) -> None:
    down_from, back_at = events["stopping"], events["started"]
    during = [hit for hit in hits if hit.started + hit.seconds >= down_from and hit.started < back_at]
    after = sorted((hit for hit in hits if hit.started >= back_at and hit.status and hit.status < 400
                    and hit.kind in ("section", "submit", "start", "queue")), key=lambda h: h.started + h.seconds)
    print("\n== during the outage (requests answered between the stop and PostgreSQL being back)")
    print(f"  PostgreSQL stop took {events['stopped'] - events['stopping']:.1f} s, start "
          f"{events['started'] - events['starting']:.1f} s")
    statuses = Counter(hit.status for hit in during)
    print("  answers: " + ", ".join(f"{status or 'no answer'}: {count}" for status, count in sorted(statuses.items())))
    by_kind = Counter((hit.kind, hit.status) for hit in during if hit.status == 503)
    print("  503 by request: " + ", ".join(f"{kind} {count}" for (kind, _s), count in sorted(by_kind.items())))
    other_errors = [hit for hit in hits if hit.status == 0 or (hit.status >= 500 and hit.status != 503)]
    print(f"  5xx other than the clear 503, or no answer, over the whole run: {len(other_errors)}")
    seen = sum(p.unavailable_pages for p in patients)
    sections = sum(p.unavailable_sections for p in patients)
    kept = sum(p.kept_typing for p in patients)
    print(f"  503 pages seen by patients: {seen}; answers to a section they sent: {sections}, of which "
          f"{kept} came back with everything they had typed")
    if after:
        first = after[0]
        print(f"  recovery: first successful database request {first.started + first.seconds - back_at:.2f} s "
              f"after PostgreSQL was back (no restart of the app)")
    else:
        print("  recovery: no successful request after PostgreSQL was back")
    unfinished = [p for p in patients if not p.submitted]
    print(f"  patients who could not finish: {len(unfinished)}"
          + (f" (first: {unfinished[0].failed_at})" if unfinished else ""))
    print("\n== whole run")
    for line in loadkit.latency_table(hits):
        print(line)


if __name__ == "__main__":
    main()

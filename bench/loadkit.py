"""What the load and fault tests share: a gunicorn server, a small browser, the patient and practitioner
journeys, figures, and the check in the database that every success is stored exactly once.

Standard library only on the client side (http.client): the journeys do what a browser does —
GET each page for its CSRF token, POST the form, follow nothing automatically.
"""

from __future__ import annotations

import datetime as dt
import html
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.patient import SECTIONS, fields  # noqa: E402 - after the path is set

SECRET_KEY = "load-test-secret-key-0123456789-abcdefghijklmnop"
PRACTITIONER = ("load@demo.clinic", "Load Practitioner", "practitioner", "correct horse battery")
CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
#: Rate limits out of the way: the test measures the app, not the throttle (one address sends everything).
UNTHROTTLED = "1000000 per minute"


def server_env(database_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "CLINIC_NAME": "Load Test Clinic",
        "INTAKE_START_RATE_LIMIT": UNTHROTTLED, "INTAKE_SUBMIT_RATE_LIMIT": UNTHROTTLED,
        "SIGN_IN_RATE_LIMIT": UNTHROTTLED, "API_RATE_LIMIT": UNTHROTTLED,
    })
    env.update(extra or {})
    return env


def reset_database(database_url: str) -> None:
    """An empty schema with one practitioner (in this process, through the app's own models)."""
    from intake import create_app
    from intake.auth import service
    from intake.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET_KEY})
    with app.app_context():
        db.drop_all()
        db.create_all()
        service.create_user(*PRACTITIONER)
        db.engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(database_url: str, workers: int, extra_env: dict[str, str] | None = None,
             threads: int = 1) -> Iterator[tuple[str, int]]:
    """gunicorn serving wsgi:app on a free loopback port; yields (host, port)."""
    port = free_port()
    command = [str(REPO / ".venv/bin/gunicorn"), "--workers", str(workers), "--threads", str(threads),
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "60", "wsgi:app"]
    log = open(REPO / "bench" / f".gunicorn-{port}.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, cwd=REPO, env=server_env(database_url, extra_env), stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"gunicorn exited: see {log.name}") from None
                time.sleep(0.2)
        # Every worker imports the app; wait until one answers.
        Browser("127.0.0.1", port).get("/")
        yield "127.0.0.1", port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        if "[ERROR]" in Path(log.name).read_text():  # gunicorn could not answer a request
            print(f"(gunicorn logged errors: kept in {log.name})")
        else:
            Path(log.name).unlink(missing_ok=True)


@dataclass
class Hit:
    kind: str
    status: int  # 0: no HTTP answer at all (connection refused, reset, timeout)
    seconds: float
    started: float


class Browser:
    """One visitor: a keep-alive connection and the session cookie."""

    def __init__(self, host: str, port: int, hits: list[Hit] | None = None):
        self.host, self.port = host, port
        self.cookies: dict[str, str] = {}
        self.hits = hits if hits is not None else []
        self.connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, form: list[tuple[str, str]] | None = None,
                kind: str = "") -> tuple[int, dict[str, str], str]:
        body = urlencode(form).encode() if form is not None else None
        headers = {"Host": f"localhost:{self.port}"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.monotonic()
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            status = response.status
            answer_headers = {k.lower(): v for k, v in response.getheaders()}
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    cookie = value.split(";", 1)[0]
                    key, _, val = cookie.partition("=")
                    self.cookies[key.strip()] = val.strip()
            if response.will_close:
                self.close()
        except (OSError, http.client.HTTPException):
            self.close()
            status, answer_headers, text = 0, {}, ""
        self.hits.append(Hit(kind or method, status, time.monotonic() - started, started))
        return status, answer_headers, text

    def get(self, path: str, kind: str = "") -> tuple[int, dict[str, str], str]:
        return self.request("GET", path, kind=kind)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def csrf_of(page: str) -> str:
    match = CSRF.search(page)
    return match.group(1) if match else ""


def answers_for(today: dt.date) -> dict[str, dict[str, str]]:
    """The form fields that depend on the day, relative to the server's today."""
    return {
        "about": {"appointment_date": (today + dt.timedelta(days=14)).isoformat()},
        "medications": {"items-1-stopped_on": (today - dt.timedelta(days=20)).isoformat()},
        "treatments": {"items-0-on": (today - dt.timedelta(days=60)).isoformat()},
    }


@dataclass
class Patient:
    """What happened to one patient: their token, and whether the app told them it was submitted."""

    number: int
    token: str = ""
    submitted: bool = False  # the app answered "submitted" (redirect to the confirmation, which shows)
    failed_at: str = ""
    unavailable_pages: int = 0  # 503 pages seen (and retried)
    unavailable_sections: int = 0  # of those, answers to a section POST
    kept_typing: int = 0  # of those, section pages that came back with everything typed


def kept_typing(page: str, form: list[tuple[str, str]]) -> bool:
    """Whether a re-rendered page shows every value the patient had typed (escaped, as HTML shows it)."""
    typed = [value for name, value in form if name not in ("csrf_token", "action") and value]
    return all(html.escape(value, quote=False) in page for value in typed)


def patient_journey(browser: Browser, patient: Patient, today: dt.date, retry_until: float = 0.0,
                    retry_pause: float = 0.5) -> Patient:
    """Start, fill in every section, submit, read the confirmation. With ``retry_until`` set, a 503 (or no
    answer) is retried until then, as a patient pressing the button again would."""
    overrides = answers_for(today)
    name = f"Load Patient {patient.number}"

    def attempt(method: str, path: str, form: list[tuple[str, str]] | None, kind: str,
                expect: tuple[int, ...]) -> tuple[int, dict[str, str], str]:
        while True:
            status, headers, text = browser.request(method, path, form, kind)
            if status in expect:
                return status, headers, text
            if status in (0, 503) and time.monotonic() < retry_until:
                if status == 503:
                    patient.unavailable_pages += 1
                    if kind == "section" and form:
                        patient.unavailable_sections += 1
                        patient.kept_typing += kept_typing(text, form)
                time.sleep(retry_pause)
                if method == "POST" and not CSRF.search(text or ""):
                    # No page came back: fetch the form again for a fresh token before resending.
                    fresh = browser.get(path if kind != "submit" else path.rsplit("/", 1)[0] + "/review",
                                        kind="page")
                    token = csrf_of(fresh[2])
                    if token and form:
                        form = [("csrf_token", token)] + [(k, v) for k, v in form if k != "csrf_token"]
                continue
            return status, headers, text

    status, _h, page = attempt("GET", "/", None, "page", (200,))
    if status != 200:
        patient.failed_at = f"start page {status}"
        return patient
    status, headers, _t = attempt("POST", "/start", [("csrf_token", csrf_of(page))], "start", (302,))
    if status != 302:
        patient.failed_at = f"start {status}"
        return patient
    patient.token = urlsplit(headers["location"]).path.split("/")[2]
    for section in SECTIONS:
        url = f"/i/{patient.token}/{section}"
        status, _h, page = attempt("GET", url, None, "page", (200,))
        if status != 200:
            patient.failed_at = f"{section} page {status}"
            return patient
        changes = dict(overrides.get(section, {}))
        if section == "about":
            changes.update(full_name=name, email=f"load{patient.number}@example.com")
        if section == "consent":
            changes["signature"] = name
        form = [("csrf_token", csrf_of(page)), *fields(section, changes), ("action", "continue")]
        status, _h, _t = attempt("POST", url, form, "section", (302,))
        if status != 302:
            patient.failed_at = f"{section} save {status}"
            return patient
    status, _h, page = attempt("GET", f"/i/{patient.token}/review", None, "page", (200,))
    if status != 200:
        patient.failed_at = f"review {status}"
        return patient
    status, headers, _t = attempt("POST", f"/i/{patient.token}/submit", [("csrf_token", csrf_of(page))],
                                  "submit", (302,))
    if status != 302 or not headers.get("location", "").rstrip("/").endswith(f"/i/{patient.token}"):
        patient.failed_at = f"submit {status}"
        return patient
    status, _h, page = attempt("GET", f"/i/{patient.token}", None, "confirmation", (200,))
    patient.submitted = status == 200 and name in page
    if not patient.submitted:
        patient.failed_at = f"confirmation {status}"
    return patient


def practitioner_loop(browser: Browser, stop: threading.Event, pause: float = 0.2) -> None:
    """Sign in, then read the queue (and the first intake's record) until told to stop."""
    status, _h, page = browser.get("/staff/sign-in", kind="staff")
    email, _name, _role, password = PRACTITIONER
    browser.request("POST", "/staff/sign-in", [("csrf_token", csrf_of(page)), ("email", email),
                                               ("password", password), ("next", "")], kind="staff")
    while not stop.is_set():
        status, _h, page = browser.get("/staff/queue?status=all", kind="queue")
        if status == 302:  # signed out (e.g. by an outage mid-sign-in): sign in again
            status, _h, page = browser.get("/staff/sign-in", kind="staff")
            browser.request("POST", "/staff/sign-in", [("csrf_token", csrf_of(page)), ("email", email),
                                                       ("password", password), ("next", "")], kind="staff")
            continue
        found = re.search(r'href="(/staff/intakes/\d+)"', page)
        if found:
            browser.get(found.group(1), kind="record")
        stop.wait(pause)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def latency_table(hits: list[Hit]) -> list[str]:
    by_kind: dict[str, list[float]] = defaultdict(list)
    for hit in hits:
        if hit.status:
            by_kind[hit.kind].append(hit.seconds * 1000)
            by_kind["(all)"].append(hit.seconds * 1000)
    lines = [f"  {'request':<13}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"]
    for kind in sorted(by_kind, key=lambda k: (k != "(all)", k)):
        values = by_kind[kind]
        lines.append(f"  {kind:<13}{len(values):>7}{statistics.median(values):>9.0f}"
                     f"{percentile(values, 0.95):>9.0f}{percentile(values, 0.99):>9.0f}{max(values):>9.0f}")
    return lines


@dataclass
class Verification:
    successes: int = 0
    stored_once_and_assessed: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    submitted_in_database: int = 0


def verify(database_url: str, patients: list[Patient]) -> Verification:
    """Every patient told "submitted" has exactly one submitted intake, one assessment, one submission entry."""
    import sqlalchemy as sa

    from intake.models import hash_token

    result = Verification()
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        result.submitted_in_database = connection.execute(
            sa.text("SELECT count(*) FROM intake WHERE status = 'SUBMITTED' OR status = 'submitted'")).scalar()
        for patient in patients:
            if not patient.submitted:
                continue
            result.successes += 1
            rows = connection.execute(sa.text(
                "SELECT i.id, i.status, (SELECT count(*) FROM assessment a WHERE a.intake_id = i.id),"
                " (SELECT count(*) FROM audit_entry e WHERE e.intake_id = i.id AND e.action = 'intake.submitted')"
                " FROM intake i WHERE i.token_hash = :hash"), {"hash": hash_token(patient.token)}).all()
            if len(rows) != 1 or str(rows[0][1]).lower() != "submitted":
                result.lost.append(patient.token)
            elif rows[0][2] != 1 or rows[0][3] != 1:
                result.duplicated.append(patient.token)
            else:
                result.stored_once_and_assessed += 1
    engine.dispose()
    return result


def table_names_ok(database_url: str) -> None:
    """Fail early, with the reason, if the table names assumed by ``verify`` are not the app's."""
    from intake.models import Assessment, AuditEntry, Intake

    assert (Intake.__tablename__, Assessment.__tablename__, AuditEntry.__tablename__) == (
        "intake", "assessment", "audit_entry"), "update the SQL in loadkit.verify"

"""Background work on Celery: jobs by name, periodic tasks by name and interval (docs/jobs.md).

With ``JOBS_BROKER_URL`` set (Redis), a job is sent to the queue and run by ``flask jobs worker``
processes (on any machine that reaches Redis and the database), and ``flask jobs scheduler``
(Celery beat) sends the periodic tasks. Without it (the demo, SQLite) Celery runs each job
eagerly, in the process that asked for it, and a scheduler thread in the app runs the periodic
tasks: the demo needs no Redis.

What a job has done is kept in the database, never in the queue: a job is safe to run twice
and to resume after a worker died (intake.rulesets.reassess, intake.outbox).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery import Celery, Task
from flask import Flask, current_app

#: Jobs by name: a plain function, given JSON-able arguments, run inside an app context.
JOBS: dict[str, Callable[..., Any]] = {}


@dataclass(frozen=True)
class Periodic:
    """A job the scheduler runs every ``every`` seconds; ``setting`` names a config key that overrides it."""

    name: str
    every: float
    setting: str | None = None

    def interval(self, app: Flask) -> float:
        """Seconds between two runs in ``app``; 0 or less: never."""
        return float(app.config.get(self.setting, self.every)) if self.setting else self.every


PERIODIC: dict[str, Periodic] = {}


def job(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function as the job called ``name`` (``dispatch(name, ...)`` runs it)."""
    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        JOBS[name] = function
        return function
    return register


def periodic(name: str, *, every: dt.timedelta | float, setting: str | None = None
             ) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Register a function of no arguments as a job the scheduler runs every ``every``.

    ``setting`` names a config key (seconds) that overrides the interval; 0 turns it off.
    Running twice at once, or late, must do no harm: the work is claimed in the database.
    """
    seconds = every.total_seconds() if isinstance(every, dt.timedelta) else float(every)

    def register(function: Callable[[], Any]) -> Callable[[], Any]:
        job(name)(function)
        PERIODIC[name] = Periodic(name, seconds, setting)
        return function
    return register


def init_app(app: Flask) -> Celery:
    """Give the app its Celery app, and (without a broker) its scheduler thread, started by the first request."""
    celery = configure(app)
    app.before_request(lambda: _start_embedded_scheduler(app))
    return celery


def configure(app: Flask) -> Celery:
    """Flask's "Background Tasks with Celery" pattern: one Celery app per Flask app, tasks run in its context.

    Called again after JOBS_BROKER_URL changed (tests switch between eager and a real worker).
    """

    class FlaskTask(Task):  # type: ignore[misc,unused-ignore]  # Celery ships no types: Task is Any
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    broker = app.config.get("JOBS_BROKER_URL") or ""
    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=broker or "memory://",
        # No result backend: a job reports through the database (its run, its outbox row).
        task_ignore_result=True,
        task_always_eager=not broker,
        task_eager_propagates=bool(app.config.get("TESTING")),
        task_default_queue=app.config.get("JOBS_QUEUE", "meso-intake"),
        # A worker takes one task at a time, so a long job does not hold others back on a prefetched slot.
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"global_keyprefix": app.config.get("JOBS_KEY_PREFIX", "")},
        beat_schedule_filename=app.config.get("JOBS_BEAT_FILE") or f"{app.instance_path}/celerybeat-schedule",
        worker_hijack_root_logger=False,
    )
    app.extensions["celery"] = celery
    return celery


def celery_app(app: Flask | None = None) -> Celery:
    """The app's Celery app, with every job registered so far as a task."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # LocalProxy's, untyped
    celery: Celery = app.extensions["celery"]
    for name, function in JOBS.items():
        if name not in celery.tasks:
            # Not shared: a shared task is added to every Celery app made later, bound to this function.
            celery.task(name=name, shared=False)(function)
    return celery


def eager(app: Flask | None = None) -> bool:
    """No broker: jobs run in the process that dispatches them."""
    return not (app or current_app).config.get("JOBS_BROKER_URL")


def dispatch(name: str, *args: Any, background: bool = False) -> None:
    """Run the job ``name`` with ``args``: on the queue, or here.

    Without a broker the job runs now, in a new app context (its own database session), or in a
    thread when ``background`` is set (a long job must not hold the request up).
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # LocalProxy's, untyped
    task = celery_app(app).tasks[name]
    if not eager(app):
        task.delay(*args)
    elif background:
        threading.Thread(target=task.apply, args=(args,), daemon=True, name=f"job-{name}").start()
    else:
        task.apply(args)


def beat_schedule(app: Flask) -> dict[str, dict[str, Any]]:
    """The periodic jobs for Celery beat: each one by its name, every its interval."""
    return {name: {"task": name, "schedule": seconds}
            for name, entry in PERIODIC.items() if (seconds := entry.interval(app)) > 0}


def run_periodic_once(app: Flask, clock: Callable[[], float], last: dict[str, float]) -> list[str]:
    """Run each periodic job whose interval has passed since ``last`` (which this updates); the names run."""
    ran = []
    for name, entry in list(PERIODIC.items()):
        seconds = entry.interval(app)
        now = clock()
        if seconds <= 0:
            continue
        if name not in last:
            last[name] = now  # the first run waits one interval: a process that only starts does no work
            continue
        if now - last[name] >= seconds:
            last[name] = now
            try:
                celery_app(app).tasks[name].apply()
            except Exception:  # noqa: BLE001 - one failing job must not stop the others or the thread
                app.logger.exception("periodic job %s failed", name)
            ran.append(name)
    return ran


_scheduler_started: set[int] = set()
_scheduler_lock = threading.Lock()


def _start_embedded_scheduler(app: Flask) -> None:
    """Without a broker, the first request of a process starts the in-app scheduler thread (never in tests)."""
    if not eager(app) or app.config.get("TESTING") or not app.config.get("JOBS_EMBEDDED_SCHEDULER", True):
        return
    with _scheduler_lock:
        if id(app) in _scheduler_started:
            return
        _scheduler_started.add(id(app))

    def loop() -> None:
        last: dict[str, float] = {}
        while True:
            run_periodic_once(app, time.monotonic, last)
            time.sleep(float(app.config.get("JOBS_EMBEDDED_TICK_SECONDS", 5)))

    threading.Thread(target=loop, daemon=True, name="meso-scheduler").start()

"""`flask worker`, `flask scheduler` and `flask jobs`: run the queue's workers and its scheduler (docs/jobs.md)."""

from __future__ import annotations

from typing import Any

import click
from celery.signals import worker_process_init, worker_ready
from flask import Flask, current_app
from flask.cli import with_appcontext

from ..extensions import db
from . import JOBS, PERIODIC, beat_schedule, celery_app, dispatch, eager
from . import scheduled as scheduled  # noqa: PLC0414 - registers the purge and checkpoint jobs

#: Sent when a worker starts: runs left behind by a worker that died carry on.
ON_WORKER_READY = ("reassess.resume_stalled", "outbox.deliver_due")


def _app() -> Flask:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]  # LocalProxy's, untyped
    if eager(app):
        raise click.ClickException("JOBS_BROKER_URL is not set: without a broker jobs run inside the app "
                                   "(and its scheduler thread); set JOBS_BROKER_URL=redis://127.0.0.1:6379/0 "
                                   "to run workers.")
    return app


@click.command("worker", context_settings={"ignore_unknown_options": True})
@click.option("--concurrency", "-c", type=int, default=None, help="Processes (default: one per CPU).")
@click.option("--pool", default="prefork", show_default=True, help="Celery's pool: prefork, solo or threads.")
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@with_appcontext
def worker(concurrency: int | None, pool: str, celery_args: tuple[str, ...]) -> None:
    """Run a worker: takes jobs from JOBS_BROKER_URL (any other option goes to `celery worker`)."""
    app = _app()
    celery = celery_app(app)

    @worker_process_init.connect(weak=False)
    def _fresh_connections(**_: Any) -> None:
        # A forked process must not share the parent's database connections.
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose(close=False)

    @worker_ready.connect(weak=False)
    def _resume(**_: Any) -> None:
        with app.app_context():
            for name in ON_WORKER_READY:
                dispatch(name)

    argv = ["worker", "--loglevel=INFO", f"--pool={pool}", *celery_args]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    celery.worker_main(argv)


@click.command("scheduler", context_settings={"ignore_unknown_options": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@with_appcontext
def scheduler(celery_args: tuple[str, ...]) -> None:
    """Run the scheduler (Celery beat): sends each periodic job to the queue at its interval. Run one only."""
    app = _app()
    celery = celery_app(app)
    celery.conf.beat_schedule = beat_schedule(app)
    celery.start(["beat", "--loglevel=INFO", *celery_args])


@click.group("jobs")
def jobs_group() -> None:
    """The background jobs: list them, or run one now."""


@jobs_group.command("list")
@with_appcontext
def jobs_list() -> None:
    """Every job, and the periodic ones' intervals here."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # LocalProxy's, untyped
    for name in sorted(JOBS):
        entry = PERIODIC.get(name)
        every = entry.interval(app) if entry else None
        when = "" if entry is None else (f"every {every:g} s" if every and every > 0 else "periodic, off")
        click.echo(f"{name}\t{when}".rstrip())
    click.echo(f"broker: {'none (jobs run in the app)' if eager(app) else 'configured'}")


@jobs_group.command("run")
@click.argument("name")
@with_appcontext
def jobs_run(name: str) -> None:
    """Run the job NAME now, in this process (e.g. from cron: `flask jobs run outbox.deliver_due`)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # LocalProxy's, untyped
    if name not in JOBS:
        raise click.ClickException(f"no job called {name!r}: `flask jobs list` lists them")
    result = celery_app(app).tasks[name].apply(throw=True).get()
    click.echo(f"{name}: {result}")

"""The app a real worker subprocess runs in the job tests (tests/web/test_jobs_worker.py).

Its settings come from the environment the test gives it: the test database, the test Redis
queue, the SMTP server the test listens on; otherwise those of the route tests.
"""

from __future__ import annotations

import os

from intake import create_app
from tests.support.settings import TODAY

app = create_app({
    "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
    "SQLALCHEMY_DATABASE_URI": os.environ["MESO_WORKER_DATABASE_URL"],
    "TODAY": TODAY,
    "SERVER_NAME": "localhost",
    "JOBS_BROKER_URL": os.environ["MESO_WORKER_BROKER_URL"],
    "JOBS_QUEUE": os.environ["MESO_WORKER_QUEUE"],
    "JOBS_KEY_PREFIX": os.environ["MESO_WORKER_KEY_PREFIX"],
    "MAIL_BACKEND": "smtp",
    "MAIL_SERVER": "127.0.0.1",
    "MAIL_PORT": int(os.environ.get("MESO_WORKER_SMTP_PORT", "9")),
    "REASSESS_BATCH": int(os.environ.get("MESO_WORKER_REASSESS_BATCH", "200")),
    "REASSESS_LEASE_SECONDS": float(os.environ.get("MESO_WORKER_LEASE_SECONDS", "120")),
    "AUDIT_CHECKPOINT_FILE": os.environ.get("MESO_WORKER_CHECKPOINT_FILE", ""),
    "OUTBOX_RETRY_SECONDS": 0,
})

"""Print how long the admin's preview pages take on many stored intakes: in the request, and in chunks.

Run from the repo root:

    .venv/bin/python bench/bench_admin_preview.py [--count 20000] [--chunks 1,4]

Figures, not assertions (DESIGN.md). It fills a fresh SQLite file with ``--count`` submitted
intakes (bench_preview.fill), saves bench_preview's clinic folder as a rules version through the
upload page, then, through Flask's test client signed in as an admin and without a broker (the
chunks run within the POST, one after the other): the preview page in the request
(PREVIEW_INLINE_LIMIT above the count), then for each ``--chunks`` N the POST that starts the
preview in N chunks (PREVIEW_INLINE_LIMIT below the count) and the run page that shows its
merged result.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_preview import CLINIC, fill  # noqa: E402

from intake import create_app  # noqa: E402
from intake.extensions import db  # noqa: E402
from tests.support.forms import FormClient  # noqa: E402
from tests.support.rules_admin import upload  # noqa: E402
from tests.support.staff import make_user, sign_in  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--chunks", default="1,4", help="comma-separated PREVIEW_CHUNKS to try")
    args = parser.parse_args()
    database = Path(tempfile.mkdtemp(prefix="bench-admin-preview-")) / "bench.sqlite"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "SECRET_KEY": "bench-" * 8,
                      "TESTING": True, "SERVER_NAME": "localhost", "MAIL_BACKEND": "locmem"})
    with app.app_context():
        db.create_all()
        fill(args.count, args.seed)
    make_user(app, "ada@demo.clinic", "admin", "Ada Admin")
    forms = FormClient(app.test_client())
    sign_in(forms, email="ada@demo.clinic")
    version_id = int(upload(forms, "ours.yaml", CLINIC).location.rsplit("/", 1)[1])
    page = f"/staff/rules/versions/{version_id}/preview?since=2000-01-01"
    print(f"bench_admin_preview: {args.count:,} intakes on SQLite, no broker, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}, {dt.date.today()}")

    app.config["PREVIEW_INLINE_LIMIT"] = args.count
    start = time.perf_counter()
    response = forms.client.get(page)
    print(f"  preview page, in the request: {time.perf_counter() - start:.1f} s ({response.status_code})")

    app.config["PREVIEW_INLINE_LIMIT"] = args.count - 1
    offer = forms.client.get(page)  # the CSRF token of the start form
    for chunks in [int(n) for n in args.chunks.split(",") if n]:
        app.config["PREVIEW_CHUNKS"] = chunks
        token = offer.get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        start = time.perf_counter()
        started = forms.client.post(f"/staff/rules/versions/{version_id}/preview/runs",
                                    data={"csrf_token": token, "since": "2000-01-01"})
        run_time = time.perf_counter() - start
        start = time.perf_counter()
        shown = forms.client.get(started.location)
        print(f"  {chunks} chunk(s): start (chunks run within the POST) {run_time:.1f} s ({started.status_code}); "
              f"run page with the merged result {1000 * (time.perf_counter() - start):.0f} ms ({shown.status_code})")


if __name__ == "__main__":
    main()

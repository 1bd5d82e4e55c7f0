"""Print what photos cost: a 12-megapixel phone photo from upload to stored, and the record with 10 photos.

Run from the repo root:
    .venv/bin/python bench/bench_photos.py [--uploads 5] [--views 30]
                                           [--database-url postgresql+psycopg://…/db]

Figures, not assertions. On a throwaway SQLite file (or an empty PostgreSQL database you
name: its tables are dropped and re-created), through the test client (the whole request:
multipart parsing, CSRF off, verification, re-encoding, encryption, storage, audit):

1. **upload to stored**: POST /i/<token>/photos with a 12 MP (4000 × 3000) phone JPEG with
   EXIF orientation and GPS, median and worst over ``--uploads``; the part spent in
   Pillow (``images.process``) alone; the peak memory of one upload, as the growth of the
   process's peak RSS over the first one (Pillow allocates outside Python's allocator, so
   tracemalloc alone would miss it) and tracemalloc's Python-level peak.
2. **the record with 10 photos**: GET /staff/intakes/<id> signed in as a practitioner,
   p50/p95 over ``--views``, beside the same record without photos; and its 10 thumbnails
   fetched one after another (each decrypted and audited), as a browser opening it would.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from intake import create_app  # noqa: E402
from intake.auth import service as accounts  # noqa: E402
from intake.demo.intakes import seed_intakes  # noqa: E402
from intake.extensions import db  # noqa: E402
from intake.models import Intake, Photo  # noqa: E402
from intake.patient.service import start_intake  # noqa: E402
from intake.photos import images  # noqa: E402
from intake.photos import service as photos  # noqa: E402
from tests.support.photos import jpeg, phone_photo  # noqa: E402

TODAY = dt.date(2026, 11, 25)
PASSWORD = "bench password that is long enough 42"


def make_app(url: str):  # type: ignore[no-untyped-def]
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "TODAY": TODAY, "WTF_CSRF_ENABLED": False,
                      "SECRET_KEY": "bench-secret-key-0123456789-abcdefghijkl", "PATIENT_PHOTOS_MAX": 1000,
                      "INTAKE_SUBMIT_RATE_LIMIT": "100000 per hour", "SIGN_IN_RATE_LIMIT": "1000 per minute"})
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def bench_upload(app, uploads: int) -> None:  # type: ignore[no-untyped-def]
    photo = phone_photo(12)
    with app.app_context():
        _intake, token = start_intake()
    client = app.test_client()

    def post() -> float:
        started = time.perf_counter()
        response = client.post(f"/i/{token}/photos", data={
            "area": "face", "clinical_consent": "y", "camera": (io.BytesIO(photo), "IMG_0001.jpg")},
            content_type="multipart/form-data")
        elapsed = time.perf_counter() - started
        assert response.status_code == 302, response.status_code
        return elapsed

    before = peak_rss_mb()
    tracemalloc.start()
    first = post()
    _current, python_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    grown = peak_rss_mb() - before
    times = [first] + [post() for _ in range(uploads - 1)]
    limits = images.Limits(15 * 1024 * 1024, 50_000_000)
    pillow = []
    for _ in range(max(3, uploads // 2)):
        started = time.perf_counter()
        processed = images.process(photo, limits)
        pillow.append(time.perf_counter() - started)
    print(f"12 MP phone JPEG ({len(photo) / 1e6:.1f} MB sent; kept {processed.width}×{processed.height}, "
          f"{len(processed.data) / 1e6:.1f} MB, thumbnail {len(processed.thumbnail) / 1e3:.0f} KB)")
    print(f"  upload to stored: median {statistics.median(times) * 1000:.0f} ms, worst {max(times) * 1000:.0f} ms "
          f"over {uploads} uploads")
    print(f"  of which Pillow (verify, orient, re-encode, thumbnail): median {statistics.median(pillow) * 1000:.0f} ms")
    print(f"  memory of one upload: peak RSS grew {grown:.0f} MB (process peak {peak_rss_mb():.0f} MB); "
          f"Python-level peak {python_peak / 1e6:.0f} MB")


def bench_record(app, views: int) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        seed_intakes(TODAY)
        accounts.create_user("bench@demo.clinic", "Bench Practitioner", "practitioner", PASSWORD)
        with_photos, without = db.session.scalars(
            select(Intake.id).where(Intake.submitted_at.is_not(None)).order_by(Intake.id).limit(2)).all()
    with app.test_request_context():
        intake = db.session.get(Intake, with_photos)
        for number in range(10):
            processed = photos.verify(jpeg(1600, 1200, colour=(180 + number, 140, 120)))
            photos.add_session_photo(intake, processed, actor="staff:1", kind="before" if number % 2 else "after",
                                     area="face", taken_on=TODAY + dt.timedelta(days=14 * number), note="")
        photo_ids = list(db.session.scalars(select(Photo.id).where(Photo.intake_id == with_photos)))
    client = app.test_client()
    response = client.post("/staff/sign-in", data={"email": "bench@demo.clinic", "password": PASSWORD, "next": ""})
    assert response.status_code == 302, response.status_code

    def timed(url: str) -> float:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, (url, response.status_code)
        return elapsed

    for intake_id in (with_photos, without):
        timed(f"/staff/intakes/{intake_id}")  # warm
    rows = []
    for label, intake_id in (("with 10 photos", with_photos), ("without photos", without)):
        times = [timed(f"/staff/intakes/{intake_id}") for _ in range(views)]
        rows.append((label, times))
    thumbs = []
    for _ in range(max(3, views // 5)):
        started = time.perf_counter()
        for photo_id in photo_ids:
            timed(f"/staff/intakes/{with_photos}/photos/{photo_id}/thumbnail")
        thumbs.append(time.perf_counter() - started)
    for label, times in rows:
        print(f"record page {label}: p50 {percentile(times, 0.5) * 1000:.1f} ms, "
              f"p95 {percentile(times, 0.95) * 1000:.1f} ms over {views} views")
    print(f"  its 10 thumbnails, one after another (decrypted, audited): median "
          f"{statistics.median(thumbs) * 1000:.0f} ms in all")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=5)
    parser.add_argument("--views", type=int, default=30)
    parser.add_argument("--database-url", default="")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = arguments.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        print(f"database: {url.split('://')[0]}")
        app = make_app(url)
        bench_upload(app, arguments.uploads)
        bench_record(app, arguments.views)
        with app.app_context():
            db.drop_all()
            db.engine.dispose()


if __name__ == "__main__":
    main()

"""The database password never reaches pg_dump's or pg_restore's command line (visible in `ps`)."""

from __future__ import annotations

import subprocess

import pytest
import sqlalchemy as sa

from intake.protection import retention


@pytest.mark.parametrize("operation", ["backup", "restore"])
def test_pg_tools_get_the_password_through_the_environment(app, tmp_path, monkeypatch, operation):
    url = sa.engine.make_url("postgresql+psycopg://meso:s3cret-p%40ss@db.internal:5432/meso")
    calls = []
    monkeypatch.setattr(retention.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(retention.subprocess, "run",
                        lambda command, **kwargs: calls.append((command, kwargs))
                        or subprocess.CompletedProcess(command, 0, "", ""))
    fake_db = type("Db", (), {"engine": type("Engine", (), {"url": url, "dispose": lambda self: None})(),
                              "session": type("Session", (), {"remove": lambda self: None})()})()
    monkeypatch.setattr(retention, "db", fake_db)
    path = tmp_path / "meso.dump"
    path.write_bytes(b"PGDMP")
    getattr(retention, operation)(path)
    ((command, kwargs),) = calls
    assert not any("s3cret" in part for part in command), command
    assert "postgresql://meso@db.internal:5432/meso" in command
    assert kwargs["env"]["PGPASSWORD"] == "s3cret-p@ss"

"""Fixtures of the route tests beyond tests/conftest.py's."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from tests.support.settings import BACKENDS, POSTGRES_URL


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    """The URL of a database with nothing in it (a throwaway one on PostgreSQL)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    name = f"meso_migrations_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()

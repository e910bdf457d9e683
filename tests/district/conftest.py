"""A real PostgreSQL for the district tests (bench/pgserver.py: initdb into a temp folder, run as
an unprivileged user, on loopback at a free port, stopped and removed at the end), a fresh
database per test, and a district node serving it."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from bench.pgserver import binaries, temporary_postgres
from server.app import create_district_app
from server.district import schema
from server.serving import BackgroundServer


@pytest.fixture(scope="session")
def postgres():
    """The server's base URL (user paperbridge, trust on loopback); each test makes its own database."""
    try:
        binaries()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    with temporary_postgres("fsync=off", "synchronous_commit=off") as url:
        yield url


@pytest.fixture
def district_url(postgres):
    """A fresh, empty database on the test server for one test."""
    name = "d_" + uuid.uuid4().hex[:12]
    with psycopg.connect(f"{postgres}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{postgres}/{name}"
    with psycopg.connect(f"{postgres}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def district(district_url):
    """A district node on that database, served over real HTTP: (its URL, the database URL)."""
    with psycopg.connect(district_url, autocommit=True) as conn:
        schema.migrate(conn)
    app = create_district_app(district_url, pool_size=2)
    with BackgroundServer(app) as server:
        yield server.url, district_url
    app.extensions["district_pool"].close()

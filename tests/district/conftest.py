"""A real PostgreSQL for the district tests: initdb into a temp folder, run as an unprivileged
user (the `postgres` account when the tests run as root: PostgreSQL refuses root), on
loopback at a free port, stopped and removed at the end."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest

from server.app import create_district_app
from server.district import schema
from server.serving import BackgroundServer


def _bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        pytest.fail("PostgreSQL is not installed: ./run.sh test installs Debian's postgresql package")
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres():
    """The server's base URL (user paperbridge, trust on loopback); each test makes its own database."""
    pg = _bin()
    base = Path(tempfile.mkdtemp(prefix="paperbridge-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", _free_port()
    subprocess.run([*as_user, str(pg / "initdb"), "-D", str(data), "-U", "paperbridge", "--auth=trust",
                    "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], check=True, capture_output=True)
    subprocess.run([*as_user, str(pg / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "start", "-o",
                    f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql://paperbridge@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_user, str(pg / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


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

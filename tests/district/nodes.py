"""School nodes and commands for the district tests: the demo school on its own SQLite file,
linked to a district, and `paperbridge ...` run as a user types it."""

from __future__ import annotations

import time

import psycopg
from click.testing import CliRunner

from server import db as database
from server import demo
from server.cli import cli
from server.district import ledger as district_ledger
from server.district import link, schools


def paperbridge(*args: str):
    return CliRunner().invoke(cli, [*args], catch_exceptions=False)


def code_for(district_url: str, name: str) -> str:
    with psycopg.connect(district_url, autocommit=True) as conn:
        return schools.add_school(conn, name)[1]


def linked_school(tmp_path, district, name: str, seed: int = 7):
    """The demo school on its own SQLite file, linked to the district as ``name``."""
    url, district_url = district
    demo.build(tmp_path / f"{name}.db", seed=seed)
    node = database.connect(tmp_path / f"{name}.db")
    link.link(node, url, code_for(district_url, name))
    return node


def counted(district_url: str, seconds: float = 60) -> None:
    """Wait until the district server's worker has derived the status of every push (none queued)."""
    deadline = time.monotonic() + seconds
    with psycopg.connect(district_url) as conn:
        while district_ledger.queued(conn):
            assert time.monotonic() < deadline, "the district's worker left pushes underived"
            time.sleep(0.02)
            conn.rollback()  # a fresh snapshot for the next look

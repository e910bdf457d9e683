"""`paperbridge district init / code / schools` against a real PostgreSQL."""

from __future__ import annotations

import json
import socket

import psycopg
from click.testing import CliRunner

from server.cli import cli
from server.district import schema, schools


def district(*args: str):
    return CliRunner().invoke(cli, ["district", *args], catch_exceptions=False)


def test_init_makes_the_tables_with_events_partitioned_by_school_and_is_safe_to_run_again(district_url):
    first = district("init", "--database", district_url)
    assert first.exit_code == 0 and ("0001_schools_events, 0002_notices_families, 0003_district_accounts,"
                                     " 0004_status_queue applied") in first.stdout
    again = district("init", "--database", district_url)
    assert again.exit_code == 0 and "already up to date" in again.stdout
    with psycopg.connect(district_url) as conn:
        partitioned = dict(conn.execute("SELECT c.relname, p.partstrat FROM pg_partitioned_table p"
                                        " JOIN pg_class c ON c.oid = p.partrelid").fetchall())
        key = conn.execute("SELECT a.attname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid"
                           " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0]"
                           " WHERE c.relname = 'events'").fetchone()
    assert partitioned == {"events": "l", "receipt_status": "l", "families": "l", "notices": "l"}
    assert key == ("school_id",)


def test_a_school_gets_its_partitions_and_a_one_time_code_stored_only_as_a_hash(district_url):
    district("init", "--database", district_url)
    result = district("code", "  Riverside   Primary ", "--database", district_url)
    assert result.exit_code == 0, result.stderr
    code = result.stdout.split("Enrolment code: ")[1].split()[0]
    assert len(code) == 14 and code.count("-") == 2 and not set(code.replace("-", "")) - set(schools.CODE_ALPHABET)
    with psycopg.connect(district_url) as conn:
        assert conn.execute("SELECT name FROM schools").fetchall() == [("Riverside Primary",)]
        stored = conn.execute("SELECT code_hash FROM enrolment_codes").fetchone()[0]
        parts = {r[0] for r in conn.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                                            " WHERE c.relkind = 'r'")}
    assert bytes(stored) == schools.code_hash(code) and code.encode() not in bytes(stored)
    assert parts == {"events_s1", "receipt_status_s1", "families_s1", "notices_s1"}
    listed = json.loads(district("schools", "--database", district_url, "--format", "json").stdout)
    assert [s["name"] for s in listed] == ["Riverside Primary"] and listed[0]["enrolled_at"] is None


def test_an_empty_name_is_refused_and_adds_nothing(district_url):
    district("init", "--database", district_url)
    result = district("code", "   ", "--database", district_url)
    assert result.exit_code == 1 and "needs a name" in result.stderr
    with psycopg.connect(district_url) as conn:
        assert conn.execute("SELECT count(*) FROM schools").fetchone() == (0,)


def test_an_unreachable_or_wrong_address_is_one_sentence(monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = district("init", "--database", f"postgresql://paperbridge:secret@127.0.0.1:{port}/district")
    assert result.exit_code == 1
    assert f"Cannot reach the district database at 127.0.0.1:{port}/district" in result.stderr
    assert "secret" not in result.stderr and "Traceback" not in result.stderr
    wrong = district("init", "--database", "/tmp/district.db")
    assert wrong.exit_code == 1 and "is not a PostgreSQL address" in wrong.stderr
    monkeypatch.delenv("PAPERBRIDGE_DISTRICT_DB", raising=False)
    missing = district("init")
    assert missing.exit_code == 1 and "PAPERBRIDGE_DISTRICT_DB" in missing.stderr


def test_two_inits_at_once_apply_each_migration_once(district_url):
    with psycopg.connect(district_url, autocommit=True) as a, psycopg.connect(district_url, autocommit=True) as b:
        assert schema.migrate(a) == [name for name, _ddl in schema.MIGRATIONS]
        assert schema.migrate(b) == []

"""The `paperbridge` command as an office worker runs it: in-process through click's CliRunner, with a
few subprocess smoke tests of the installed script (tests/server/test_cli_smoke.py)."""

import json
import sqlite3
from types import SimpleNamespace

import click
import pytest
from click.testing import CliRunner

from server.cli import cli
from tests.builders import row, write_roster


def run(db_path, *args, check=True):
    """`paperbridge --db DB ARGS` in-process: returncode, stdout and stderr as from a subprocess."""
    result = CliRunner().invoke(cli, ["--db", str(db_path), *map(str, args)], catch_exceptions=False)
    if check and result.exit_code != 0:
        raise AssertionError(f"exit {result.exit_code}: {result.stderr}")
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)


def all_commands(group=cli, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,)
        if isinstance(command, click.Group):
            yield from all_commands(command, prefix + (name,))


@pytest.mark.parametrize("path", list(all_commands()), ids=" ".join)
def test_every_command_has_help(path):
    command = cli
    for name in path:
        command = command.commands[name]
    assert command.help and len(command.help.strip()) > 10


def test_commands_need_init_first(tmp_path):
    result = run(tmp_path / "x.db", "roster", "list", check=False)
    assert result.returncode == 1 and "paperbridge init" in result.stderr


def test_office_round_trip(tmp_path):
    db = tmp_path / "school.db"
    assert "Created" in run(db, "init", "--school-id", "rsp", "--region", "HK").stdout
    assert "Already set up" in run(db, "init").stdout

    roster_file = write_roster(tmp_path / "roster.csv", [
        row("S1", "陳大文", "3A", "陳太", "9123 4567", "zh-Hant"),
        row("S2", "李小明", "3B", "李婆婆", "6123 4567"),
        row("", "沒有學號", "3B"),
    ])
    result = run(db, "roster", "import", roster_file, check=False)
    assert result.returncode == 1
    assert "2 of 3 rows imported" in result.stdout and "roster.csv:4: missing student id" in result.stderr

    listed = json.loads(run(db, "roster", "list", "--format", "json").stdout)
    assert [f["students"] for f in listed] == [["陳大文 (3A)"], ["李小明 (3B)"]]
    assert "+852 ****4567" in listed[0]["guardians"][0] and "9123" not in listed[0]["guardians"][0]
    shown = json.loads(run(db, "roster", "list", "--format", "json", "--show-phones").stdout)
    assert "+85291234567" in shown[0]["guardians"][0]

    notice_id = run(db, "notice", "add", "--title", "秋遊", "--body", "週五去植物園", "--lang", "zh-Hant",
                    "--class", "3A", "--reply", "attend", "--reply", "absent",
                    "--translation", "en", "Trip", "Friday").stdout.strip()
    assert notice_id.isdigit()
    notices_json = json.loads(run(db, "notice", "list", "--format", "json").stdout)
    assert notices_json[0]["id"] == int(notice_id) and notices_json[0]["languages"] == ["en", "zh-Hant"]

    receipts_file = tmp_path / "reads.csv"
    receipts_file.write_text(f"student id,notice\nS1,{notice_id}\n")  # no read time: replays still record once
    assert "1 receipt recorded" in run(db, "receipts", "import", receipts_file).stdout
    assert "0 receipts recorded, 1 already known" in run(db, "receipts", "import", receipts_file).stdout

    report = json.loads(run(db, "status", "--notice", notice_id, "--format", "json").stdout)
    assert report["totals"]["read"] == 1 and report["by_channel"] == {"digital": 1}
    csv_out = run(db, "status", "--notice", notice_id, "--format", "csv").stdout
    assert csv_out.splitlines()[0] == "code,classes,students,state,first_at,channels,reply"
    assert "陳大文" in run(db, "status", "--notice", notice_id).stdout


def test_roster_import_exit_codes(tmp_path):
    db = tmp_path / "school.db"
    run(db, "init")
    good = write_roster(tmp_path / "good.csv", [row("S1")])
    bad = write_roster(tmp_path / "bad.csv", [row("", "x")])
    assert run(db, "roster", "import", good, check=False).returncode == 0
    result = run(db, "roster", "import", bad, check=False)
    assert result.returncode == 2 and "database is unchanged" in result.stderr
    missing_columns = tmp_path / "columns.csv"
    missing_columns.write_text("name,phone\nx,1\n")
    result = run(db, "roster", "import", missing_columns, check=False)
    assert result.returncode == 2 and "it names phone, but not student id, student name, class" in result.stderr


def test_clear_errors_for_bad_arguments(tmp_path):
    db = tmp_path / "school.db"
    run(db, "init")
    for args, message in [
        (("notice", "add", "--title", "t", "--body", "b", "--class", "9Z"), "unknown class 9Z"),
        (("status", "--notice", "99"), "notice 99 does not exist"),
        (("setting", "set", "timezone", "Mars/Olympus"), "unknown time zone"),
        (("user", "add", "x", "--role", "teacher", "--password", "longenough"), "needs at least one class"),
        (("user", "add", "x", "--role", "office", "--password", "short"), "at least 8 characters"),
        (("family", "link", "12345"), "no family has the code"),
    ]:
        result = run(db, *args, check=False)
        assert result.returncode == 1 and message in result.stderr, (args, result.stderr)


def _tables(path) -> dict[str, list]:
    """Every table, every row, in a stable order."""
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                            " AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {name: conn.execute(f"SELECT * FROM [{name}] ORDER BY 1").fetchall() for name in names}
    finally:
        conn.close()


def test_backup_then_restore_into_a_fresh_install_gives_every_table_back(tmp_path):
    db = tmp_path / "school.db"
    run(db, "demo", "--build-only")
    target = tmp_path / "usb" / "backup.db"
    assert "ledger events" in run(db, "backup", target).stdout
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]
    original = _tables(db)
    # the school's database then notes when and where its newest backup went (for `doctor`); the copy cannot
    assert [row[0] for row in original["settings"] if row not in _tables(target)["settings"]] == ["last_backup"]
    original["settings"] = [row for row in original["settings"] if row[0] != "last_backup"]
    assert len(original) >= 20 and _tables(target) == original

    fresh = tmp_path / "new-server" / "paperbridge.db"
    restored = run(fresh, "restore", target)
    assert "Restored" in restored.stdout
    assert _tables(fresh) == original
    assert run(fresh, "status", "--notice", "1", "--format", "json").returncode == 0

    run(fresh, "setting", "set", "school_name", "Changed after restore")
    again = run(fresh, "restore", target, "--yes")
    kept = next(fresh.parent.glob("paperbridge.db.before-restore-*"))
    assert str(kept) in again.stdout and _tables(fresh) == original
    assert ("school_name", "Changed after restore") in _tables(kept)["settings"]


def test_restore_refuses_what_is_not_a_backup(tmp_path):
    db = tmp_path / "school.db"
    run(db, "init")
    before = _tables(db)
    (tmp_path / "junk.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    (tmp_path / "other.db").touch()
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE notes (x)").connection.commit()
    for bad, message in (("missing.db", "does not exist"), ("junk.db", "not a readable database"),
                         ("other.db", "not a PaperBridge database")):
        result = run(db, "restore", tmp_path / bad, "--yes", check=False)
        assert result.returncode == 1 and message in result.stderr, result.stderr
    assert _tables(db) == before and not list(tmp_path.glob(".school.db.*.tmp"))


def test_demo_builds_this_weeks_school_and_never_overwrites_real_data(tmp_path):
    db = tmp_path / "demo.db"
    out = run(db, "demo", "--build-only").stdout
    assert "90 families" in out and "admin-demo" in out
    conn = sqlite3.connect(db)
    counts = dict(conn.execute("SELECT channel, count(*) FROM events GROUP BY channel").fetchall())
    assert set(counts) == {"digital", "paper", "voice", "sms", "kiosk"}
    assert conn.execute("SELECT count(DISTINCT class_id) FROM students").fetchone()[0] == 3
    assert conn.execute("SELECT count(DISTINCT language) FROM families").fetchone()[0] >= 3
    assert "Building" in run(db, "demo", "--build-only").stdout  # rebuilding a demo is fine

    real = tmp_path / "real.db"
    run(real, "init")
    result = run(real, "demo", "--build-only", check=False)
    assert result.returncode == 1 and "will not overwrite" in result.stderr


def test_bulletin_print_and_sent(tmp_path):
    db = tmp_path / "demo.db"
    run(db, "demo", "--build-only")
    week = json.loads(run(db, "notice", "list", "--format", "json").stdout)[0]["week"]
    out = run(db, "bulletin", "print", "--week", week, "--class", "3A", "--out", tmp_path / "3A.pdf").stdout
    assert "30 families" in out and (tmp_path / "3A.pdf").stat().st_size > 10_000
    assert "recorded as delivered" in run(db, "bulletin", "sent", "--week", week, "--class", "3A").stdout
    assert "0 family-notices recorded" in run(db, "bulletin", "sent", "--week", week, "--class", "3A").stdout
    result = run(db, "bulletin", "print", "--week", "2026-48", "--out", tmp_path / "x.pdf", check=False)
    assert result.returncode == 1 and "not an ISO week" in result.stderr
    result = run(db, "bulletin", "print", "--week", week, "--family", "123", "--out", tmp_path / "x.pdf", check=False)
    assert result.returncode == 1 and "No current family has the code 123" in result.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_a_backup_clears_what_killed_backups_left_under_any_name(db, tmp_path):
    import os
    import time

    from server import backup
    usb = tmp_path / "usb"
    usb.mkdir()
    left = usb / ".paperbridge-2026-11-23.db.k3j2h1.tmp"  # last month's backup, killed half-way
    running = usb / ".paperbridge-other.db.a1b2c3.tmp"  # another backup being written right now
    for path in (left, running):
        path.write_bytes(b"half a database")
    hour_ago = time.time() - 3600
    os.utime(left, (hour_ago, hour_ago))
    backup.backup(db, usb / "paperbridge-2026-12-03.db")
    assert not left.exists() and running.exists() and (usb / "paperbridge-2026-12-03.db").exists()

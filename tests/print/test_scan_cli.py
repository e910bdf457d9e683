"""`paperbridge scan` as the office runs it: JSON output, a watched folder, and a crash mid-batch."""

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

PB = str(Path(sys.executable).parent / "paperbridge")


def run(db, *args, **kwargs):
    return subprocess.run([PB, "--db", str(db), *map(str, args)], capture_output=True, text=True, timeout=300,
                          **kwargs)


def paper_receipts(db) -> list:
    with sqlite3.connect(db) as conn:
        return sorted(r[0] for r in conn.execute("SELECT dedupe_key FROM events WHERE dedupe_key LIKE 'slip:%'"))


def test_scan_json_has_an_entry_per_page(school_copy, printed_4a, tmp_path):
    db = Path(school_copy.execute("PRAGMA database_list").fetchone()[2])
    (tmp_path / "junk.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    result = run(db, "scan", printed_4a, tmp_path / "junk.jpg", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["pages"] == 43 and data["slips"] == 40 and data["errors"] == 1
    first_slip = next(p for p in data["pages_detail"] if p["outcome"] == "recorded")
    assert {"file", "page", "outcome", "family_code", "marks", "reason"} <= set(first_slip)
    assert data["pages_detail"][-1]["outcome"] == "error"
    text = run(db, "scan", printed_4a)
    assert "0 receipts recorded" in text.stdout and "already known" in text.stdout


def test_only_errors_exit_nonzero(school_copy, tmp_path):
    db = Path(school_copy.execute("PRAGMA database_list").fetchone()[2])
    (tmp_path / "empty.pdf").write_bytes(b"")
    result = run(db, "scan", tmp_path / "empty.pdf")
    assert result.returncode == 1 and "empty (0 bytes)" in result.stdout
    assert run(db, "scan").returncode == 2  # no files: a usage error


def test_killed_mid_batch_then_rerun_records_everything_once(school_copy, printed_4a, tmp_path):
    db = Path(school_copy.execute("PRAGMA database_list").fetchone()[2])
    school_copy.close()
    clean = tmp_path / "clean.db"
    shutil.copy(db, clean)
    assert run(clean, "scan", printed_4a).returncode == 0
    expected = paper_receipts(clean)

    process = subprocess.Popen([PB, "--db", str(db), "scan", str(printed_4a)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(paper_receipts(db)) < 20:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = paper_receipts(db)
    assert 0 < len(partial) < len(expected)
    killed = batches(db)[0]
    assert killed["finished_at"] is None and 0 < killed["pages"] and 0 < killed["recorded"] <= len(partial)
    assert run(db, "scan", printed_4a).returncode == 0
    assert paper_receipts(db) == expected
    first, second = batches(db)
    assert first["interrupted"] == 1 and first["finished_at"] and second["interrupted"] == 0


def batches(db: Path) -> list[dict]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM scan_batches ORDER BY started_at, id")]


def test_watch_folder_scans_and_moves_files(school_copy, printed_4a, tmp_path):
    db = Path(school_copy.execute("PRAGMA database_list").fetchone()[2])
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    process = subprocess.Popen([PB, "--db", str(db), "scan", "--watch", str(inbox), "--interval", "0.2"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        shutil.copy(printed_4a, inbox / "scan001.pdf")
        (inbox / "garbage.png").write_bytes(b"nope")
        deadline = time.time() + 120
        while time.time() < deadline and not ((inbox / "processed" / "scan001.pdf").exists()
                                              and (inbox / "failed" / "garbage.png").exists()):
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)  # as systemd stops it; Ctrl+C (SIGINT) sets the same stop
        output = process.communicate(timeout=30)[0]
    assert (inbox / "processed" / "scan001.pdf").exists() and (inbox / "failed" / "garbage.png").exists()
    assert "scan001.pdf: 40 slips" in output and not list(inbox.glob("*.pdf"))
    assert len(paper_receipts(db)) > 0
    assert process.returncode == 0 and output.rstrip().endswith("Stopped.")

"""Logs never hold a full phone number, a family link, a token or a secret."""

import logging
import subprocess
import sys
import textwrap

import pytest

from server.logs import redact


@pytest.mark.parametrize("line, gone, kept", [
    ("dry run sms to +8613812345678: hi", "13812345678", "+86 *******5678"),
    ("call from 13812345678 ended", "13812345678", "138****5678"),
    ("GET /f/WzEsMV0.abc-DEF_123 200", "WzEsMV0", "/f/<link>"),
    ("Authorization: Bearer k1_secretToken", "k1_secretToken", "Bearer <token>"),
    ('{"token": "dev-abc123", "name": "Desk"}', "dev-abc123", '"token": "<hidden>"'),
    ("password=hunter2&user=office", "hunter2", "user=office"),
    ("secret " + "ab" * 32, "ab" * 32, "<secret>"),
    ("call from 91234567 failed", "91234567", "+852 ****4567"),  # a Hong Kong number as people type it
    ("guardian +852 9123 4567 opted out", "9123 4567", "+852 ****4567"),
    ("office 0755 8888 1234 is closed", "8888 1234", "****1234"),
])
def test_private_things_are_masked(line, gone, kept):
    assert gone not in redact(line) and kept in redact(line)


@pytest.mark.parametrize("line", [
    "2026-11-23T08:30:00Z reminder round: 3 calls or texts",
    "week 2026-W48, notice 12, 40 slips, batch 0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
    "slip 1234567 scanned in 0.25 s", "Serving on http://127.0.0.1:5000",
])
def test_ordinary_lines_are_left_alone(line):
    assert redact(line) == line


def test_a_running_command_masks_what_it_and_its_libraries_log(db, db_path, school):
    script = textwrap.dedent(f"""
        import logging
        from server import db as database, logs, links
        from ivr.transport import DryRun
        logs.configure()
        db = database.connect({str(db_path)!r})
        link = "http://school/f/" + links.make_token(db, {school['S1']})
        DryRun(db).text("+8613812345678", "Please read: " + link)
        logging.getLogger("twilio.http_client").info("POST To=+8613812345678")
        try:
            raise ValueError("no family has phone +85291234567")
        except ValueError:
            logging.getLogger("paperbridge").exception("lookup failed")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    err = result.stderr
    assert "dry run sms to +86 *******5678" in err and "/f/<link>" in err
    assert "ValueError: no family has phone +852 ****4567" in err  # tracebacks too
    assert "13812345678" not in err and "91234567" not in err and "To=" not in err


def test_a_background_loop_survives_and_logs_any_failure(caplog):
    import sqlite3
    import threading

    from server import loops

    stop, steps = threading.Event(), []

    def step():
        steps.append(1)
        if len(steps) == 1:
            raise sqlite3.OperationalError("database is locked")
        if len(steps) == 3:
            stop.set()

    loops.every(0.01, step, log=logging.getLogger("paperbridge.test"), what="test sync", stop=stop)
    assert len(steps) == 3
    assert "test sync failed" in caplog.text and "database is locked" in caplog.text


def test_meaningful_steps_are_logged_at_info(caplog, client, staff, login):
    caplog.set_level("INFO")
    login("office", "guess-7731")
    login("office", "office-pass")
    assert "sign-in failed for 'office'" in caplog.text and "sign-in: office (office)" in caplog.text
    assert "office-pass" not in caplog.text and "guess-7731" not in caplog.text

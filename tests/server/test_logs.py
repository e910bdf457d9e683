"""Logs never hold a full phone number, a family link, a token or a secret."""

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

"""Retention by the school's settings and a family's own record (PDF + JSON), from the CLI."""

import datetime as dt
import json
import subprocess

from server import clock, concerns, ledger, links, retention, settings
from server.db import messages_dir
from server.errors import BadSignature
from tests.builders import make_notice
from tests.server.test_cli import run


def test_the_ledger_cutoff_is_the_start_of_a_school_year():
    zone = dt.timezone(dt.timedelta(hours=8))
    assert retention.ledger_cutoff(dt.datetime(2026, 12, 4, tzinfo=zone), 3, zone).date() == dt.date(2024, 9, 1)
    assert retention.ledger_cutoff(dt.datetime(2026, 8, 31, tzinfo=zone), 1, zone).date() == dt.date(2025, 9, 1)


def _message(db, family, age_days, name):
    (messages_dir(db) / name).write_bytes(b"ID3 voice")
    with clock.travelling(clock.now() - dt.timedelta(days=age_days)):
        cid = concerns.add(db, family_id=family, notice_id=None, channel="phone", kind="message",
                           recording_url="https://api.twilio.com/x", source="call:CA", actor="family", key=name)
    db.execute("UPDATE concerns SET recording = ? WHERE id = ?", [name, cid])
    return cid


def test_retention_deletes_old_voice_messages_and_anonymises_families_that_left_long_ago(db_path, db, school):
    settings.put(db, "keep_recordings_days", "30")
    settings.put(db, "keep_ledger_years", "2")
    old, new = _message(db, school["S1"], 40, "a" * 32 + ".mp3"), _message(db, school["S2"], 5, "b" * 32 + ".mp3")
    long_ago = clock.now() - dt.timedelta(days=3 * 366)
    with clock.travelling(long_ago):
        notice = make_notice(db, classes=["3A", "3B"])
        ledger.record(db, [ledger.new_event(notice, school["S3"], "paper", "confirmed")])
    token = links.make_token(db, school["S3"])
    db.execute("UPDATE families SET active = 0, updated_at = ? WHERE id = ?", [clock.iso(long_ago), school["S3"]])
    db.execute("UPDATE students SET active = 0 WHERE family_id = ?", [school["S3"]])

    dry = json.loads(run(db_path, "retention", "--dry-run", "--format", "json").stdout)
    assert dry["voice_messages"]["files"] == 1 and dry["families_anonymised"]["families"] == 1
    assert (messages_dir(db) / ("a" * 32 + ".mp3")).exists()  # a dry run removes nothing

    said = run(db_path, "retention").stdout
    assert "Deleted 1 voice message" in said and "Anonymised 1 family" in said
    assert not (messages_dir(db) / ("a" * 32 + ".mp3")).exists() and (messages_dir(db) / ("b" * 32 + ".mp3")).exists()
    assert concerns.get(db, old)["recording"] is None and "removed" in concerns.get(db, old)["words"]
    assert concerns.get(db, new)["recording"] == "b" * 32 + ".mp3"
    family = db["families"].get(school["S3"])
    assert family["display_name"] == retention.ANONYMOUS
    assert {g["phone"] for g in db.query("SELECT phone FROM guardians WHERE family_id = ?", [school["S3"]])} == {None}
    assert {s["name"] for s in db.query("SELECT name FROM students WHERE family_id = ?", [school["S3"]])} == {
        retention.ANONYMOUS}
    try:
        links.family_for_token(db, token)
        raise AssertionError("the old link still opens")
    except BadSignature:
        pass
    assert db.execute("SELECT count(*) FROM events WHERE family_id = ?", [school["S3"]]).fetchone()[0] == 1  # kept
    log = retention.log_entries(db)
    assert {e["what"] for e in log} == {"voice messages", "family anonymised"}
    assert "张" not in json.dumps(log, ensure_ascii=False)  # the log says what, never the data
    again = run(db_path, "retention").stdout
    assert "Deleted 0 voice messages" in again and "Anonymised 0 families" in again


def test_a_bad_age_is_refused(db_path, school):
    result = run(db_path, "retention", "--slip-images-older-than", "-5 days", check=False)
    assert result.returncode == 2 and "is not an age like 180d" in result.stderr


def test_a_family_export_has_everything_as_pdf_and_json(db_path, db, school, tmp_path):
    notice = make_notice(db)
    ledger.record(db, [ledger.new_event(notice, school["S1"], "sms", "reply", payload={"choice": "attend"})])
    concerns.add(db, family_id=school["S1"], notice_id=notice, channel="text", kind="message", words="下雨还去吗？",
                 source="sms:SM1", actor="family", key="k1")
    code = db["families"].get(school["S1"])["code"]
    out = tmp_path / "request"
    said = json.loads(run(db_path, "family", "export", code, "--out", out, "--format", "json").stdout)
    record = json.loads((out / f"{code}-record.json").read_text(encoding="utf-8"))
    assert said[0]["receipts"] == 1 and record["family"]["code"] == code
    assert record["receipts"][0]["payload"] == {"choice": "attend"} and record["concerns"][0]["words"] == "下雨还去吗？"
    assert record["guardians"][0]["phone"] == "+8613800138001" and "pin" not in json.dumps(record).lower()
    text = subprocess.run(["pdftotext", "-layout", str(out / f"{code}-record.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert code in text and "下雨还去吗？" in text and "+8613800138001" in text
    unknown = run(db_path, "family", "export", "999999", "--out", out, check=False)
    assert unknown.returncode == 1 and "no family, current or past, has the code '999999'" in unknown.stderr


def test_the_servers_round_escalates_and_applies_retention_when_asked(db, school):
    from server.cli.housekeeping import scheduled_round

    settings.put(db, "keep_recordings_days", "30")
    name = "c" * 32 + ".mp3"
    cid = _message(db, school["S1"], 40, name)
    scheduled_round(db, reminders=False, retention=False)
    assert (messages_dir(db) / name).exists() and concerns.get(db, cid)["escalated_at"]  # 40 days open: overdue
    scheduled_round(db, reminders=False, retention=True)
    assert not (messages_dir(db) / name).exists()


def test_the_serve_loop_applies_retention_at_the_first_round_then_once_a_day(db_path, school, monkeypatch):
    import threading

    from server.cli import school as serving

    stop, asked = threading.Event(), []

    def round_(db, *, reminders, retention):
        asked.append(retention)
        if len(asked) == 3:
            stop.set()
    monkeypatch.setattr(serving, "scheduled_round", round_)
    serving.scheduled_loop(db_path, seconds=0, stop=stop, reminders=False)
    assert asked == [True, False, False]

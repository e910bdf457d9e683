"""The concerns register from the command line and the domain: answered, closed, overdue and
escalated; bad input refused with a clear message and nothing changed."""

import datetime as dt
import json

import pytest

from server import clock, concerns, settings
from tests.server.test_cli import run


def _add(db, family, words="孩子那天发烧不能去", channel="text", key="sms:SM1:unclear", **extra):
    return concerns.add(db, family_id=family, notice_id=None, channel=channel, kind="message", words=words,
                        source=key.rsplit(":", 1)[0], actor="family", key=key, **extra)


def test_an_entry_goes_to_the_class_teacher_and_is_answered_then_closed(db, staff, school):
    cid = _add(db, school["S1"])
    assert _add(db, school["S1"]) is None  # the same text again (Twilio retrying): no second entry
    entry = concerns.get(db, cid)
    assert entry["assigned_to"] == "t3a" and entry["status"] == "open" and entry["classes"] == "3A"
    assert concerns.get(db, cid, ["3A"]) and concerns.open_count(db, ["3B"]) == 0
    with pytest.raises(concerns.UnknownConcern):
        concerns.get(db, cid, ["3B"])  # another class's teacher: not theirs to see
    answered = concerns.answer(db, cid, "好的，已记下，祝早日康复。", by="t3a")
    assert answered["status"] == "answered" and answered["answered_by"] == "t3a" and not answered["told_at"]
    closed = concerns.close(db, cid, by="t3a")
    assert closed["status"] == "closed" and closed["closed_by"] == "t3a"


def test_bad_answers_and_closes_are_refused_and_change_nothing(db, school):
    cid = _add(db, school["S1"])
    with pytest.raises(ValueError, match="write the answer"):
        concerns.answer(db, cid, "   ", by="t3a")
    with pytest.raises(ValueError, match="at most 1000"):
        concerns.answer(db, cid, "长" * 1001, by="t3a")
    with pytest.raises(ValueError, match="note saying why"):
        concerns.close(db, cid, by="t3a")  # never answered: a note says why it is closed
    assert concerns.get(db, cid)["status"] == "open"
    concerns.close(db, cid, by="office", note="called back, all clear")
    assert concerns.to_tell(db) == [] and concerns.get(db, cid)["told_via"] == "note"  # the note is never sent
    with pytest.raises(concerns.ConcernClosed, match="no more answers"):
        concerns.answer(db, cid, "too late", by="t3a")
    with pytest.raises(concerns.ConcernClosed):
        concerns.close(db, cid, by="office", note="again")
    assert concerns.get(db, cid)["answer"] == "called back, all clear"
    with pytest.raises(concerns.UnknownConcern):
        concerns.answer(db, 999, "who?", by="t3a")
    with pytest.raises(ValueError):
        concerns.add(db, family_id=school["S1"], notice_id=None, channel="fax", kind="message", words="x",
                     source="x", actor="family", key="x")


def test_an_open_entry_past_the_response_time_is_overdue_and_escalated_once(db, school):
    settings.put(db, "concern_response_hours", "48")
    cid = _add(db, school["S1"])
    later = clock.now() + dt.timedelta(hours=49)
    assert concerns.listing(db, overdue=True) == []
    assert [r["id"] for r in concerns.listing(db, overdue=True, now=later)] == [cid]
    assert [r["id"] for r in concerns.escalate_overdue(db, now=later)] == [cid]
    assert concerns.escalate_overdue(db, now=later) == []  # once
    concerns.answer(db, cid, "好的", by="t3a")
    assert concerns.listing(db, overdue=True, now=later) == []  # answered: no longer overdue


@pytest.mark.parametrize("value", ["-5", "-5 days", "0", "two", "4.5"])
def test_a_response_time_or_retention_setting_that_is_not_a_whole_number_above_zero_is_refused(db_path, school, value):
    for name in ("concern_response_hours", "keep_recordings_days", "keep_slip_images_days", "keep_ledger_years"):
        result = run(db_path, "setting", "set", name, value, check=False)
        assert result.returncode != 0 and "whole number above 0" in result.stderr
    assert run(db_path, "setting", "set", "approval_required", "maybe", check=False).returncode != 0


def test_the_cli_lists_answers_and_closes(db_path, db, staff, school):
    first = _add(db, school["S1"])
    second = _add(db, school["S2"], words="Is the trip still on if it rains?", key="sms:SM2:unclear")
    listed = json.loads(run(db_path, "concern", "list", "--open", "--format", "json").stdout)
    assert [r["id"] for r in listed] == [first, second] and listed[0]["words"] == "孩子那天发烧不能去"
    table = run(db_path, "concern", "list").stdout
    assert "孩子那天发烧不能去" in table and "t3a" in table
    answered = run(db_path, "concern", "answer", first, "--text", "好的，已记下。", "--by", "t3a")
    assert "answered" in answered.stdout and "text" in answered.stdout
    assert [r["id"] for r in json.loads(run(db_path, "concern", "list", "--open", "--format", "json").stdout)] == [second]
    run(db_path, "concern", "close", first, "--by", "t3a")
    refused = run(db_path, "concern", "answer", first, "--text", "again", check=False)
    assert refused.returncode == 1 and "closed" in refused.stderr
    assert "no concern number 77" in run(db_path, "concern", "answer", 77, "--text", "x", check=False).stderr
    csv = run(db_path, "concern", "list", "--format", "csv").stdout
    assert csv.splitlines()[0].startswith("id,received_at,status,overdue") and "Is the trip still on" in csv
    with clock.travelling(clock.now() + dt.timedelta(hours=60)):
        overdue = json.loads(run(db_path, "concern", "list", "--overdue", "--format", "json").stdout)
    assert [r["id"] for r in overdue] == [second]


def test_a_texted_question_gets_its_answer_by_text(app, db, staff, school):
    from ivr import answers
    from ivr.transport import DryRun

    cid = _add(db, school["S1"])
    concerns.answer(db, cid, "好的，已记下。", by="t3a")
    noon = dt.datetime.combine(clock.now().astimezone(settings.zone(db)).date(), dt.time(12),
                               settings.zone(db))
    assert answers.send_texts(db, DryRun(db), now=noon) == 1
    sent = db.execute("SELECT to_number, body FROM outbox").fetchall()
    assert sent[-1][0] == "+8613800138001" and "好的，已记下。" in sent[-1][1]
    assert concerns.get(db, cid)["told_via"] == "text"
    assert answers.send_texts(db, DryRun(db), now=noon) == 0  # told once
    night = noon.replace(hour=23)
    other = _add(db, school["S1"], key="sms:SM9:unclear")
    concerns.answer(db, other, "明早回复", by="t3a")
    assert answers.send_texts(db, DryRun(db), now=night) == 0 and not concerns.get(db, other)["told_at"]


def test_an_answer_to_a_family_whose_numbers_take_no_texts_waits_on_its_page(db, staff, school):
    from ivr import answers
    from ivr.transport import DryRun

    db.execute("INSERT INTO phone_prefs (phone, sms_opt_out, updated_at) VALUES ('+8613800138001', 1, ?)",
               [clock.now_iso()])
    cid = _add(db, school["S1"])
    concerns.answer(db, cid, "好的", by="t3a")
    noon = dt.datetime.combine(clock.now().astimezone(settings.zone(db)).date(), dt.time(12), settings.zone(db))
    assert answers.send_texts(db, DryRun(db), now=noon) == 0
    assert concerns.get(db, cid)["told_via"] == "none"
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0

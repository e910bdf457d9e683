"""Times from devices are evidence, not authority: a clock running ahead cannot freeze an answer,
and two channels that disagree are shown to the teacher, never silently settled."""

import datetime as dt
import json

from server import clock, ledger, status
from tests.builders import make_notice


def reply(notice_id, family_id, channel, choice, at=None, **kw):
    return ledger.new_event(notice_id, family_id, channel, "reply", payload={"choice": choice},
                            occurred_at=at or clock.now_iso(), **kw)


def test_a_kiosk_eight_hours_ahead_cannot_freeze_the_answer(db, school):
    notice = make_notice(db)
    ahead = clock.iso(clock.now() + dt.timedelta(hours=8))  # a kiosk set to the wrong time zone
    ledger.record(db, [reply(notice, school["S1"], "kiosk", "attend", at=ahead, actor="volunteer:vol")])
    stored = db.execute("SELECT occurred_at, recorded_at, payload FROM events").fetchone()
    assert stored[0] == stored[1] and json.loads(stored[2])["claimed_at"] == ahead
    with clock.travelling(clock.now() + dt.timedelta(minutes=5)):  # the parent changes it on the link later
        ledger.record(db, [reply(notice, school["S1"], "digital", "absent", actor="family")])
    assert ledger.status_of(db, notice, school["S1"]).reply == "absent"


def test_different_answers_on_two_channels_are_a_conflict_with_both_shown(db, school):
    notice = make_notice(db, publish_at=clock.iso(clock.now() - dt.timedelta(days=1)))
    ledger.record(db, [reply(notice, school["S1"], "paper", "attend", at=clock.iso(clock.now() - dt.timedelta(hours=2))),
                       reply(notice, school["S1"], "kiosk", "absent", actor="volunteer:vol")])
    report = status.notice_report(db, notice)
    [conflict] = report["conflicts"]
    assert conflict["family_id"] == school["S1"]
    assert [(a["channel"], a["choice"]) for a in conflict["answers"]] == [("paper", "attend"), ("kiosk", "absent")]
    assert conflict["answers"][1]["actor"] == "volunteer:vol"
    row = next(f for f in report["families"] if f["family_id"] == school["S1"])
    assert len(row["conflict"]) == 2


def test_changing_ones_answer_on_one_channel_is_no_conflict(db, school):
    notice = make_notice(db, publish_at=clock.iso(clock.now() - dt.timedelta(days=1)))
    ledger.record(db, [reply(notice, school["S1"], "digital", "attend", at=clock.iso(clock.now() - dt.timedelta(hours=1))),
                       reply(notice, school["S1"], "digital", "absent")])
    assert status.notice_report(db, notice)["conflicts"] == []
    assert ledger.status_of(db, notice, school["S1"]).reply == "absent"


def test_a_void_settles_a_conflict(db, school):
    notice = make_notice(db)
    wrong = reply(notice, school["S1"], "paper", "attend")
    ledger.record(db, [wrong, reply(notice, school["S1"], "voice", "absent")])
    assert status.notice_report(db, notice)["conflicts"]
    ledger.void(db, wrong.id, actor="office", reason="slip belonged to another family")
    assert status.notice_report(db, notice)["conflicts"] == []


def test_the_teacher_sees_the_conflict_on_the_notice_page(client, db, staff, login):
    notice = make_notice(db)
    family = db.execute("SELECT family_id FROM students WHERE source_id = 'S1'").fetchone()[0]
    ledger.record(db, [reply(notice, family, "paper", "attend"), reply(notice, family, "sms", "absent")])
    login("t3a", "teacher-pass")
    page = client.get(f"/notices/{notice}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'class="conflicts"' in page and "different answers" in page and "text message" in page

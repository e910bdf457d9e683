import datetime as dt
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ivr import followup
from ivr.simulator import Phone
from ivr.transport import DryRun
from server import clock, consent, ledger, pins, settings
from tests.builders import make_notice

pytestmark = pytest.mark.clock  # run again at chosen instants by tests/test_any_hour.py

KNOWN, HANT = "+8613800138001", "+8613800138002"


def text(app, sender, body, sid="SM1"):
    phone = Phone(app, sender)
    response = phone.post("/ivr/sms", {"MessageSid": sid, "From": sender, "To": "+1", "Body": body})
    assert response.status_code == 200
    return "".join(ET.fromstring(response.data).itertext())


def test_reply_by_text_confirms_and_answers_once(app, db, school):
    notice = make_notice(db)
    assert "已收到" in text(app, KNOWN, f"2 {notice}", sid="SMa")
    text(app, KNOWN, f"2 {notice}", sid="SMa")  # Twilio retrying the same message
    found = ledger.notice_status(db, notice)[school["S1"]]
    assert (found.state, found.reply, found.channels) == ("confirmed", "absent", ("sms",))
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 2


def test_text_replies_that_cannot_be_placed_are_answered_not_guessed(app, db, school):
    notice = make_notice(db)
    assert "转给班主任" in text(app, KNOWN, "yes please", sid="SMy")  # not plainly an answer: to a person
    assert "没有这个选项" in text(app, KNOWN, f"7 {notice}")
    assert "通知编号或家庭编号不正确" in text(app, KNOWN, "1 999")
    assert "无法确认您的家庭" in text(app, "+8613911112222", f"1 {notice}")
    code = db["families"].get(school["S1"])["code"]
    assert "PIN" in text(app, "+8613911112222", f"1 {notice} {code}", sid="SMb")  # the code alone is guessable
    assert "PIN" in text(app, "+8613911112222", f"1 {notice} {code} 000000", sid="SMc")
    assert school["S1"] not in ledger.notice_status(db, notice)
    assert "已收到" in text(app, "+8613911112222", f"1 {notice} {code} {pins.pin_for(db, school['S1'])}", sid="SMd")
    assert "Sorry" in text(app, "+8613800138003", f"1 {notice}")  # a 3B family, a 3A notice
    assert ledger.notice_status(db, notice)[school["S1"]].state == "confirmed"
    assert school["S3"] not in ledger.notice_status(db, notice)


ACKNOWLEDGEMENTS = ["YES", "Y", "OK", "1", "是", "好", "收到", "好的，收到了", "知道了", "👍", "ＯＫ", "１", "收到！",
                    "好的👍🏻", "Thank you!", "知道啦", "已閱"]


@pytest.mark.parametrize("body", ACKNOWLEDGEMENTS)
def test_a_plain_acknowledgement_confirms_the_one_open_notice(app, db, school, body):
    notice = make_notice(db, reply_options=None)
    answer = text(app, KNOWN, body, sid="SMack")
    assert "已确认您收到「秋游通知」" in answer
    assert ledger.notice_status(db, notice)[school["S1"]].state == "confirmed"
    assert ledger.notice_status(db, notice)[school["S1"]].channels == ("sms",)


@pytest.mark.parametrize("body, choice", [("参加", "attend"), ("不參加", "absent"), ("收到，不参加", "absent"),
                                          ("参加，谢谢", "attend"), ("Not attending", "absent"), ("２", "absent")])
def test_a_reply_option_word_answers_the_one_open_notice(app, db, school, body, choice):
    notice = make_notice(db)
    answer = text(app, KNOWN, body, sid="SMopt")
    found = ledger.notice_status(db, notice)[school["S1"]]
    assert (found.state, found.reply) == ("confirmed", choice)
    assert "已收到您对「秋游通知」的回复" in answer


def test_an_acknowledgement_confirms_but_never_guesses_the_answer(app, db, school):
    notice = make_notice(db, reply_options=["yes", "no"])
    answer = text(app, HANT, "好", sid="SMk")  # a zh-Hant family: answered in Traditional
    assert "已確認您收到" in answer and "是 / 否" in answer
    found = ledger.notice_status(db, notice)[school["S2"]]
    assert (found.state, found.reply) == ("confirmed", None)
    text(app, HANT, "是", sid="SMk2")  # the option's own word is an answer
    assert ledger.notice_status(db, notice)[school["S2"]].reply == "yes"


def test_several_open_notices_get_a_numbered_list_and_the_number_picks_one(app, db, school):
    first = make_notice(db, reply_options=None)
    second = make_notice(db, texts={"zh-Hans": ("冬季作息", "8:10 到校。")}, reply_options=None)
    answer = text(app, KNOWN, "收到", sid="SM1")
    assert "哪一条通知" in answer and "1. 秋游通知" in answer and "2. 冬季作息" in answer
    assert school["S1"] not in ledger.notice_status(db, first)  # nothing recorded until the family says which
    assert "清单上没有" in text(app, KNOWN, "7", sid="SM2")
    assert "冬季作息" in text(app, KNOWN, "2", sid="SM3")
    assert ledger.notice_status(db, second)[school["S1"]].state == "confirmed"
    assert school["S1"] not in ledger.notice_status(db, first)
    text(app, KNOWN, "2", sid="SM3")  # Twilio retrying the pick: the same answer, nothing new
    assert db.execute("SELECT count(*) FROM events WHERE source = 'sms:SM3'").fetchone()[0] == 1
    assert "已确认您收到「秋游通知」" in text(app, KNOWN, "OK", sid="SM4")  # now only one is open
    assert "没有需要您回复" in text(app, KNOWN, "收到", sid="SM5")


def test_words_that_are_not_an_answer_go_to_the_teacher_and_record_nothing(app, db, school):
    notice = make_notice(db)
    for sid, body in [("SMa", "孩子那天发烧不能去"), ("SMb", "没收到"), ("SMc", "不好"), ("SMd", "？")]:
        assert "转给班主任" in text(app, KNOWN, body, sid=sid)
    assert school["S1"] not in ledger.notice_status(db, notice)
    said = [tuple(r) for r in db.execute("SELECT words, channel, kind, status FROM concerns WHERE family_id = ?"
                                         " ORDER BY id", [school["S1"]])]
    assert said[0] == ("孩子那天发烧不能去", "text", "message", "open") and len(said) == 4
    text(app, KNOWN, "孩子那天发烧不能去", sid="SMa")  # Twilio retrying: still one entry
    assert db.execute("SELECT count(*) FROM concerns").fetchone()[0] == 4


def test_a_plain_reply_from_an_unknown_number_records_nothing(app, db, school):
    notice = make_notice(db, reply_options=None)
    assert "无法确认您的家庭" in text(app, "+8613911112222", "收到")
    assert school["S1"] not in ledger.notice_status(db, notice)


def test_a_notice_before_its_publish_time_is_not_confirmed_by_a_plain_reply(app, db, school):
    later = clock.iso(clock.now() + dt.timedelta(hours=3))
    notice = make_notice(db, reply_options=None, publish_at=later)
    assert "没有需要您回复" in text(app, KNOWN, "收到")
    assert school["S1"] not in ledger.notice_status(db, notice)


def test_stop_opts_out_and_start_opts_back_in(app, db, school):
    assert "不再收到" in text(app, KNOWN, "退订")
    assert db.execute("SELECT sms_opt_out FROM phone_prefs WHERE phone = ?", [KNOWN]).fetchone()[0] == 1
    assert "恢复" in text(app, KNOWN, "START")
    assert db.execute("SELECT sms_opt_out FROM phone_prefs WHERE phone = ?", [KNOWN]).fetchone()[0] == 0
    assert "没有看懂" in text(app, KNOWN, "  ", sid="SMblank")  # a blank text: said so, nobody bothered
    assert db.execute("SELECT count(*) FROM concerns").fetchone()[0] == 0
    assert "不再收到" in text(app, KNOWN, "ＳＴＯＰ")  # full width
    assert "不再收到" in text(app, KNOWN, "退訂")


@pytest.fixture
def old_notice(db, school):
    """A notice published two days ago that families in 3A have not confirmed."""
    return make_notice(db, publish_at=clock.iso(clock.now() - dt.timedelta(days=2)))


def noon(db) -> dt.datetime:
    local = clock.now().astimezone(settings.zone(db)).replace(hour=12, minute=0)
    return local.astimezone(dt.timezone.utc)


def test_reminders_text_and_call_within_the_rules(db, school, old_notice):
    db.execute("UPDATE families SET preferred_channel = 'sms' WHERE id = ?", [school["S1"]])
    db.execute("UPDATE families SET preferred_channel = 'voice' WHERE id = ?", [school["S2"]])
    code = {fid: db["families"].get(fid)["code"] for fid in school.values()}
    sent = followup.run(db, DryRun(db), now=noon(db))
    # no consent yet: the grandmother who prefers calls is not called, but her mobile gets a text
    assert sorted((a.family_code, a.channel) for a in sent) == [(code[school["S1"]], "sms"), (code[school["S2"]], "sms")]
    body = db.execute("SELECT body FROM outbox").fetchone()[0]
    assert f"1 {old_notice}" in body and "退订" in body
    consent.set_consent(db, HANT, True, "grandmother herself, by phone, 2026-11-20")
    sent = followup.run(db, DryRun(db), now=noon(db))
    assert sorted(a.channel for a in sent) == ["sms", "voice"]  # with consent, a phone family is called first
    call = db.execute("SELECT body FROM outbox WHERE kind = 'call'").fetchone()[0]
    assert call.endswith(f"/ivr/voice/outbound?f={school['S2']}")
    followup.run(db, DryRun(db), now=noon(db))
    assert followup.run(db, DryRun(db), now=noon(db)) == []  # three attempts each, then no more
    assert db.execute("SELECT max(n) FROM (SELECT count(*) n FROM contact_attempts GROUP BY family_id)").fetchone()[0] == 3


def test_app_and_paper_families_are_reminded_and_those_without_a_number_go_to_the_teacher(db, school, old_notice):
    db.execute("UPDATE families SET preferred_channel = 'digital' WHERE id = ?", [school["S1"]])
    db.execute("UPDATE guardians SET phone = '+85228123456' WHERE family_id = ?", [school["S2"]])  # a landline
    code = {fid: db["families"].get(fid)["code"] for fid in school.values()}
    sent = {a.family_code: a.channel for a in followup.run(db, DryRun(db), now=noon(db))}
    assert sent == {code[school["S1"]]: "sms", code[school["S2"]]: "teacher"}  # a landline is not texted
    consent.set_consent(db, "+85228123456", True, "grandfather, at the office")
    sent = {a.family_code: a.channel for a in followup.run(db, DryRun(db), now=noon(db))}
    assert sent[code[school["S2"]]] == "voice"  # a landline with consent is called


def test_dry_runs_do_not_use_up_real_attempts(db, school, old_notice):
    db.execute("UPDATE families SET preferred_channel = 'sms'")
    for _ in range(3):
        followup.run(db, DryRun(db), now=noon(db))
    assert followup.run(db, DryRun(db), now=noon(db)) == []
    assert db.execute("SELECT count(*) FROM contact_attempts WHERE dry_run = 0").fetchone()[0] == 0
    real = followup.due(db, noon(db), dry_run=False)
    assert {family["id"] for _, family in real} == {school["S1"], school["S2"]}  # all real attempts still to come


def test_no_reminders_in_quiet_hours_after_opt_out_or_once_confirmed(db, school, old_notice):
    db.execute("UPDATE families SET preferred_channel = 'sms'")
    local_night = clock.now().astimezone(settings.zone(db)).replace(hour=22, minute=0).astimezone(dt.timezone.utc)
    assert followup.run(db, DryRun(db), now=local_night) == []
    db.execute("INSERT INTO phone_prefs (phone, sms_opt_out, updated_at) VALUES (?, 1, 'x')", [KNOWN])
    ledger.record(db, [ledger.new_event(old_notice, school["S2"], "paper", "confirmed")])
    left = followup.run(db, DryRun(db), now=noon(db))  # opted out of texts, no consent to calls: the teacher's
    assert [a.channel for a in left] == ["teacher"] and db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


def test_consent_needs_a_note_about_who_gave_it(db):
    with pytest.raises(ValueError, match="who gave consent"):
        consent.set_consent(db, KNOWN, True, "")


def test_a_shared_number_is_rung_once_per_round(db, school, old_notice):
    db.execute("UPDATE guardians SET phone = ? WHERE family_id = ?", [KNOWN, school["S2"]])
    db.execute("UPDATE families SET preferred_channel = 'voice'")
    consent.set_consent(db, KNOWN, True, "owner, in person")
    assert len(followup.run(db, DryRun(db), now=noon(db))) == 1


def test_the_outbound_call_names_the_school_and_reads_the_notice(app, db, school, old_notice):
    settings.put(db, "phone_line", "+862188880000")
    phone = Phone(app, "+10000000000", to=KNOWN)
    turn = phone.dial(f"/ivr/voice/outbound?f={school['S1']}")
    assert "PaperBridge School" in turn.text and "回电请拨" in turn.text and "秋游通知" in turn.text
    phone.press("1")
    phone.press("1")
    assert ledger.notice_status(db, old_notice)[school["S1"]].state == "confirmed"


def test_simulator_and_followup_commands_offline(db_path, db, school):
    make_notice(db, reply_options=[])
    db.close()
    pb = str(Path(sys.executable).parent / "paperbridge")
    env = {**os.environ, "PAPERBRIDGE_DB": str(db_path)}
    env.pop("TWILIO_ACCOUNT_SID", None)
    result = subprocess.run([pb, "ivr", "simulate", "--from", KNOWN, "--no-speak"], input="1\n", text=True,
                            capture_output=True, env=env, timeout=120)
    assert result.returncode == 0 and "秋游通知" in result.stdout and "已确认" in result.stdout
    status = subprocess.run([pb, "status", "--notice", "1"], text=True, capture_output=True, env=env, timeout=60)
    assert "confirmed" in status.stdout and "voice" in status.stdout
    rounds = subprocess.run([pb, "followup", "run"], text=True, capture_output=True, env=env, timeout=60)
    assert rounds.returncode == 0 and "dry run" in rounds.stdout


def test_urgent_notices_are_chased_sooner(db, school):
    db.execute("UPDATE families SET preferred_channel = 'sms'")
    five_hours_ago = clock.iso(clock.now() - dt.timedelta(hours=5))
    make_notice(db, publish_at=five_hours_ago, texts={"zh-Hans": ("普通", "x")})
    urgent = make_notice(db, publish_at=five_hours_ago, urgent=True, texts={"zh-Hans": ("紧急", "x")})
    settings.put(db, "quiet_hours", "03:00-03:01")  # so that the test runs at any hour
    local = clock.now().astimezone(settings.zone(db))
    if local.hour == 3 and local.minute == 0:
        settings.put(db, "quiet_hours", "04:00-04:01")
    sent = followup.run(db, DryRun(db))
    assert {a.notice_id for a in sent} == {urgent}


def test_guessing_pins_by_text_locks_the_family_whatever_the_number(app, db, school):
    notice = make_notice(db)
    code = db["families"].get(school["S1"])["code"]
    for attempt in range(5):
        text(app, f"+86139111{attempt:05d}", f"1 {notice} {code} {attempt:06d}", sid=f"SMg{attempt}")
    right = pins.pin_for(db, school["S1"])
    assert "PIN" in text(app, "+8613922223333", f"1 {notice} {code} {right}", sid="SMlast")
    assert school["S1"] not in ledger.notice_status(db, notice)
    assert "已收到" in text(app, KNOWN, f"1 {notice}", sid="SMown")  # the family's own phone still works

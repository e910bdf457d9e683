"""Whole calls driven as Twilio drives them: signed webhooks, TwiML parsed, actions followed."""

import datetime as dt
import subprocess
import xml.etree.ElementTree as ET

import pytest

from ivr import calls
from ivr.call_time import Walker
from ivr.simulator import Phone
from server import clock, ledger, notices, pins, settings, speech
from server.app import create_app
from server.db import connect as sqlite_db
from tests.builders import make_notice

pytestmark = pytest.mark.clock  # run again at chosen instants by tests/test_any_hour.py

KNOWN = "+8613800138001"  # S1's guardian, family language zh-Hans
HANT = "+8613800138002"  # S2's grandmother, zh-Hant
STRANGER = "+8613911112222"


@pytest.fixture
def notice(db, school):
    return make_notice(db, reply_options=[])


def status(db, notice_id, family_id):
    return ledger.notice_status(db, notice_id).get(family_id, ledger.Status())


def test_known_caller_hears_the_notice_and_confirms_by_voice(app, db, school, notice):
    phone = Phone(app, KNOWN)
    turn = phone.dial()
    assert "秋游通知" in turn.text and "周五去植物园" in turn.text and "确认请按1" in turn.text
    assert "您有1条新通知" in turn.text
    turn = phone.press("1")
    assert "已确认" in turn.text and "再见" in turn.text
    assert phone.press("").hung_up
    found = status(db, notice, school["S1"])
    assert (found.state, found.channels) == ("confirmed", ("voice",))


def test_unknown_caller_chooses_a_language_and_types_the_family_code(app, db, school, notice):
    code = db["families"].get(school["S2"])["code"]
    phone = Phone(app, STRANGER)
    turn = phone.dial()
    assert "普通话请按1" in turn.text and "廣東話請撳2" in turn.text and "For English, press 3" in turn.text
    turn = phone.press("2")
    assert "請撳學校信上面嘅家庭編號" in turn.text and phone.turn.finish_on_key == "#"  # spoken Cantonese
    turn = phone.press(code)
    assert "PIN" in turn.text and "秋游通知" not in turn.text  # a typed code alone is guessable: the PIN too
    turn = phone.press(pins.pin_for(db, school["S2"]))
    assert "秋遊通知" in turn.text and "週五去植物園" in turn.text  # no Traditional version: converted, not Simplified
    phone.press("1")
    assert status(db, notice, school["S2"]).state == "confirmed"
    assert calls.get(db, phone.sid)["auth"] == "pin"


def test_cantonese_and_english_voices(app, db, school, notice):
    db.execute("UPDATE families SET language = 'yue-Hant' WHERE id = ?", [school["S2"]])
    xml = Phone(app, HANT).post("/ivr/voice", {"CallSid": "CA1", "From": HANT, "To": "+1"}).data
    says = ET.fromstring(xml).findall(".//Say")
    assert {s.get("language") for s in says} == {"yue-HK"} and all(s.find("prosody").get("rate") for s in says)
    make_notice(db, classes=None, reply_options=[], texts={"en": ("Sports day", "Wear trainers.")})
    english = Phone(app, "+8613800138003").dial()
    assert "Sports day" in english.text and "press 1" in english.text


def test_wrong_codes_three_tries_then_goodbye_and_rate_limit(app, db, school, notice):
    phone = Phone(app, STRANGER)
    phone.dial()
    phone.press("1")
    for _ in range(2):
        assert "家庭编号不正确" in phone.press("12345").text and not phone.turn.hung_up
    assert phone.press("99999").hung_up
    assert not list(db.query("SELECT * FROM events"))
    for _ in range(6):
        other = Phone(app, STRANGER)
        other.dial()
        other.press("1")
        turn = other.press("11111")
    assert "次数太多" in turn.text and turn.hung_up


def test_a_retried_webhook_records_nothing_new(app, db, school, notice):
    phone = Phone(app, KNOWN)
    turn = phone.dial()
    action = turn.action
    for _ in range(3):  # Twilio retries the same request
        phone.post(action, phone._form(Digits="1"))
    assert db.execute("SELECT count(*) FROM events WHERE kind = 'confirmed'").fetchone()[0] == 1


def test_bad_signature_is_refused_and_records_nothing(app, db, school, notice):
    phone = Phone(app, KNOWN)
    action = phone.dial().action
    form = phone._form(Digits="1")
    assert phone.post(action, form, sign=False).status_code == 403
    forged = phone.client.post(action.split("5000", 1)[-1], data=form, headers={"X-Twilio-Signature": "AAAA"})
    assert forged.status_code == 403
    assert phone.post("/ivr/voice", {"CallSid": "CA9", "From": KNOWN}, sign=False).status_code == 403
    assert not list(db.query("SELECT * FROM events"))


def test_silence_repeats_once_then_moves_on_and_never_leaves_dead_air(app, db, school):
    first = make_notice(db, reply_options=[], texts={"zh-Hans": ("第一条", "内容一")})
    make_notice(db, reply_options=[], texts={"zh-Hans": ("第二条", "内容二")})
    phone = Phone(app, KNOWN)
    assert "第一条" in phone.dial().text
    again = phone.press("")
    assert "确认请按1" in again.text and "第一条" not in again.text
    assert "第二条" in phone.press("").text
    assert status(db, first, school["S1"]).state == "unread"
    for turn in phone.log:
        assert turn.action or turn.hung_up  # every step waits for keys or ends cleanly


def test_star_repeats_unknown_key_apologises_nine_asks_for_a_call_back(app, db, school, notice):
    phone = Phone(app, KNOWN)
    phone.dial()
    assert "确认请按1" in phone.press("*").text and "秋游通知" in phone.turn.text
    assert "没有这个选项" in phone.press("7").text
    assert "请在提示音后" in phone.press("9").text and phone.turn.record_action
    assert "老师会给您回电" in phone.leave_message(0).text and "秋游通知" in phone.turn.text  # back to the same notice
    assert db.execute("SELECT family_id, notice_id, kind, channel FROM concerns").fetchone() == (
        school["S1"], notice, "call_back", "phone")


def test_zero_reaches_the_office_only_in_office_hours(app, db, school, notice):
    settings.put(db, "office_phone", "+862112345678")
    settings.put(db, "office_hours", "00:00-23:59")
    phone = Phone(app, KNOWN)
    phone.dial()
    assert phone.press("0").dialled == "+862112345678"
    local = clock.now().astimezone(settings.zone(db))
    closed = f"{(local + dt.timedelta(hours=2)):%H:%M}-{(local + dt.timedelta(hours=3)):%H:%M}"
    settings.put(db, "office_hours", closed)
    phone = Phone(app, KNOWN)
    phone.dial()
    turn = phone.press("0")
    assert turn.dialled is None and "下班" in turn.text


def test_answers_to_reply_options(app, db, school):
    notice = make_notice(db)  # attend / absent
    phone = Phone(app, KNOWN)
    assert "参加请按1" in phone.dial().text and "不参加请按2" in phone.turn.text  # the answer is the key
    assert "没有这个选项" in phone.press("5").text
    assert "不参加" in phone.press("2").text
    found = status(db, notice, school["S1"])
    assert (found.state, found.reply) == ("confirmed", "absent")


def test_private_notices_need_the_familys_pin(app, db, school):
    make_notice(db, reply_options=[], texts={"zh-Hans": ("普通通知", "大家好")})
    secret = make_notice(db, reply_options=[], private=True, texts={"zh-Hans": ("学费提醒", "请缴纳学费")})
    phone = Phone(app, KNOWN)
    turn = phone.dial()
    assert "普通通知" in turn.text and "学费" not in turn.text
    turn = phone.press("1")
    assert "1条保密信息" in turn.text and "学费" not in turn.text
    assert "PIN" in phone.press("1").text
    turn = phone.press(db["families"].get(school["S1"])["code"])  # the printed code is not enough
    assert "PIN不正确" in turn.text and "学费" not in turn.text
    turn = phone.press(pins.pin_for(db, school["S1"]))
    assert "学费提醒" in turn.text
    phone.press("1")
    assert status(db, secret, school["S1"]).state == "confirmed"


def test_silence_at_the_private_code_prompt_says_goodbye_in_the_callers_language(app, db, school):
    make_notice(db, reply_options=[], private=True, texts={"zh-Hans": ("学费提醒", "请缴纳学费")})
    phone = Phone(app, KNOWN)
    turn = phone.dial()
    assert "1条保密信息" in turn.text and "再见" in turn.text
    assert phone.press("").hung_up
    phone = Phone(app, KNOWN)
    phone.dial()
    phone.press("1")
    turn = phone.press("")  # silence at "enter your PIN"
    assert turn.hung_up and "谢谢来电，再见" in turn.text


def test_another_familys_pin_does_not_unlock_private_notices(app, db, school):
    make_notice(db, reply_options=[], private=True, texts={"zh-Hans": ("学费提醒", "请缴纳学费")})
    phone = Phone(app, KNOWN)
    phone.dial()
    phone.press("1")
    turn = phone.press(pins.pin_for(db, school["S2"]))
    assert "PIN不正确" in turn.text and "学费" not in turn.text


def test_a_guessed_code_from_an_unknown_number_hears_and_records_nothing(app, db, school):
    """The attack that worked: dial from any number, type family 1's code (it is a serial number)."""
    secret = make_notice(db, reply_options=[], private=True, texts={"zh-Hans": ("疫苗同意书", "请签署")})
    public = make_notice(db, reply_options=[])
    code = db["families"].get(school["S1"])["code"]
    for attempt in range(3):
        phone = Phone(app, f"+861391111{attempt:04d}", sid=f"CAguess{attempt}")
        phone.dial()
        phone.press("1")  # 普通话
        turn = phone.press(code)
        assert "疫苗" not in turn.text and "PIN" in turn.text
        for guess in ("123456", "000000"):
            turn = phone.press(guess)
            assert "疫苗" not in turn.text and "秋游" not in turn.text
    assert status(db, secret, school["S1"]).state == "unread" and status(db, public, school["S1"]).state == "unread"
    # Five wrong PINs for one family, from three numbers: the family is locked, even for the right PIN.
    phone = Phone(app, "+8613922223333", sid="CAlast")
    phone.dial()
    phone.press("1")
    phone.press(code)
    turn = phone.press(pins.pin_for(db, school["S1"]))
    assert "疫苗" not in turn.text and turn.hung_up


def test_long_notices_are_split_into_several_says(app, db, school):
    make_notice(db, reply_options=[], texts={"zh-Hans": ("长通知", "这是一句很长的话。" * 400)})
    says = Phone(app, KNOWN).dial().said
    assert len(says) >= 4 and max(len(s.encode()) for s in says) < 4000
    assert "".join(says).count("这是一句很长的话。") == 400


def test_hangup_mid_flow_and_status_callback(app, db, school, notice):
    phone = Phone(app, KNOWN)
    phone.dial()
    response = phone.post("/ivr/status", phone._form(CallStatus="completed"))
    assert response.status_code == 204 and calls.get(db, phone.sid)["status"] == "completed"
    assert not list(db.query("SELECT * FROM events"))


def test_a_caller_whose_number_two_families_share_must_type_the_code(app, db, school, notice):
    db.execute("UPDATE guardians SET phone = ? WHERE family_id = ?", [KNOWN, school["S2"]])
    assert "普通话请按1" in Phone(app, KNOWN).dial().text


def test_silence_at_the_language_menu_and_the_code_prompt_never_loops(app, db, school, notice):
    phone = Phone(app, STRANGER)
    assert "普通话请按1" in phone.dial().text
    again = phone.press("")
    assert "普通话请按1" in again.text and "您好" not in again.text  # the menu once more, no greeting
    turn = phone.press("")  # silence again: go on in the school's language
    assert "家庭编号" in turn.text and calls.get(db, phone.sid)["language"] == "zh-Hans"
    assert "家庭编号" in phone.press("").text  # the code prompt once more
    turn = phone.press("")
    assert turn.hung_up and "班主任可以告诉您家庭编号" in turn.text
    walk = Walker(Phone(app, STRANGER)).call(lambda turn: "")
    assert walk.menus == 4 and walk.steps[-1].keys is None


def test_twilio_key_semantics_in_the_simulator(app, db, school, notice):
    code = db["families"].get(school["S2"])["code"]
    phone = Phone(app, STRANGER)
    phone.dial()
    assert "家庭编号" in phone.press("11").text  # a one-key menu takes the first key, as numDigits=1 does
    assert "PIN" in phone.press(code + "#").text  # '#' ends the code, it is not part of it
    assert calls.get(db, phone.sid)["code_tries"] == 0


def test_the_caller_id_week_is_under_a_minute_in_every_language(app, db, tmp_path):
    from bench.call_length import CALLERS, answer_each, build_week  # the benchmark's own week and caller

    week = create_app({"DATABASE": str(build_week(tmp_path)), "TESTING": True})
    for language, number in CALLERS.items():
        walk = Walker(Phone(week, number)).call(answer_each)
        assert walk.seconds <= 60, f"{language}: {walk.seconds:.1f} s\n{walk.report()}"
        assert walk.menus == 3  # one key per notice, nothing asked twice
    database = sqlite_db(tmp_path / "week.db")
    answered = database.execute("SELECT count(*) FROM events WHERE kind = 'reply'").fetchone()[0]
    assert answered == 2 * len(CALLERS)


def test_an_answering_machine_hears_the_number_to_call_never_a_notice(app, db, school, notice):
    settings.put(db, "phone_line", "+862088880000")
    phone = Phone(app, KNOWN)
    turn = phone._follow(f"/ivr/voice/outbound?f={school['S1']}", phone._form(AnsweredBy="machine_end_beep"))
    assert turn.hung_up and "0 2 0, 8 8 8 8, 0 0 0 0" in turn.text and "秋游通知" not in turn.text
    assert calls.get(db, phone.sid)["status"] == "machine" and not list(db.query("SELECT * FROM events"))
    person = Phone(app, KNOWN)
    turn = person._follow(f"/ivr/voice/outbound?f={school['S1']}", person._form(AnsweredBy="human"))
    assert "秋游通知" in turn.text


def test_dates_plurals_and_the_english_school_name_are_spoken_right(app, db, school):
    settings.put(db, "school_name", "示范小学")
    settings.put(db, "school_name_en", "Demo Primary School")
    make_notice(db, classes=["3B"], texts={"en": ("Sports day", "Wear trainers.")}, due_date="2026-12-06")
    english = Phone(app, "+8613800138003")
    turn = english.dial()
    assert "Hello, this is Demo Primary School. You have 1 new notice." in turn.text and "示范" not in turn.text
    turn = english.press("")  # silence: the choices again, with the date to answer by
    assert "Please answer by December 6." in turn.text and "2026-12-06" not in turn.text
    make_notice(db, classes=["3B"], texts={"en": ("Book fair", "Bring a bag.")})
    assert "You have 2 new notices." in Phone(app, "+8613800138003").dial().text
    make_notice(db, classes=["3A"], texts={"zh-Hans": ("运动会", "穿运动鞋。")}, due_date="2026-12-06")
    chinese = Phone(app, KNOWN)
    chinese.dial()
    assert "请在12月6日前回复" in chinese.press("").text
    cantonese = Phone(app, HANT)
    db.execute("UPDATE families SET language = 'yue-Hant' WHERE id = ?", [school["S2"]])
    turn = cantonese.dial()
    assert "你好，呢度係示範小學" in turn.text and "運動會" in turn.text and "請撳1" in turn.text


def test_zero_comes_back_to_the_notice_when_the_office_does_not_answer(app, db, school, notice):
    settings.put(db, "office_phone", "+862112345678")
    settings.put(db, "office_hours", "00:00-23:59")
    phone = Phone(app, KNOWN)
    phone.dial()
    assert phone.press("0").dial_action
    turn = phone.dial_ends("no-answer")
    assert "无人接听" in turn.text and "秋游通知" in turn.text and turn.action
    phone.press("0")
    assert phone.dial_ends("completed").hung_up  # after talking to the office, goodbye


def test_confirm_all_the_notices_heard_but_skipped(app, db, school):
    first = make_notice(db, reply_options=[], texts={"zh-Hans": ("第一条", "内容一")})
    second = make_notice(db, reply_options=[], texts={"zh-Hans": ("第二条", "内容二")})
    asked = make_notice(db, texts={"zh-Hans": ("第三条", "内容三")})  # asks a question: never confirmed wholesale
    phone = Phone(app, KNOWN)
    phone.dial()
    phone.press("3")
    phone.press("3")
    turn = phone.press("")
    turn = phone.press("")  # silence twice at the question: moves on
    assert "您听了2条通知还没有确认" in turn.text
    phone.press("1")
    assert status(db, first, school["S1"]).state == "confirmed" and status(db, second, school["S1"]).state == "confirmed"
    assert status(db, asked, school["S1"]).state == "unread"


def test_the_confirm_hint_is_not_repeated_once_used(app, db, school):
    make_notice(db, reply_options=[], texts={"zh-Hans": ("第一条", "内容一")})
    make_notice(db, reply_options=[], texts={"zh-Hans": ("第二条", "内容二")})
    phone = Phone(app, KNOWN)
    assert "确认请按1" in phone.dial().text
    turn = phone.press("1")
    assert "第二条" in turn.text and "确认请按1" not in turn.text
    assert "确认请按1" in phone.press("").text  # said again after silence


@pytest.mark.skipif(not speech.ready(), reason="ffmpeg is installed by ./run.sh test")
def test_a_teachers_recording_is_played_through_a_signed_url_that_expires(app, db, school, notice, tmp_path, monkeypatch):
    wav = tmp_path / "teacher.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), "the teacher reads the notice"], check=True)
    speech.save_recording(db, notices.get_notice(db, notice), "cmn", wav.read_bytes(), actor="chen")
    phone = Phone(app, KNOWN)
    turn = phone.dial()
    assert len(turn.played) == 1 and "周五去植物园" not in turn.text and "确认请按1" in turn.text
    url = turn.played[0].split("5000", 1)[1]
    client = app.test_client()

    def fetch(address: str) -> tuple[int, str]:
        with client.get(address) as reply:
            return reply.status_code, reply.mimetype

    assert fetch(url) == (200, "audio/mpeg")
    assert fetch(url[:-3] + "000")[0] == 404  # a signature changed
    assert fetch(url.replace(".mp3?", "0.mp3?"))[0] == 404
    later = clock.now() + dt.timedelta(hours=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert fetch(url)[0] == 404  # expired
    cantonese = Phone(app, HANT)  # a zh-Hant family: the Mandarin recording too (same spoken language)
    assert cantonese.dial().played

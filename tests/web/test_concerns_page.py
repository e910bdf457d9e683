"""Every channel into the one concerns register, and the answer back on the family's channel:
a voice message (fetched from Twilio's edge, played on the page), the family page's question box,
the staff page with its export, and the answer read at the family's next call."""

import io
import re

from openpyxl import load_workbook

from ivr import config, recordings
from ivr.simulator import Phone
from server import concerns, links
from tests.builders import make_notice
from tests.conftest import csrf_token

KNOWN = "+8613800138001"  # S1's guardian (3A)
EN = {"Accept-Language": "en"}


def test_a_voice_message_is_registered_fetched_from_twilio_and_played_to_the_teacher(app, client, db, staff, login,
                                                                                      school, monkeypatch):
    notice = make_notice(db, reply_options=[])
    phone = Phone(app, KNOWN)
    phone.dial()
    phone.press("9")
    assert "老师已收到您的留言" in phone.leave_message(12).text and "秋游通知" in phone.turn.text
    [entry] = concerns.listing(db)
    assert (entry["channel"], entry["kind"], entry["notice_id"]) == ("phone", "message", notice)
    assert entry["recording_url"].startswith("https://api.twilio.com/") and entry["recording"] is None

    asked = []

    def twilio(method, url, conf):  # Twilio's servers: the one thing not run for real
        asked.append((method, url))
        return b"ID3\x03 a minute of mp3" if method == "GET" else b""

    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "secret")
    assert recordings.fetch_pending(db, config.load(db), twilio) == 1
    assert [m for m, _ in asked] == ["GET", "DELETE"]  # the school keeps it; Twilio's copy is deleted
    assert recordings.fetch_pending(db, config.load(db), twilio) == 0
    monkeypatch.delenv("TWILIO_ACCOUNT_SID")
    monkeypatch.delenv("TWILIO_AUTH_TOKEN")

    login("t3a", "teacher-pass")
    page = client.get("/concerns", headers=EN).get_data(as_text=True)
    assert f'/concerns/{entry["id"]}/message.mp3' in page and "秋游通知" in page
    audio = client.get(f"/concerns/{entry['id']}/message.mp3")
    assert audio.status_code == 200 and audio.data.startswith(b"ID3")
    audio.close()


def test_silence_after_the_beep_is_a_call_back_request_and_a_forged_url_is_never_fetched(app, db, school,
                                                                                          monkeypatch):
    make_notice(db, reply_options=[])
    phone = Phone(app, KNOWN)
    phone.dial()
    phone.press("9")
    assert "老师会给您回电" in phone.leave_message(0).text
    assert [(r["kind"], r["recording_url"]) for r in concerns.listing(db)] == [("call_back", None)]
    db.execute("UPDATE concerns SET recording_url = 'https://evil.example/x'")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "secret")
    assert recordings.fetch_pending(db, config.load(db), lambda *a: (_ for _ in ()).throw(AssertionError(a))) == 0


def test_a_question_from_the_family_page_is_answered_on_the_staff_page_and_read_back(app, client, db, staff, login,
                                                                                      school):
    notice = make_notice(db)
    token = links.make_token(db, school["S1"])
    family = app.test_client()
    token_form = csrf_token(family, f"/f/{token}/n/{notice}")
    empty = family.post(f"/f/{token}/question", data={"words": "  ", "csrf_token": token_form}, follow_redirects=True)
    assert "请写下您的问题或留言" in empty.get_data(as_text=True) and concerns.listing(db) == []
    family.post(f"/f/{token}/question", data={"words": "下雨还去吗？", "notice_id": notice, "nonce": "ab12",
                                              "csrf_token": token_form})
    family.post(f"/f/{token}/question", data={"words": "下雨还去吗？", "notice_id": notice, "nonce": "ab12",
                                              "csrf_token": token_form})  # sent twice: one entry
    [entry] = concerns.listing(db)
    assert (entry["channel"], entry["words"], entry["notice_id"]) == ("link", "下雨还去吗？", notice)
    assert family.post(f"/f/{token}/question", data={"words": "x", "notice_id": 99999,
                                                     "csrf_token": token_form}).status_code == 404

    login("t3b", "teacher-pass")  # not this teacher's family
    assert "下雨还去吗" not in client.get("/concerns").get_data(as_text=True)
    assert client.post(f"/concerns/{entry['id']}/answer", data={"text": "x", "csrf_token": csrf_token(client, "/")}
                       ).status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    login("t3a", "teacher-pass")
    page = client.get("/concerns", headers=EN).get_data(as_text=True)
    assert "下雨还去吗" in page and '<span class="count">1</span>' in page
    token_staff = csrf_token(client, "/concerns")
    blank = client.post(f"/concerns/{entry['id']}/answer", data={"text": " ", "csrf_token": token_staff},
                        headers=EN, follow_redirects=True)
    assert "write the answer the family will hear or read" in blank.get_data(as_text=True)
    done = client.post(f"/concerns/{entry['id']}/answer", data={"text": "小雨照常出发，请带伞。", "csrf_token": token_staff},
                       headers=EN, follow_redirects=True)
    assert "on their family page" in done.get_data(as_text=True)
    home = family.get(f"/f/{token}").get_data(as_text=True)
    assert "小雨照常出发，请带伞。" in home and concerns.get(db, entry["id"])["told_via"] == "link"

    client.post(f"/concerns/{entry['id']}/close", data={"csrf_token": token_staff})
    again = client.post(f"/concerns/{entry['id']}/answer", data={"text": "再说一次", "csrf_token": token_staff},
                        headers=EN, follow_redirects=True)
    assert "it takes no more answers" in again.get_data(as_text=True)
    assert concerns.get(db, entry["id"])["answer"] == "小雨照常出发，请带伞。"

    sheet = load_workbook(io.BytesIO(client.get("/concerns.xlsx?view=all").data)).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0][0] == "No. / 编号" and rows[1][11] == "下雨还去吗？" and rows[1][14] == "小雨照常出发，请带伞。"
    csv = client.get("/concerns.csv?view=closed").data.decode("utf-8-sig")
    assert "下雨还去吗？" in csv


def test_the_answer_to_a_phone_message_is_read_at_the_next_call(app, db, staff, school):
    make_notice(db, reply_options=[])
    phone = Phone(app, KNOWN)
    phone.dial()
    phone.press("9")
    phone.leave_message(10)
    [entry] = concerns.listing(db)
    concerns.answer(db, entry["id"], "明天下午三点请到校门口。", by="t3a")
    again = Phone(app, KNOWN).dial()
    assert re.search("学校对您留言的回复.*明天下午三点请到校门口", again.text)
    assert concerns.get(db, entry["id"])["told_via"] == "phone"
    assert "明天下午三点" not in Phone(app, KNOWN).dial().text  # heard once


def test_retention_from_the_settings_page_and_its_bad_values(client, login, db, staff, school):
    login("office", "office-pass")
    token = csrf_token(client, "/settings")
    bad = client.post("/settings", data={"keep_recordings_days": "-5 days", "csrf_token": token},
                      headers=EN, follow_redirects=True).get_data(as_text=True)
    assert "keep_recordings_days must be a whole number above 0" in bad
    assert db.execute("SELECT value FROM settings WHERE key = 'keep_recordings_days'").fetchone()[0] == "90"
    dry = client.post("/settings/retention", data={"action": "dry", "csrf_token": token}, headers=EN,
                      follow_redirects=True).get_data(as_text=True)
    assert "Would remove: 0 slip images, 0 voice messages; 0 families that left anonymised." in dry
    assert "Nothing removed yet." in dry

"""The help desk for the volunteer and the grandparent beside them: finding the family, undoing a
mistaken tap, a switched-off kiosk, an honest online badge, the private-notice card."""

import datetime as dt
import re

import pytest

from kiosk import store, sync
from kiosk.app import ONLINE_FOR, create_kiosk_app
from server import clock, devices, ledger, settings
from tests.builders import make_notice


@pytest.fixture
def desk(kiosk_db, tmp_path):
    client = create_kiosk_app(tmp_path / "kiosk.db").test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": "vol", "pin": "246813", "csrf_token": token})
    client.token = token
    return client


def found(desk, query: str) -> str:
    return desk.get("/", query_string={"q": query}).get_data(as_text=True)


def test_search_by_guardian_family_student_name_in_either_script_and_by_the_codes_last_digits(desk, db, school, kiosk_db):
    db.execute("UPDATE guardians SET name = '刘奶奶' WHERE family_id = ?", [school["S1"]])  # a grandmother added later
    sync.sync(kiosk_db)
    code = db["families"].get(school["S1"])["code"]
    assert code in found(desk, "刘奶奶") and code in found(desk, "劉奶奶")  # Traditional finds Simplified
    grandmother = db["families"].get(school["S2"])["code"]
    assert grandmother in found(desk, "陈婆婆")  # the roster wrote 陳婆婆
    lee = db["families"].get(school["S3"])["code"]
    assert lee in found(desk, "GRACE") and lee in found(desk, "ｇｒａｃｅ")  # case and full width fold too
    assert code in found(desk, code[-3:]) and grandmother not in found(desk, code[-3:])
    assert "王小明" in found(desk, "小明")  # a student's name, as before


def test_a_wrong_check_digit_is_said_in_the_desks_language(desk, db, school):
    assert "最后一位校验码不符" in found(desk, "100012")
    desk.post("/lang/en", data={"csrf_token": desk.token})
    assert "its last digit does not match" in found(desk, "100012")


def test_a_mistaken_tap_is_undone_by_a_void_with_the_volunteer_as_actor(desk, db, school, kiosk_db):
    notice = make_notice(db)
    sync.sync(kiosk_db)
    family = school["S1"]
    desk.post(f"/family/{family}/notice/{notice}", data={"choice": "attend", "csrf_token": desk.token})
    assert store.waiting(kiosk_db) == 1  # confirmed + answer: one receipt waiting, not two
    page = desk.get(f"/family/{family}").get_data(as_text=True)
    assert "撤销上一次操作" in page
    desk.post(f"/family/{family}/undo", data={"csrf_token": desk.token})
    assert "已撤销" in desk.get(f"/family/{family}").get_data(as_text=True)
    assert kiosk_db.execute("SELECT state FROM receipts WHERE notice_id = ? AND family_id = ?",
                            [notice, family]).fetchone() is None
    sync.sync(kiosk_db)
    assert ledger.notice_status(db, notice).get(family, ledger.Status()).state == "unread"
    voids = list(db.query("SELECT actor, voids FROM events WHERE kind = 'void'"))
    assert len(voids) == 2 and {v["actor"] for v in voids} == {"volunteer:vol"}
    assert "没有可以撤销" in desk.post(f"/family/{family}/undo", data={"csrf_token": desk.token},
                                      follow_redirects=True).get_data(as_text=True)


def test_undo_is_only_for_a_short_while(desk, db, school, kiosk_db, monkeypatch):
    notice = make_notice(db, reply_options=[])
    sync.sync(kiosk_db)
    desk.post(f"/family/{school['S1']}/notice/{notice}", data={"csrf_token": desk.token})
    later = clock.now() + dt.timedelta(minutes=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert "撤销上一次操作" not in desk.get(f"/family/{school['S1']}").get_data(as_text=True)
    desk.post(f"/family/{school['S1']}/undo", data={"csrf_token": desk.token})
    assert kiosk_db.execute("SELECT count(*) FROM outbox WHERE kind = 'void'").fetchone()[0] == 0


def test_a_kiosk_cannot_void_another_kiosks_receipt(db, school, kiosk_db, school_server, tmp_path):
    notice = make_notice(db, reply_options=[])
    sync.sync(kiosk_db)
    event_id = store.record(kiosk_db, notice_id=notice, family_id=school["S1"], kind="confirmed", actor="volunteer:vol")
    sync.sync(kiosk_db)
    other = store.connect(tmp_path / "other.db")
    sync.enrol(other, school_server.url, devices.new_code(db, "Second desk"))
    sync.sync(other)
    store.record(other, notice_id=notice, family_id=school["S1"], kind="void", actor="volunteer:vol")
    other.execute("UPDATE outbox SET payload = ? WHERE kind = 'void'", [f'{{"voids": "{event_id}"}}'])
    sync.sync(other)
    assert "only its own" in other.execute("SELECT rejected FROM outbox WHERE kind = 'void'").fetchone()[0]
    assert ledger.notice_status(db, notice)[school["S1"]].state == "confirmed"


def test_a_revoked_kiosk_takes_no_new_receipts_and_says_so(desk, db, school, kiosk_db):
    notice = make_notice(db, reply_options=[])
    sync.sync(kiosk_db)
    devices.revoke(db, kiosk_db.execute("SELECT value FROM config WHERE key = 'device_id'").fetchone()[0])
    page = desk.post("/sync", data={"csrf_token": desk.token}, follow_redirects=True).get_data(as_text=True)
    assert "停用" in page
    page = desk.post(f"/family/{school['S1']}/notice/{notice}", data={"csrf_token": desk.token},
                     follow_redirects=True).get_data(as_text=True)
    assert "不能再记录回执" in page and "家长确认" not in page.split("不能再记录回执")[-1]
    assert store.waiting(kiosk_db) == 0


def test_the_online_badge_follows_the_last_real_contact(desk, db, school, kiosk_db, monkeypatch):
    assert "在线" in desk.get("/").get_data(as_text=True)
    later = clock.now() + dt.timedelta(seconds=ONLINE_FOR + 5)
    monkeypatch.setattr(clock, "now", lambda: later)  # no sync got through since
    assert "离线" in desk.get("/").get_data(as_text=True)


def test_the_private_card_gives_the_school_lines_number(desk, db, school, kiosk_db):
    make_notice(db, private=True, texts={"zh-Hans": ("欠费提醒", "请尽快缴纳")})
    settings.put(db, "phone_line", "+862088880000")
    db.execute("UPDATE families SET language = 'yue-Hant' WHERE id = ?", [school["S1"]])
    sync.sync(kiosk_db)
    page = desk.get(f"/family/{school['S1']}").get_data(as_text=True)
    code = db["families"].get(school["S1"])["code"]
    assert "+862088880000" in page and code in page and "欠费" not in page
    assert "廣東話" in page  # the family's language is shown

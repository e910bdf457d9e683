"""The office's weekly work in the browser: the roster (preview, then apply) and printing
(a PDF made in the background with progress, then handed out)."""

from __future__ import annotations

import io
import re
import time

import pytest
from openpyxl import Workbook

from print.bulletin import printed_weeks
from server import clock, settings
from server.db import upload_dir
from tests.builders import HEADER, make_notice, row
from tests.conftest import csrf_token


@pytest.fixture
def office(client, login, staff):
    login("office", "office-pass")
    client.post("/lang/en", data={"csrf_token": csrf_token(client, "/"), "next": "/"})
    return client


def _csv(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    lines = [",".join(header)] + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _upload(client, data: bytes, name: str, **form):
    return client.post("/roster/preview", data={"csrf_token": csrf_token(client, "/roster"),
                                                "roster": (io.BytesIO(data), name), **form},
                       content_type="multipart/form-data")


def _apply(client, page: str):
    staged = re.search(r'name="staged" value="([^"]+)"', page).group(1)
    full = re.search(r'name="full" value="([^"]+)"', page).group(1)
    return client.post("/roster/apply", data={"csrf_token": csrf_token(client, "/roster"), "staged": staged,
                                              "full": full, "original": "x.csv"})


def _students(db) -> dict[str, int]:
    return {r[0]: r[1] for r in db.execute("SELECT source_id, active FROM students").fetchall()}


def test_the_preview_writes_nothing_and_apply_writes_what_it_showed(office, db):
    before = _students(db)
    data = _csv([row("S1", "王小明", "3A", "王大明", "13800138001"),  # S2 (3A) is missing: leaves
                 row("S4", "王小红", "3B", "王大明", "13800138001"),  # a sibling, joined on the phone
                 row("S5", "", "3A", "", "")])                       # no name: rejected with its line
    page = _upload(office, data, "3A名单.csv").get_data(as_text=True)
    assert _students(db) == before  # nothing written
    assert "Preview of 3A名单.csv" in page
    assert re.search(r"<td>3A</td><td class=\"num\">0</td><td class=\"num\">1</td><td class=\"num warn\">1</td>", page)
    assert re.search(r"<td>3B</td><td class=\"num\">1</td>", page)
    assert "陳美玲 (3A)" in page  # who leaves, by name
    assert re.search(r'<td class="num">4</td><td>[^<]*name', page)  # the rejected line and its reason
    applied = _apply(office, page).get_data(as_text=True)
    assert "Applied: x.csv" in applied
    after = _students(db)
    assert after["S4"] == 1 and after["S2"] == 0 and "S5" not in after
    family = dict(db.execute("SELECT source_id, family_id FROM students").fetchall())
    assert family["S1"] == family["S4"]
    assert list(upload_dir(db).glob("roster-*")) == []  # the staged upload is gone once applied


def test_the_whole_school_is_an_explicit_choice(office, db):
    data = _csv([row("S1", "王小明", "3A", "王大明", "13800138001")])
    page = _upload(office, data, "3A.csv").get_data(as_text=True)
    assert "S3" not in page and "Amy Lee (3B)" not in page  # one class's file leaves 3B alone
    page = _upload(office, data, "school.csv", full="on").get_data(as_text=True)
    assert "Amy Lee (3B)" in page
    _apply(office, page)
    assert _students(db)["S3"] == 0


def test_an_xlsx_with_a_title_row_previews(office, db):
    book = Workbook()
    sheet = book.active
    sheet.append(["三年级一班家长通讯录"])
    sheet.append(["学号", "学生姓名", "班级", "家长姓名", "联系电话"])
    sheet.append(["S9", "李小华", "3A", "李奶奶", "13800138009"])
    buffer = io.BytesIO()
    book.save(buffer)
    page = _upload(office, buffer.getvalue(), "通讯录.xlsx").get_data(as_text=True)
    assert re.search(r"<td>3A</td><td class=\"num\">1</td>", page)


@pytest.mark.parametrize("data,name,says", [
    (b"", "empty.csv", "empty"),
    ("名字,电话\n张三,123\n".encode(), "wrong.csv", "学号"),
    (b"PK\x03\x04 not really a zip", "oneroster.zip", "zip"),
    (b"%PDF-1.4", "roster.pdf", "none of"),
])
def test_a_file_that_cannot_be_read_says_why_and_changes_nothing(office, db, data, name, says):
    before = _students(db)
    reply = _upload(office, data, name)
    text = reply.get_data(as_text=True) if reply.status_code == 400 else office.get("/roster").get_data(as_text=True)
    assert says in text
    assert "roster-" not in text  # the office's own file name, not the staged one
    assert _students(db) == before
    assert list(upload_dir(db).glob("roster-*")) == []


def test_a_forged_or_stale_staged_name_applies_nothing(office, db):
    before = _students(db)
    for name in ("../school.db", "roster-zz.csv", "roster-" + "0" * 32 + ".csv"):
        reply = office.post("/roster/apply", data={"csrf_token": csrf_token(office, "/roster"), "staged": name,
                                                   "full": "1"}, follow_redirects=True)
        assert "Upload the file again" in reply.get_data(as_text=True)
    assert _students(db) == before


def test_teachers_do_not_import_rosters(client, login, staff):
    login("t3a", "teacher-pass")
    assert client.get("/roster").status_code == 403


def _wait_for(client, url: str) -> str:
    for _ in range(200):
        page = client.get(url).get_data(as_text=True)
        if 'http-equiv="refresh"' not in page:
            return page
        time.sleep(0.05)
    raise AssertionError("the print job did not finish")


def test_print_a_class_with_progress_then_mark_it_handed_out(office, db):
    notice = make_notice(db, classes=["3A"])
    week = clock.iso_week(clock.now(), settings.zone(db))
    reply = office.post("/print", data={"csrf_token": csrf_token(office, "/print"), "week": week,
                                        "scope": "classes", "classes": ["3A"]})
    assert reply.status_code == 302
    job = reply.headers["Location"]
    page = _wait_for(office, job)
    assert "2 families" in page
    pdf = office.get(re.search(r'href="(/print/jobs/[^"]+\.pdf)"', page).group(1))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and len(pdf.data) > 5000
    assert printed_weeks(db)[0]["families"] == 2 and printed_weeks(db)[0]["handed_out"] == 0
    office.post("/print/handed-out", data={"csrf_token": csrf_token(office, "/print"), "week": week,
                                           "classes": ["3A"]})
    assert printed_weeks(db)[0]["handed_out"] == 2
    delivered = db.execute("SELECT count(*), min(actor) FROM events WHERE notice_id = ? AND kind = 'delivered'"
                           " AND channel = 'paper'", [notice]).fetchone()
    assert delivered == (2, "office")


def test_printing_without_a_choice_or_notices_says_so(office, db):
    reply = office.post("/print", data={"csrf_token": csrf_token(office, "/print"), "week": "2026-W48",
                                        "scope": "classes"}, follow_redirects=True)
    assert "Choose one or more classes" in reply.get_data(as_text=True)
    reply = office.post("/print", data={"csrf_token": csrf_token(office, "/print"), "week": "2020-W01",
                                        "scope": "school"})
    page = _wait_for(office, reply.headers["Location"])
    assert 'class="flash error"' in page and "Download" not in page
    reply = office.post("/print/handed-out", data={"csrf_token": csrf_token(office, "/print"), "week": "2020-W01"},
                        follow_redirects=True)
    assert "No bulletins have been printed for 2020-W01" in reply.get_data(as_text=True)


def _family_page(client, family_id: int) -> str:
    return client.get(f"/families/{family_id}").get_data(as_text=True)


def test_call_consent_is_recorded_and_withdrawn_per_number_from_the_family_page(office, db, school):
    from ivr.followup import usable_numbers

    family = db.table("families").get(school["S2"])
    assert "no consent yet" in _family_page(office, school["S2"])
    token = csrf_token(office, f"/families/{school['S2']}")
    refused = office.post(f"/families/{school['S2']}/consent", data={"csrf_token": token, "phone": "+8613800138002",
                                                                      "consent": "1", "note": " "},
                          follow_redirects=True)
    assert "Say who gave consent" in refused.get_data(as_text=True) and not usable_numbers(db, family, "voice")
    office.post(f"/families/{school['S2']}/consent", data={"csrf_token": token, "phone": "+8613800138002",
                                                            "consent": "1", "note": "grandmother, by phone"})
    assert usable_numbers(db, family, "voice") == ["+8613800138002"]
    assert "grandmother, by phone" in _family_page(office, school["S2"])
    office.post(f"/families/{school['S2']}/consent", data={"csrf_token": token, "phone": "+8613800138002",
                                                            "consent": "0", "note": ""})
    assert usable_numbers(db, family, "voice") == []
    other = office.post(f"/families/{school['S2']}/consent", data={"csrf_token": token, "phone": "+8613800138001",
                                                                    "consent": "1", "note": "x"})
    assert other.status_code == 404  # another family's number is not this page's to change


def test_a_mistaken_receipt_is_cancelled_with_a_reason_and_the_note_of_told_in_person_shows(office, db, school):
    from ivr import chase
    from server import ledger, notices

    notice = make_notice(db)
    chase.chase(db, notices.get_notice(db, notice), [school["S2"]], "told", actor="t3a", note="met grandma at the gate")
    page = _family_page(office, school["S2"])
    assert "met grandma at the gate" in page and "in person" in page
    assert ledger.status_of(db, notice, school["S2"]).state == "confirmed"
    event = db.execute("SELECT id FROM events WHERE family_id = ?", [school["S2"]]).fetchone()[0]
    token = csrf_token(office, f"/families/{school['S2']}")
    url = f"/families/{school['S2']}/events/{event}/void"
    assert "Say why" in office.post(url, data={"csrf_token": token, "reason": ""},
                                    follow_redirects=True).get_data(as_text=True)
    assert ledger.status_of(db, notice, school["S2"]).state == "confirmed"
    office.post(url, data={"csrf_token": token, "reason": "wrong family"})
    assert ledger.status_of(db, notice, school["S2"]).state == "unread"
    assert "wrong family" in _family_page(office, school["S2"])
    assert office.post(f"/families/{school['S1']}/events/{event}/void",
                       data={"csrf_token": token, "reason": "x"}).status_code == 404


def test_hard_to_reach_keeps_read_but_not_confirmed_apart_and_exports_words(office, db, school):
    import datetime as dt

    from server import ledger

    for days in (3, 4, 5):
        publish = (clock.now() - dt.timedelta(days=days)).astimezone(settings.zone(db)).strftime("%Y-%m-%d %H:%M")
        notice = make_notice(db, publish_at=publish)
        ledger.record(db, [ledger.new_event(notice, school["S1"], "digital", "read", source="test",
                                            occurred_at=clock.iso(clock.now() - dt.timedelta(days=days, hours=-2)))])
    page = office.get("/unreached").get_data(as_text=True)
    reached, apart = page.split("Read, not confirmed <small>")
    assert "陳婆婆" in reached and "王大明" not in reached  # S2 read nothing: not reached
    assert "王大明" in apart and "remind them to confirm" in apart  # S1 read all three, ticked none
    sheet = office.get("/unreached.csv").get_data(as_text=True)
    assert "paper slip" in sheet and "not reached" in sheet and "read, not confirmed" in sheet
    assert ",paper," not in sheet and "zh-Hant" not in sheet and "+8613800138002" in sheet


def test_a_family_counts_once_in_the_channel_chart_which_has_a_title_axes_and_counts(office, db, school):
    from ivr import chase
    from server import ledger, notices, status

    notice = make_notice(db)
    ledger.record(db, [ledger.new_event(notice, school["S1"], "digital", "read", source="test")])
    chase.chase(db, notices.get_notice(db, notice), [school["S1"]], "told", actor="t3a", note="at the gate")
    report = status.notice_report(db, notice)
    assert report["by_channel"] == {"digital": 1}  # read in the app, then told in person: one family, one channel
    assert sum(report["by_channel"].values()) + report["totals"]["unread"] == report["totals"]["families"]
    bar = office.get(f"/notices/{notice}/channels.svg").get_data(as_text=True)
    assert "Families by the channel they first read it on" in bar and ">1<" in bar.replace(" ", "")
    curve = office.get(f"/notices/{notice}/curve.svg").get_data(as_text=True)
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", curve)
    assert "hours after publishing" in texts and "% of families confirmed" in " ".join(texts)  # the title wraps


@pytest.mark.parametrize("written", [
    "a slip is on this page but its QR code cannot be read",
    "the QR code is not a valid slip of this school: bad signature",
    "the slip does not match any printed slip on record",
    "the slip is from 2026-W40, more than 8 weeks ago",
    "the slip's corner markers cannot be found (torn, folded or cut off?)",
    "a mark for notice 12 is unclear (faint, scribbled out or partly outside the box)",
    "more than one answer is ticked for notice 12",
    "the 'please call me' box is unclear",
    "this slip was scanned before with different marks (a copy, or marks added later)",
    "ticked 'please call me' on the paper slip",
    "pressed 9 on the phone line: please call back",
    "no number with consent to calls",
    "no number that accepts texts",
])
def test_every_recorded_reason_is_said_in_chinese(app, written):
    from server.web import labels

    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        said = labels.reason(written)
    assert said != written and re.search(r"[\u4e00-\u9fff]", said)
    assert all(number in said for number in re.findall(r"\d+", written))  # ids and weeks survive


@pytest.mark.parametrize("written,says", [
    ("the en version needs both a title and a body", "English版本需要同时有标题和正文"),
    ("'late evening' is not a time window like 08:00-17:00", "late evening 不是时间段"),
    ("this notice was already withdrawn; change its newest version (notice 7)", "已经已撤回；请修改它的最新版本（通知 7）"),
    ("unknown class 9Z; known classes: 3A, 3B", "没有班级 9Z"),
    ("a password is at least 10 characters", "密码至少 10 个字符"),
])
def test_refused_forms_say_why_in_chinese(app, written, says):
    from server.web import labels

    with app.test_request_context("/"):
        assert says in labels.reason(written)


def test_a_refused_setting_is_explained_in_chinese(client, login, staff):
    login("office", "office-pass")
    page = client.post("/settings", data={"csrf_token": csrf_token(client, "/settings"), "quiet_hours": "晚上"},
                       follow_redirects=True).get_data(as_text=True)
    assert "晚上 不是时间段" in page


def test_the_roster_preview_gives_each_refused_line_its_reason_in_chinese(client, login, staff, db):
    login("office", "office-pass")
    data = ("学号,学生姓名,班级,家长姓名,联系电话,首选渠道\n"
            "S7,,3A,张妈妈,13800138007,\n"
            "S8,张小二,3A,张妈妈,13800138007,飞鸽\n"
            "S9,张小三,3A,张妈妈,+85278103102,\n").encode()
    page = _upload(client, data, "3A.csv").get_data(as_text=True)
    assert "缺少学生姓名" in page and "未知的首选渠道 飞鸽" in page
    assert "不是有效号码" in page


def test_a_print_job_that_breaks_says_so_and_leaves_no_pdf(office, db, monkeypatch):
    from server.web import printing

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(printing, "print_bulletins", broken)
    make_notice(db, classes=["3A"])
    reply = office.post("/print", data={"csrf_token": csrf_token(office, "/print"), "week": "2026-W48",
                                        "scope": "classes", "classes": ["3A"]})
    page = _wait_for(office, reply.headers["Location"])
    assert "Printing failed; nothing was printed" in page and "Download" not in page
    assert list(upload_dir(db).glob("print-*.pdf")) == []

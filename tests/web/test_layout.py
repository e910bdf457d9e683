"""Every staff page, with the demo school's real content, in Chinese, at an office screen
(1366×768) and a phone (390×844): nothing scrolls sideways, no text spills out of its box,
status badges and phone numbers stay on one line."""

from __future__ import annotations

import pytest

from print import evidence
from server import clock, settings
from server import db as database
from server.app import create_app
from server.serving import BackgroundServer
from tests.builders import make_notice
from tests.conftest import signed_in_page

VIEWPORTS = {"office": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}

# What the page must not do, measured in the browser. Scroll boxes (.scroll) may scroll inside.
CHECK = """() => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth + 1) problems.push(`page scrolls sideways: ${root.scrollWidth}px`);
  const inScrollBox = el => el.closest('.scroll');
  for (const el of document.querySelectorAll('main *')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.display === 'inline' || inScrollBox(el) || !el.clientWidth) continue;
    if (style.overflowX === 'visible' && el.scrollWidth > el.clientWidth + 2 && el.tagName !== 'svg')
      problems.push(`text spills out of <${el.tagName.toLowerCase()} class="${el.className}">: ${el.textContent.trim().slice(0, 40)}`);
  }
  for (const el of document.querySelectorAll('.badge, .tag, .nowrap')) {
    const range = document.createRange();
    range.selectNodeContents(el);
    const tops = [...range.getClientRects()].map(r => r.top).sort((a, b) => a - b);
    const step = parseFloat(getComputedStyle(el).fontSize) * 0.8;
    if (tops.length && tops[tops.length - 1] - tops[0] > step) problems.push(`wraps: ${el.textContent.trim()}`);
  }
  return problems;
}"""


@pytest.fixture(scope="module")
def demo_site(demo_db, tmp_path_factory):
    """A copy of the demo school with one of everything a staff page can show, served for real."""
    import shutil

    path = tmp_path_factory.mktemp("layout") / "school.db"
    shutil.copy(demo_db, path)
    db = database.connect(path)
    scheduled = make_notice(db, classes=["3A"], publish_at=(clock.now().astimezone(settings.zone(db))
                                                             .replace(microsecond=0) + _days(3)).strftime("%Y-%m-%d %H:%M"))
    name = evidence.store(db, b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp")
    db["scan_batches"].insert({"id": "batch-layout", "origin": "web:office", "started_at": clock.now_iso(),
                               "finished_at": clock.now_iso(), "pages": 2, "review": 1})
    db["scan_pages"].insert_all([
        {"batch_id": "batch-layout", "file": "scanner-2026-12-03-0001.pdf", "page": 1, "outcome": "recorded",
         "family_id": 1, "evidence": name, "reason": ""},
        {"batch_id": "batch-layout", "file": "scanner-2026-12-03-0001.pdf", "page": 2, "outcome": "review",
         "reason": "a mark for notice 1 is unclear (faint, scribbled out or partly outside the box)"}])
    item = db["review_items"].insert({"fingerprint": "layout", "batch_id": "batch-layout", "file": "a.pdf", "page": 2,
                                      "reason": "a slip is on this page but its QR code cannot be read",
                                      "page_image": name, "created_at": clock.now_iso()}).last_pk
    notice = db.execute("SELECT id FROM notices WHERE publish_at <= ? ORDER BY id LIMIT 1",
                        [clock.now_iso()]).fetchone()[0]
    week = clock.iso_week(clock.now(), settings.zone(db))
    db.close()
    server = BackgroundServer(create_app({"DATABASE": str(path)}))
    pages = ["/", f"/notices/{notice}", f"/notices/{notice}?show=open", "/notices/new", f"/notices/{scheduled}/edit",
             "/families", "/families/1", "/reports", f"/reports/class/3A/{week}.html", "/unreached", "/concerns",
             "/scans", "/scans/batch-layout", "/review", f"/review/{item}", "/settings", "/staff", "/roster", "/print",
             "/concerns?view=all", "/approvals", "/insight", "/insight/grade/3", "/insight/class/3A"]
    yield server.url, pages
    server.close()


def _days(n: int):
    import datetime as dt

    return dt.timedelta(days=n)


@pytest.mark.parametrize("screen", VIEWPORTS)
def test_every_staff_page_fits_the_screen(browser, demo_site, screen):
    base, pages = demo_site
    context, page = signed_in_page(browser, base, "admin", "admin-demo", viewport=VIEWPORTS[screen])
    try:
        page.goto(base + "/print")
        page.check("input[name=classes][value='3A']")
        page.click("button.primary")
        page.wait_for_selector("a.button.primary", timeout=60_000)  # the job page refreshes until the PDF is ready
        problems = {}
        for url in pages + [page.url.removeprefix(base)]:
            response = page.goto(base + url)
            assert response.status == 200, url
            found = page.evaluate(CHECK)
            if found:
                problems[url] = found[:5]
        assert problems == {}
    finally:
        context.close()

"""Real headless Chromium (Debian's) against the app behind waitress."""

import pytest

from server import ledger, links
from tests.builders import make_notice


@pytest.fixture
def new_page(browser, live_server):
    """Pages whose contexts close before the server stops (so no request is cut off)."""
    contexts = []

    def make(**options):
        contexts.append(browser.new_context(**options))
        return contexts[-1].new_page()
    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page(viewport={"width": 1100, "height": 800}, locale="zh-CN")


def test_office_signs_in_and_reads_the_combined_status(page, live_server, staff, db, school):
    notice_id = make_notice(db)
    ledger.record(db, [ledger.new_event(notice_id, school["S1"], "voice", "confirmed")])
    page.goto(live_server + "/")
    page.fill("input[name=username]", "office")
    page.fill("input[name=password]", "office-pass")
    page.click("button.primary")
    assert page.locator("h1").inner_text() == "通知"
    page.click("text=秋游通知")
    assert page.locator(".figure b").first.inner_text() == "1"
    assert "电话" in page.locator("tr.confirmed").inner_text()
    bar = page.locator("svg.bar rect.confirmed").bounding_box()
    assert bar["width"] > 0  # half the families: the green part is drawn
    page.click("button:has-text('English')")
    assert page.get_by_role("link", name="Families", exact=True).is_visible()


def test_a_grandparent_confirms_on_a_phone(new_page, live_server, db, school):
    notice_id = make_notice(db, texts={"zh-Hant": ("秋遊通知", "週五去植物園。")}, reply_options=["attend", "absent"])
    phone = new_page(viewport={"width": 390, "height": 780}, is_mobile=True,
                     user_agent="Mozilla/5.0 (Linux; Android 12) Mobile")
    phone.goto(f"{live_server}/f/{links.make_token(db, school['S2'])}")
    phone.click("text=秋遊通知")
    phone.wait_for_load_state("load")
    assert ledger.notice_status(db, notice_id)[school["S2"]].state == "read"
    button = phone.locator("button:has-text('參加')").first
    assert button.bounding_box()["height"] >= 44  # a finger-sized target
    button.click()
    assert "謝謝" in phone.locator("p.done").inner_text()
    status = ledger.notice_status(db, notice_id)[school["S2"]]
    assert (status.state, status.reply) == ("confirmed", "attend")

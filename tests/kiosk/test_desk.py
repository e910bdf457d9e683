"""The help desk in real Chromium: a volunteer confirms notices with the server up, then down, then back."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk import sync
from kiosk.app import create_kiosk_app
from server.serving import BackgroundServer
from tests.builders import make_notice


@pytest.fixture
def desk(kiosk_db, tmp_path):
    app = create_kiosk_app(tmp_path / "kiosk.db")
    with BackgroundServer(app) as server:
        yield server.url, app


def test_offline_then_online_in_a_real_browser(browser, desk, db, db_path, school, kiosk_db, school_server):
    base, _app = desk
    first = make_notice(db, reply_options=[], texts={"zh-Hans": ("运动会", "周五开运动会")})
    second = make_notice(db, reply_options=["attend", "absent"], texts={"zh-Hans": ("家长会", "周三下午")})
    sync.sync(kiosk_db)
    code = db["families"].get(school["S1"])["code"]
    context = browser.new_context(viewport={"width": 1000, "height": 900}, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(base + "/")
        page.fill("input[name=username]", "vol")
        page.fill("input[name=pin]", "246813")
        page.click("button.big")
        page.fill("input[name=q]", code)
        page.click("button:has-text('搜索')")
        page.click(f"text={code}")
        page.locator("article", has_text="运动会").locator("button.big").click()
        assert "已确认" in page.locator("article", has_text="运动会").inner_text()
        page.click("button:has-text('立即同步')")
        assert "0 条回执等待同步" in page.locator(".state").inner_text()

        school_server.stop()
        page.locator("article", has_text="家长会").locator("button:has-text('参加')").first.click()
        page.click("button:has-text('立即同步')")
        assert "离线" in page.locator(".state").inner_text() and "1 条回执等待同步" in page.locator(".state").inner_text()  # one tap: confirmed + answer

        school_server.start()
        page.click("button:has-text('立即同步')")
        assert "在线" in page.locator(".state").inner_text() and "0 条回执等待同步" in page.locator(".state").inner_text()
    finally:
        context.close()
    pb = str(Path(sys.executable).parent / "paperbridge")
    for notice in (first, second):
        result = subprocess.run([pb, "status", "--notice", str(notice), "--format", "json"], capture_output=True,
                                text=True, env={**os.environ, "PAPERBRIDGE_DB": str(db_path)}, timeout=60)
        family = next(f for f in json.loads(result.stdout)["families"] if f["family_id"] == school["S1"])
        assert (family["state"], family["channels"]) == ("confirmed", ["kiosk"])


def test_wrong_pin_and_private_notice_wording(desk, db, school, kiosk_db):
    base, app = desk
    make_notice(db, private=True, texts={"zh-Hans": ("欠费提醒", "请尽快缴纳")})
    sync.sync(kiosk_db)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": "vol", "pin": "0000", "csrf_token": token}).status_code == 401
    client.post("/login", data={"username": "vol", "pin": "246813", "csrf_token": token})
    family = client.get(f"/family/{school['S1']}").get_data(as_text=True)
    assert "有一条保密信息" in family and "欠费" not in family
    assert "最后一位校验码不符" in client.get("/?q=100012").get_data(as_text=True)


def test_byte_budgets(desk, db, school, kiosk_db):
    base, app = desk
    make_notice(db)
    sync.sync(kiosk_db)
    client = app.test_client()
    first = [client.get("/login"), client.get("/static/kiosk.css"), client.get("/static/kiosk.js")]
    assert sum(len(r.data) for r in first) <= 50_000
    token = re.search(r'name="csrf_token" value="([^"]+)"', first[0].get_data(as_text=True)).group(1)
    client.post("/login", data={"username": "vol", "pin": "246813", "csrf_token": token})
    code = db["families"].get(school["S1"])["code"]
    for url in ("/", f"/?q={code}", f"/family/{school['S1']}"):
        assert len(client.get(url).data) <= 5_000, url
    for r in first:
        r.close()


AXE = Path(__file__).resolve().parents[2] / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"


def test_every_kiosk_screen_passes_axe(browser, desk, db, school, kiosk_db):
    """axe-core (npm) on each screen: no serious or critical accessibility violations."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: ./run.sh test installs it into .cache/npm")
    base, _app = desk
    make_notice(db)
    make_notice(db, private=True, texts={"zh-Hans": ("欠费提醒", "请尽快缴纳")})
    sync.sync(kiosk_db)
    code = db["families"].get(school["S1"])["code"]
    context = browser.new_context(bypass_csp=True, locale="zh-CN")  # lets the test inject axe
    page = context.new_page()
    found = {}
    try:
        def check(name: str) -> None:
            page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
            result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
            found[name] = [(v["id"], v["impact"]) for v in result["violations"] if v["impact"] in ("serious", "critical")]
        page.goto(base + "/login")
        check("sign-in")
        page.fill("input[name=username]", "vol")
        page.fill("input[name=pin]", "246813")
        page.click("button.big")
        page.goto(f"{base}/?q={code}")
        check("search")
        page.goto(f"{base}/family/{school['S1']}")
        check("family")
    finally:
        context.close()
    assert found == {"sign-in": [], "search": [], "family": []}

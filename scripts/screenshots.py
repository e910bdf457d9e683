"""Take the README's screenshots and bulletin page images from a freshly built demo school.

Usage: .venv/bin/python scripts/screenshots.py [OUT_DIR]   (default docs/images)
Needs Debian's chromium (./run.sh test installs it).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from print.bulletin import print_bulletins
from server import clock, demo, links, settings
from server import db as database
from server.app import create_app
from server.serving import BackgroundServer

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "demo.db"
        demo.build(path)
        server = BackgroundServer(create_app({"DATABASE": str(path)}))
        base = server.url
        db = database.connect(path)
        family_id = db.execute("SELECT id FROM families WHERE language = 'zh-Hant' ORDER BY id LIMIT 1").fetchone()[0]
        family_link = base + "/f/" + links.make_token(db, family_id)
        bulletin_pages(db, Path(folder), out)
        review_id = scanned_slips(db, Path(folder))
        db.close()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            staff = browser.new_page(viewport={"width": 1200, "height": 820}, locale="zh-CN")
            staff.goto(base + "/login")
            staff.fill("input[name=username]", "office")
            staff.fill("input[name=password]", "office-demo")
            staff.click("button.primary")
            staff.screenshot(path=str(out / "notices.png"))
            staff.click("text=秋季植物园研学")
            staff.wait_for_load_state("networkidle")
            staff.screenshot(path=str(out / "notice-status.png"), full_page=True)
            staff.click("text=尚未完成")
            staff.wait_for_load_state("networkidle")
            staff.screenshot(path=str(out / "chase.png"), full_page=True)
            staff.goto(f"{base}/families/{family_id}")
            staff.screenshot(path=str(out / "family-view.png"), full_page=True)
            office_pages(staff, base, Path(folder), out)
            school_rules_pages(staff, base, family_link, out)
            staff.goto(base + "/scans")
            staff.click("table.list a >> nth=0")
            staff.screenshot(path=str(out / "scan-batch.png"))
            staff.goto(f"{base}/review/{review_id}")
            staff.screenshot(path=str(out / "review.png"), full_page=True)
            admin = browser.new_page(viewport={"width": 1200, "height": 820}, locale="zh-CN")
            admin.goto(base + "/login")
            admin.fill("input[name=username]", "admin")
            admin.fill("input[name=password]", "admin-demo")
            admin.click("button.primary")
            admin.goto(base + "/staff")
            admin.screenshot(path=str(out / "staff.png"), full_page=True)
            phone = browser.new_page(viewport={"width": 390, "height": 700}, is_mobile=True)
            phone.goto(family_link)
            phone.screenshot(path=str(out / "family-home.png"))
            phone.click("ul.notices li >> nth=0")
            phone.wait_for_load_state("load")
            phone.screenshot(path=str(out / "family-notice.png"))
            browser.close()
        server.close()
    print(f"screenshots written to {out}")


def office_pages(staff, base: str, folder: Path, out: Path) -> None:
    """The office's browser pages: a roster preview, a print job, correcting a notice, hard to reach."""
    roster = folder / "3A名单.csv"
    roster.write_text("学号,学生姓名,班级,家长姓名,联系电话\nD3A01,新同学,3A,新家长,13800009999\n", encoding="utf-8")
    staff.goto(base + "/roster")
    staff.set_input_files("input[name=roster]", str(roster))
    staff.click("text=预览")
    staff.screenshot(path=str(out / "roster-preview.png"), full_page=True)
    staff.goto(base + "/print")
    staff.check("input[name=classes][value='3A']")
    staff.click("text=生成 PDF")
    staff.wait_for_selector("text=下载 PDF", timeout=120_000)
    staff.screenshot(path=str(out / "print.png"))
    staff.goto(base + "/")
    staff.click("text=秋季植物园研学")
    staff.click("summary:has-text('更正这则通知')")
    staff.locator("section.change").screenshot(path=str(out / "notice-correct.png"))
    staff.goto(base + "/unreached")
    staff.screenshot(path=str(out / "unreached.png"), full_page=True)
    phone = staff.context.browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
    phone.context.add_cookies(staff.context.cookies())
    phone.goto(base + "/")
    phone.click("text=秋季植物园研学")
    phone.click("text=尚未完成")
    phone.screenshot(path=str(out / "chase-phone.png"))
    phone.close()


def school_rules_pages(staff, base: str, family_link: str, out: Path) -> None:
    """The concerns register, the approval queue, reading times (desk and phone), a family's question box."""
    staff.goto(base + "/concerns?view=all")
    staff.screenshot(path=str(out / "concerns.png"), full_page=True)
    staff.goto(base + "/approvals")
    staff.screenshot(path=str(out / "approvals.png"), full_page=True)
    staff.goto(base + "/settings")
    staff.click("button[value=dry]")
    staff.locator("section.retention").screenshot(path=str(out / "settings-retention.png"))
    staff.goto(base + "/insight")
    staff.wait_for_load_state("networkidle")
    staff.screenshot(path=str(out / "insight.png"), full_page=True)
    phone = staff.context.browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
    phone.context.add_cookies(staff.context.cookies())
    phone.goto(base + "/insight/class/3A")
    phone.wait_for_load_state("networkidle")
    phone.screenshot(path=str(out / "insight-class-phone.png"), full_page=True)
    phone.close()
    family = staff.context.browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    family.goto(family_link)
    family.fill("textarea[name=words]", "請問下雨天還去植物園嗎？")
    family.click("section.questions button")
    family.wait_for_load_state("load")
    family.locator("section.questions").screenshot(path=str(out / "family-question.png"))
    family.close()


def bulletin_pages(db, folder: Path, out: Path) -> None:
    """One printed page per language: bulletin-zh-Hans.png, bulletin-zh-Hant.png, bulletin-en.png."""
    week = clock.iso_week(clock.now(), settings.zone(db))
    for language in ("zh-Hans", "zh-Hant", "en"):
        code = db.execute("SELECT code FROM families WHERE language = ? AND active = 1 ORDER BY id LIMIT 1",
                          [language]).fetchone()[0]
        pdf = print_bulletins(db, week, out=folder / f"{language}.pdf", family_code=code).out
        subprocess.run(["pdftoppm", "-r", "75", "-png", "-f", "2", "-l", "2", "-singlefile", str(pdf),
                        str(out / f"bulletin-{language}")], check=True)


def scanned_slips(db, folder: Path) -> int:
    """Scan a marked office batch of class 4A plus one scribbled slip; return the review item's id."""
    import random

    import cv2

    from bench.scan_corpus import Marker, rasterise, samples, slips_by_page
    from print.layout import CURRENT
    from print.render import slip_origin_mm
    from print.scan import scan_paths

    week = clock.iso_week(clock.now(), settings.zone(db))
    pdf = print_bulletins(db, week, out=folder / "4A.pdf", classes=["4A"]).out
    pages = slips_by_page(db, pdf)
    images = [s.image for s in samples(pdf, pages, CURRENT, "office", seed=3)]
    paths = []
    first = min(pages)
    images[first] = list(rasterise(pdf, 200))[first]
    Marker(images[first], 200, slip_origin_mm("a4", CURRENT), random.Random(1)).mark(CURRENT.read_box(1), "scribble")
    for i, image in enumerate(images):
        paths.append(folder / f"scan-{i:03d}.png")
        cv2.imwrite(str(paths[-1]), image)
    scan_paths(db, paths, origin="office scanner")
    return db.execute("SELECT id FROM review_items ORDER BY id LIMIT 1").fetchone()[0]


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/images"))

"""Screenshots of the district's pages: four demo schools on their own SQLite files, linked to a
district on a throwaway PostgreSQL, one district-wide notice that each school published and
its families answered over a few days by their own channels.

Usage: .venv/bin/python scripts/district_screenshots.py [OUT_DIR]   (default docs/images)
Needs Debian's chromium and postgresql (./run.sh test installs both).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
from pathlib import Path

import psycopg
from playwright.sync_api import sync_playwright

from bench.pgserver import temporary_postgres
from server import clock, demo, ledger
from server import db as database
from server.app import create_district_app
from server.district import accounts, link, schema, schools
from server.district import notices as district_notices
from server.serving import BackgroundServer

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SCHOOLS = (("东湖小学", 7, 0.82), ("西山小学", 11, 0.64), ("南岸实验学校", 13, 0.47), ("北城小学", 17, 0.23))


def answer(node, district_id: int, share: float, seed: int) -> None:
    """Families of the school answer the district notice by their own channels over three days."""
    notice = node.execute("SELECT notice_id FROM district_notices WHERE district_id = ?", [district_id]).fetchone()[0]
    rng, start = random.Random(seed), clock.now() - dt.timedelta(days=3)
    node.execute("UPDATE notices SET publish_at = ? WHERE id = ?", [clock.iso(start), notice])
    node.conn.commit()
    families = node.execute("SELECT DISTINCT s.family_id, f.preferred_channel FROM students s JOIN families f"
                            " ON f.id = s.family_id WHERE s.active = 1").fetchall()
    events = []
    for family_id, channel in families:
        if rng.random() < share:
            at = clock.iso(start + dt.timedelta(hours=rng.uniform(1, 70)))
            channel = channel if channel in ledger.CHANNELS else "paper"
            events.append(ledger.new_event(notice, family_id, channel, "confirmed", occurred_at=at))
        elif rng.random() < 0.3:
            events.append(ledger.new_event(notice, family_id, "digital", "read", occurred_at=clock.now_iso()))
    ledger.record(node, events)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with temporary_postgres() as server, tempfile.TemporaryDirectory() as folder:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE district")
        url = f"{server}/district"
        with psycopg.connect(url, autocommit=True) as conn:
            schema.migrate(conn)
            district_id = district_notices.add(conn, texts={
                "zh-Hans": ("台风停课通知", "受台风影响，周五全区中小学停课，周一复课。"),
                "en": ("Typhoon: all schools closed on Friday", "Lessons resume on Monday.")}, created_by="教育局")
            accounts.add_user(conn, "district", "district-demo", "admin", display_name="教育局 王老师")
            codes = {name: schools.add_school(conn, name)[1] for name, _seed, _share in SCHOOLS}
        app = create_district_app(url, timezone="Asia/Shanghai")
        with BackgroundServer(app) as district:
            for name, seed, share in SCHOOLS:
                path = Path(folder) / f"{seed}.db"
                demo.build(path, seed=seed)
                node = database.connect(path)
                link.link(node, district.url, codes[name])
                link.push(node)
                answer(node, district_id, share, seed)
                link.push(node)
                node.close()
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 820}, locale="zh-CN")
                page.goto(district.url + "/district/login")
                page.fill("input[name=username]", "district")
                page.fill("input[name=password]", "district-demo")
                page.click("button.primary")
                page.click("text=台风停课通知")
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(out / "district-notice.png"), full_page=True)
                page.click("text=北城小学")
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(out / "district-school.png"), full_page=True)
                browser.close()
        app.extensions["district_pool"].close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/images"))

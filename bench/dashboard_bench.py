"""Teacher views at size: 2,000 families, 200 notices, 1,000,000 ledger events.

Usage: .venv/bin/python -m bench.dashboard_bench [--families 2000] [--notices 200] [--events 1000000]
Prints median and worst times (server side, through the Flask app) for the notice view, one
notice's status, the class week report and the unread export.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

from bench.print_bench import build_school
from server import clock, ledger, notices, settings, status, users
from server import db as database
from server.app import create_app

CHANNELS = ("digital", "paper", "voice", "sms", "kiosk")


def populate(path: Path, notice_count: int, event_count: int) -> list[int]:
    db = database.connect(path)
    classes = [r[0] for r in db.execute("SELECT id FROM classes")]
    start = clock.now() - dt.timedelta(weeks=20)
    ids = []
    for i in range(notice_count):
        published = clock.iso(start + dt.timedelta(hours=17 * i))
        ids.append(notices.add_notice(db, texts={"zh-Hans": (f"通知 {i}", "内容")}, publish_at=published,
                                      classes=None if i % 3 == 0 else [classes[i % len(classes)]], reply_options=[]))
    families = [r[0] for r in db.execute("SELECT id FROM families")]
    rng = random.Random(1)
    rows, seq = [], 0
    for _ in range(event_count):
        seq += 1
        event_id = f"bench-{seq:010d}"
        rows.append((event_id, rng.choice(ids), rng.choice(families), rng.choice(CHANNELS),
                     rng.choice(("delivered", "read", "confirmed")), "{}", clock.now_iso(), clock.now_iso(),
                     "bench", "family", f"bench:{event_id}"))
        if len(rows) == 50_000:
            _insert(db, rows)
    _insert(db, rows)
    started = time.perf_counter()
    pairs = ledger.rebuild_status(db)  # the bulk insert above went around ledger.record
    print(f"derived statuses for {pairs:,} (notice, family) pairs in {time.perf_counter() - started:.0f} s")
    users.add_user(db, "office", "office-pass", "office")
    db.execute("ANALYZE")
    db.close()
    return ids


def _insert(db, rows: list) -> None:
    with db.atomic():
        db.conn.executemany("INSERT INTO events (id, notice_id, family_id, channel, kind, payload, occurred_at,"
                            " recorded_at, source, actor, dedupe_key) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    rows.clear()


def timed(function, repeat: int = 5) -> tuple[float, float]:
    """(median, worst) milliseconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def signed_in(app, username: str, password: str):
    """A test client of ``app`` signed in as a staff member."""
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=2000)
    parser.add_argument("--notices", type=int, default=200)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = build_school(Path(tmp), args.families, 0)
        started = time.perf_counter()
        ids = populate(path, args.notices, args.events)
        print(f"built: {args.families} families, {args.notices} notices, {args.events:,} events "
              f"in {time.perf_counter() - started:.0f} s, {path.stat().st_size / 1e6:.0f} MB")
        app = create_app({"DATABASE": str(path)})
        client = signed_in(app, "office", "office-pass")
        whole_school = ids[0]
        db = database.connect(path)
        week = clock.iso_week(clock.parse(notices.get_notice(db, ids[-1])["publish_at"]), settings.zone(db))
        cls = db.execute("SELECT id FROM classes ORDER BY id LIMIT 1").fetchone()[0]
        checks = {
            "notice view (page)": lambda: client.get(f"/notices/{whole_school}").data,
            "one notice's status (ledger)": lambda: ledger.notice_status(db, whole_school),
            "one notice's report (all families)": lambda: status.notice_report(db, whole_school),
            "class week report (page)": lambda: client.get(f"/reports/class/{cls}/{week}.html").data,
            "unread export (xlsx)": lambda: client.get(f"/notices/{whole_school}/unread.xlsx").data,
        }
        for name, check in checks.items():
            median, worst = timed(check)
            print(f"{name:<36} median {median:7.1f} ms   worst {worst:7.1f} ms")
        events = db.execute("SELECT count(*) FROM events WHERE notice_id = ?", [whole_school]).fetchone()[0]
        print(json.dumps({"events_for_that_notice": events, "audience": len(notices.audience(
            db, notices.get_notice(db, whole_school)))}))


if __name__ == "__main__":
    main()

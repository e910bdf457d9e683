"""A district node at full size: 50,000 families, a school year of notices, ~10 million ledger events.

Usage: .venv/bin/python -m bench.district_bench [--families 50000] [--weeks 40] [--folder DIR]

Builds the node the way it would fill up (roster import, notices, events through
ledger.record in batches as the channels send them) and prints: roster import time,
ingestion rate batched and single, database size, one notice's status, the notice
list (dashboard), a teacher's notice page, the office's page of a
district-wide notice and its chart images, backup and restore times, and peak memory.
Events are generated as a stream, never held in memory whole.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.dashboard_bench import signed_in, timed
from server import backup, clock, ledger, notices, roster, settings, status, users
from server import db as database
from server.app import create_app

SCHOOLS, CLASSES_PER_SCHOOL = 40, 36
CHANNEL_OF = {"paper": "paper", "voice": "voice", "sms": "sms", "digital": "digital"}
BATCH = 5_000


def build_roster(folder: Path, families: int) -> Path:
    """One student per family, a unique guardian phone each, spread over 40 schools' classes."""
    path = folder / "district.csv"
    classes = [f"S{s:02d}-{g}{c}" for s in range(SCHOOLS) for g in range(1, 7) for c in "ABCDEF"]
    channels = ["paper"] * 4 + ["voice"] * 2 + ["sms"] * 2 + ["digital"] * 2
    rng = random.Random(5)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["student id", "student name", "class", "guardian name", "guardian phone", "language",
                         "preferred channel"])
        for i in range(families):
            writer.writerow([f"D{i:06d}", f"学生{i}", classes[i % len(classes)], f"家长{i}", f"+86139{i:08d}",
                             rng.choice(["zh-Hans", "zh-Hans", "zh-Hant", "en"]), rng.choice(channels)])
    return path


def add_notices(db, weeks: int) -> tuple[list[int], list[int]]:
    """Each week two district-wide notices and five class notices; returns (district, class) ids."""
    classes = [r[0] for r in db.execute("SELECT id FROM classes ORDER BY id")]
    start = clock.now() - dt.timedelta(weeks=weeks)
    wide, narrow = [], []
    for week in range(weeks):
        published = start + dt.timedelta(weeks=week)
        for n in range(2):
            wide.append(notices.add_notice(db, texts={"zh-Hans": (f"第{week}周 通知{n}", "内容")}, classes=None,
                                           reply_options=[], publish_at=clock.iso(published + dt.timedelta(hours=n))))
        for n in range(5):
            narrow.append(notices.add_notice(db, texts={"zh-Hans": (f"第{week}周 班级通知{n}", "内容")},
                                             classes=[classes[(week * 5 + n) % len(classes)]], reply_options=[],
                                             publish_at=clock.iso(published + dt.timedelta(hours=3 + n))))
    return wide, narrow


def events(db, notice_ids: list[int], rng: random.Random) -> Iterator[ledger.Event]:
    """What the channels would send: a delivery per family, then most read and many confirm."""
    families = {r[0]: r[1] for r in db.execute("SELECT id, preferred_channel FROM families WHERE active = 1")}
    for notice_id in notice_ids:
        notice = notices.get_notice(db, notice_id)
        published = clock.parse(notice["publish_at"])
        for family_id in notices.audience(db, notice):
            channel = CHANNEL_OF.get(families[family_id], "paper")
            moment = published + dt.timedelta(minutes=rng.randrange(1, 7 * 24 * 60))
            yield ledger.new_event(notice_id, family_id, channel, "delivered", occurred_at=clock.iso(published))
            if rng.random() < 0.8:
                yield ledger.new_event(notice_id, family_id, channel, "read", occurred_at=clock.iso(moment))
                if rng.random() < 0.75:
                    yield ledger.new_event(notice_id, family_id, channel, "confirmed",
                                           occurred_at=clock.iso(moment + dt.timedelta(minutes=5)))


def ingest(db, stream: Iterator[ledger.Event]) -> tuple[int, float, float]:
    """Record the stream in batches; returns (events, seconds inside ledger.record, seconds overall)."""
    total, in_record, started, batch = 0, 0.0, time.perf_counter(), []

    def flush() -> None:
        nonlocal total, in_record
        begun = time.perf_counter()
        total += ledger.record(db, batch).recorded
        in_record += time.perf_counter() - begun
        batch.clear()

    for event in stream:
        batch.append(event)
        if len(batch) == BATCH:
            flush()
            if total % 1_000_000 < BATCH:
                print(f"  {total:>11,} events  {total / in_record:>9,.0f}/s", flush=True)
    flush()
    return total, in_record, time.perf_counter() - started


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=50_000)
    parser.add_argument("--weeks", type=int, default=40)
    parser.add_argument("--folder", type=Path, help="Keep the node here (default: a temp folder, removed after).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "district.db"
        db = database.connect(path)
        settings.initialize(db, school_id="DIST", timezone="Asia/Shanghai")
        started = time.perf_counter()
        report = roster.import_roster(db, build_roster(folder, args.families))
        print(f"roster import: {report.imported_rows:,} rows, {report.families_created:,} families "
              f"in {time.perf_counter() - started:.1f} s")
        wide, narrow = add_notices(db, args.weeks)
        print(f"notices: {len(wide)} district-wide, {len(narrow)} class notices over {args.weeks} weeks")

        total, in_record, overall = ingest(db, events(db, wide + narrow, random.Random(9)))
        print(f"ingestion, batched ({BATCH:,} per ledger.record): {total:,} events, {in_record:.0f} s in "
              f"ledger.record = {total / in_record:,.0f} events/s ({overall:.0f} s with generating them)")
        single = [ledger.new_event(wide[-1], fid, "kiosk", "confirmed")
                  for fid in notices.audience(db, notices.get_notice(db, wide[-1]))[:2000]]
        started = time.perf_counter()
        for event in single:
            ledger.record(db, [event])
        seconds = time.perf_counter() - started
        print(f"ingestion, one event per ledger.record: {len(single) / seconds:,.0f} events/s "
              f"({seconds / len(single) * 1000:.2f} ms each)")
        db.execute("ANALYZE")
        count = db.execute("SELECT count(*) FROM events").fetchone()[0]
        print(f"database: {count:,} events, {size_mb(path):,.0f} MB ({size_mb(path) * 1e6 / count:.0f} bytes/event)")

        big, small = notices.get_notice(db, wide[len(wide) // 2]), notices.get_notice(db, narrow[len(narrow) // 2])
        for label, notice in (("district-wide", big), ("class", small)):
            median, worst = timed(lambda notice=notice: status.notice_totals(db, notice), repeat=7)
            print(f"one notice's status ({label}, totals): median {median:.1f} ms, worst {worst:.1f} ms")
        family = notices.audience(db, big)[100]
        median, worst = timed(lambda: ledger.status_of(db, big["id"], family), repeat=7)
        print(f"one family's status for one notice: median {median:.2f} ms, worst {worst:.2f} ms")
        median, worst = timed(lambda: ledger.notice_status(db, big["id"]), repeat=3)
        print(f"every family's status, district-wide notice ({len(ledger.notice_status(db, big['id'])):,} "
              f"families): median {median:.0f} ms, worst {worst:.0f} ms")

        users.add_user(db, "office", "office-pass", "office")
        teacher_class = small["classes"][0]
        users.add_user(db, "teacher", "teacher-pass", "teacher", classes=[teacher_class])
        db.close()
        app = create_app({"DATABASE": str(path)})
        for who, password, url in (("office", "office-pass", "/"), ("teacher", "teacher-pass", "/"),
                                   ("teacher", "teacher-pass", f"/notices/{small['id']}"),
                                   ("office", "office-pass", f"/notices/{big['id']}"),
                                   ("office", "office-pass", f"/notices/{big['id']}/channels.svg"),
                                   ("office", "office-pass", f"/notices/{big['id']}/curve.svg")):
            client = signed_in(app, who, password)
            median, worst = timed(lambda client=client, url=url: client.get(url), repeat=5)
            print(f"page {url:<24} as {who:<7}: median {median:.0f} ms, worst {worst:.0f} ms")

        db = database.connect(path)
        started = time.perf_counter()
        backup.backup(db, folder / "backup.db")
        print(f"backup: {time.perf_counter() - started:.1f} s ({size_mb(folder / 'backup.db'):,.0f} MB)")
        db.close()
        started = time.perf_counter()
        backup.restore(folder / "backup.db", folder / "restored.db")
        print(f"restore into a fresh install (checked, migrated): {time.perf_counter() - started:.1f} s")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory: {peak:,.0f} MB")


if __name__ == "__main__":
    main()

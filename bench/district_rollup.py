"""The district roll-up at size: simulated schools forward a term of events into PostgreSQL.

Usage:
  .venv/bin/python -m bench.district_rollup                       # 200 schools x 2,000 families, 14 weeks
  .venv/bin/python -m bench.district_rollup --schools 20          # scaled down
  .venv/bin/python -m bench.district_rollup --database postgresql://... --schools 20

Starts its own PostgreSQL (bench/pgserver.py) unless --database is given. Each simulated school
has 2,000 families (classes over six grades, channels as in a city school), three
whole-school notices a week (one of them district-wide) and what the channels send: a
delivery per family, a read for most, a confirmation for many (~2.4 events per family and
notice, ~100 per family over a 14-week term: 200 schools make ~40 M events). Prints:

- ingest: events/s through the district's own path, in pushes of 2,000 as school nodes send
  them (server/district/ledger.py: COPY into the events and a row in the status queue, then
  the status worker of the district server, server/district/worker.py, on its own connection,
  derives the touched pairs), timed until every pair's status is derived; beside it the pushes
  alone, and the floor measured in the same run: PostgreSQL's COPY of the same rows into a
  table with the same columns and indexes and nothing else;
- the district notice page's figures (server/district/report.py, all schools, one
  district notice) and the per-school table over all district notices, median of 3;
- the catch-up of one real school node (SQLite, 2,000 families) after a week offline:
  `link.push` over real HTTP to the district app, until the district has it all and its
  status is derived;
- database size and peak memory of this process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg_pool import ConnectionPool

from bench.district_bench import events as school_events
from bench.pgserver import temporary_postgres
from bench.print_bench import build_school
from server import clock, ledger
from server import db as database
from server.app import create_district_app
from server.district import connect, link, report, schema, schools, worker
from server.district import ledger as district_ledger
from server.district import notices as district_notices
from server.serving import BackgroundServer

PUSH = 2000  # events per push, the district API's largest
CHANNELS = ["paper"] * 4 + ["voice"] * 2 + ["sms"] * 2 + ["digital"] * 2
LANGUAGES = ["zh-Hans"] * 6 + ["zh-Hant"] * 2 + ["en"] * 2


def roster(rng: random.Random, school: int, families: int) -> list[dict]:
    rows = []
    for i in range(families):
        grade = str(1 + i % 6)
        rows.append({"family_ref": f"f{school:04d}{i:06d}", "language": rng.choice(LANGUAGES),
                     "channel": rng.choice(CHANNELS), "classes": [f"{grade}{'ABCDEF'[i // 6 % 6]}"],
                     "grades": [grade]})
    return rows


def term(start: dt.datetime, weeks: int, district_ids: list[int]) -> list[dict]:
    """Three whole-school notices a week; the first of each week is district-wide."""
    out = []
    for week in range(weeks):
        for n in range(3):
            published = start + dt.timedelta(weeks=week, hours=n)
            out.append({"notice_id": week * 3 + n + 1, "week": clock.iso_week(published, clock.UTC),
                        "publish_at": clock.iso(published), "whole_school": True, "classes": [],
                        "district_notice_id": district_ids[week] if n == 0 else None})
    return out


def events(rng: random.Random, families: list[dict], notice_rows: list[dict]) -> Iterator[dict]:
    for notice in notice_rows:
        published = clock.parse(notice["publish_at"])
        sent = clock.iso(published)
        for family in families:
            channel = family["channel"]
            yield _event(rng, notice, family, channel, "delivered", sent)
            if rng.random() < 0.8:
                moment = published + dt.timedelta(minutes=rng.randrange(1, 7 * 24 * 60))
                yield _event(rng, notice, family, channel, "read", clock.iso(moment))
                if rng.random() < 0.75:
                    yield _event(rng, notice, family, channel, "confirmed", clock.iso(moment + dt.timedelta(minutes=5)))


def _event(rng: random.Random, notice: dict, family: dict, channel: str, kind: str, at: str) -> dict:
    return {"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "notice_id": notice["notice_id"],
            "family_ref": family["family_ref"], "channel": channel, "kind": kind, "payload": {},
            "occurred_at": at, "recorded_at": at, "voids": None}


def ingest(url: str, schools_count: int, families: int, weeks: int,
           floor_too: bool = True) -> tuple[int, float, float, float, list[int]]:
    """Every school's term through the district's path and, for the floor, the same rows by COPY
    alone. Returns (events, seconds until derived, seconds answering the pushes, seconds of the
    COPY floor, district notice ids)."""
    start = clock.now() - dt.timedelta(weeks=weeks)
    total, ours, answered, floor = 0, 0.0, 0.0, 0.0
    pool = ConnectionPool(url, min_size=1, max_size=1, open=True, kwargs=connect.SESSION)  # as the server's worker
    status = worker.StatusWorker(pool.connection).start()
    with psycopg.connect(url, autocommit=True, **connect.SESSION) as conn:  # as the district's server connects
        conn.execute("CREATE TABLE IF NOT EXISTS floor_events (LIKE events INCLUDING DEFAULTS INCLUDING INDEXES)")
        conn.execute("TRUNCATE floor_events")
        district_ids = [district_notices.add(conn, texts={"en": (f"District notice {w + 1}", "All schools.")},
                                             created_by="bench", publish_at=clock.iso(start + dt.timedelta(weeks=w)))
                        for w in range(weeks)]
        for s in range(schools_count):
            rng = random.Random(s)
            school_id = schools.add_school(conn, f"School {s + 1:03d}")[0]
            family_rows = roster(rng, s, families)
            notice_rows = term(start, weeks, district_ids)
            with conn.transaction():
                for part in range(0, len(family_rows), PUSH):
                    district_ledger.keep_roster(conn, school_id, family_rows[part:part + PUSH], [])
                district_ledger.keep_roster(conn, school_id, [], notice_rows)
            rows = sorted(events(rng, family_rows, notice_rows), key=lambda e: e["occurred_at"])  # as recorded
            begun = time.perf_counter()
            for part in range(0, len(rows), PUSH):
                district_ledger.receive(conn, school_id, rows[part:part + PUSH])
                status.wake()
            answered += time.perf_counter() - begun
            while district_ledger.queued(conn):
                time.sleep(0.005)
            ours += time.perf_counter() - begun
            push_id = connect.returned(conn.execute("SELECT last_value FROM push_ids"))
            begun = time.perf_counter()
            for part in range(0, len(rows), PUSH) if floor_too else ():
                with conn.cursor().copy("COPY floor_events (school_id, " + ", ".join(district_ledger.COLUMNS) +
                                        ") FROM STDIN") as copy:
                    for e in rows[part:part + PUSH]:
                        copy.write_row((school_id, e["id"], e["notice_id"], e["family_ref"], e["channel"], e["kind"],
                                        "{}", e["occurred_at"], e["recorded_at"], None, push_id))
            floor += time.perf_counter() - begun
            total += len(rows)
            conn.execute("UPDATE schools SET events_received = %s, last_push_at = now() WHERE id = %s",
                         [len(rows), school_id])
            if (s + 1) % max(1, schools_count // 20) == 0 or s + 1 == schools_count:
                print(f"  {s + 1:>4} schools  {total:>12,} events  ours {total / ours:>9,.0f}/s"
                      + (f"  COPY floor {total / floor:>9,.0f}/s" if floor_too else ""), flush=True)
        status.stop()
        pool.close()
        conn.execute("DROP TABLE floor_events")
        conn.execute("VACUUM ANALYZE")
    return total, ours, answered, floor, district_ids


def median_seconds(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        begun = time.perf_counter()
        fn()
        times.append(time.perf_counter() - begun)
    return statistics.median(times)


def catch_up(url: str, families: int, folder: Path) -> tuple[int, float]:
    """A real school node, offline for a week: its week of events pushed over HTTP. (events, seconds)"""
    node = database.connect(build_school(folder, families, 3))
    ids = [r[0] for r in node.execute("SELECT id FROM notices ORDER BY id")]
    week = list(school_events(node, ids, random.Random(3)))
    for part in range(0, len(week), 5000):
        ledger.record(node, week[part:part + 5000])
    with psycopg.connect(url, autocommit=True) as conn:
        code = schools.add_school(conn, "Offline for a week")[1]
    app = create_district_app(url, pool_size=4)
    with BackgroundServer(app) as server, psycopg.connect(url, autocommit=True) as conn:
        link.link(node, server.url, code)
        begun = time.perf_counter()
        result = link.push(node)
        while district_ledger.queued(conn):  # and its status derived by the server's worker
            time.sleep(0.005)
        seconds = time.perf_counter() - begun
    app.extensions["district_pool"].close()
    assert result.recorded == len(week), (result, len(week))
    return len(week), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schools", type=int, default=200)
    parser.add_argument("--families", type=int, default=2000, help="per school")
    parser.add_argument("--weeks", type=int, default=14, help="the term's length")
    parser.add_argument("--database", help="an empty PostgreSQL database (default: start a throwaway server)")
    parser.add_argument("--no-floor", action="store_true",
                        help="skip the COPY floor (the pages and the catch-up at full size in less time)")
    args = parser.parse_args()
    if args.database:
        run(args, args.database)
        return
    with temporary_postgres("shared_buffers=1GB", "max_wal_size=4GB", "checkpoint_timeout=30min") as server:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE rollup")
        run(args, f"{server}/rollup")


def run(args, url: str) -> None:
    began = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        schema.migrate(conn)
    print(f"{args.schools} schools x {args.families:,} families, {args.weeks} weeks, 3 notices a week "
          f"(1 district-wide)")
    total, ours, answered, floor, district_ids = ingest(url, args.schools, args.families, args.weeks,
                                                        not args.no_floor)
    print(f"pushes answered: {total / answered:,.0f} events/s ({answered:.0f} s)")
    print(f"ingest, status derived: {total:,} events in {ours:.0f} s = {total / ours:,.0f} events/s"
          + (f"; COPY floor {total / floor:,.0f} events/s ({floor:.0f} s): {floor / ours:.0%} of the floor"
             if not args.no_floor else " (no floor measured)"))
    with psycopg.connect(url, **connect.SESSION) as conn:
        latest = district_ids[-1]
        page = median_seconds(lambda: report.school_rows(conn, latest))
        table = median_seconds(lambda: report.school_rows(conn))
        over = median_seconds(lambda: report.over_time(conn, latest))
        (size,) = conn.execute("SELECT pg_database_size(current_database())").fetchall()[0]
    print(f"district notice page (all {args.schools} schools, one notice): {page * 1000:,.0f} ms;"
          f" its confirmations over time: {over * 1000:,.0f} ms")
    print(f"per-school table over all {len(district_ids)} district notices: {table * 1000:,.0f} ms")
    with tempfile.TemporaryDirectory() as folder:
        week, seconds = catch_up(url, args.families, Path(folder))
    print(f"catch-up after a week offline: {week:,} events (and {args.families:,} families) over HTTP"
          f" in {seconds:.1f} s")
    print(f"database {size / 2**30:.1f} GiB; peak memory of this process"
          f" {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB;"
          f" whole run {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()

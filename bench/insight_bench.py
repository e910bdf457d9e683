"""Reading-time insight at district size: 50,000 families, 8 weeks of notices and their receipts.

Usage: .venv/bin/python -m bench.insight_bench [--families 50000] [--weeks 8] [--folder DIR]

Builds the node as bench/district_bench.py does (roster import, notices, events through
ledger.record), then times the whole-node report (server.insight.report: per-class figures,
channels, the weekday × hour grid), the roll-ups one level down, a class with its families,
and the web page and PDF, beside their floor: one bare SQLite pass over the same period's
receipt_status rows.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
from pathlib import Path

from bench.dashboard_bench import signed_in, timed
from bench.district_bench import add_notices, build_roster, events, ingest
from server import clock, insight, roster, settings, users
from server import db as database
from server.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=50_000)
    parser.add_argument("--weeks", type=int, default=insight.WEEKS)
    parser.add_argument("--folder", type=Path, help="Keep the node here (default: a temp folder, removed after).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "insight.db"
        fresh = not path.exists()
        db = database.connect(path)
        if fresh:
            settings.initialize(db, school_id="DIST", timezone="Asia/Shanghai")
            roster.import_roster(db, build_roster(folder, args.families))
            wide, narrow = add_notices(db, args.weeks)
            total, seconds, _overall = ingest(db, events(db, wide + narrow, random.Random(9)))
            db.execute("ANALYZE")
            print(f"built: {args.families:,} families, {len(wide) + len(narrow)} notices, {total:,} events "
                  f"({total / seconds:,.0f} events/s)")
        start, end = insight.period(clock.now(), args.weeks)
        floor = "SELECT count(*), sum(confirmed_at IS NOT NULL) FROM receipt_status rs JOIN notices n ON n.id = " \
                "rs.notice_id WHERE n.publish_at > ? AND n.publish_at <= ?"
        rows = db.execute(floor, [start, end]).fetchone()
        median, worst = timed(lambda: db.execute(floor, [start, end]).fetchone(), repeat=5)
        print(f"floor, one bare pass over the period's {rows[0]:,} status rows: median {median:.0f} ms, worst {worst:.0f} ms")
        classes = insight.all_classes(db)
        grade = insight.grade_of(classes[0])
        for label, work in (
                ("whole-node report (classes, channels, grid)", lambda: insight.report(db)),
                ("  of which the one pass (scan)", lambda: insight.scan(db, None, start=start, end=end)),
                ("roll-up: node -> grades", lambda: insight.rollup(db, "school")),
                (f"a grade ({grade}) report + its classes", lambda: (insight.report(db, insight.grade_classes(db, grade)),
                                                                    insight.rollup(db, "grade", grade))),
                (f"a class ({classes[0]}) report + its families", lambda: (insight.report(db, [classes[0]]),
                                                                         insight.rollup(db, "class", classes[0])))):
            median, worst = timed(work, repeat=3)
            print(f"{label:<46}: median {median:,.0f} ms, worst {worst:,.0f} ms")
        if not db.execute("SELECT 1 FROM users WHERE username = 'office'").fetchone():
            users.add_user(db, "office", "office-pass", "office")
        db.close()
        client = signed_in(create_app({"DATABASE": str(path)}), "office", "office-pass")
        for url in ("/insight", "/insight.pdf", "/insight.xlsx", f"/insight/grade/{grade}", f"/insight/class/{classes[0]}"):
            median, worst = timed(lambda url=url: client.get(url), repeat=3)
            print(f"page {url:<42}: median {median:,.0f} ms, worst {worst:,.0f} ms")
        print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()

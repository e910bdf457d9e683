"""Benchmark: print a week's bulletins for a large school.

Usage: .venv/bin/python bench/print_bench.py [--families 2000] [--notices 5]
Prints pages per second (one process, so one core), peak memory (RSS) and PDF bytes per page.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import tempfile
import time
from pathlib import Path

from print.bulletin import print_bulletins
from server import clock, notices, roster, settings
from server import db as database
from server.demo import NOTICES, roster_rows


def build_school(folder: Path, families: int, notice_count: int) -> Path:
    path = folder / "bench.db"
    db = database.connect(path)
    settings.initialize(db, school_id="BENCH", timezone="UTC")
    rows = roster_rows(random.Random(1), families)
    csv_path = folder / "roster.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    roster.import_roster(db, csv_path)
    for spec in (NOTICES * 2)[:notice_count]:
        spec = {k: v for k, v in spec.items() if k != "due_offset"}
        notices.add_notice(db, **{**spec, "private": False})
    db.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=2000)
    parser.add_argument("--notices", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = database.connect(build_school(folder, args.families, args.notices))
        week = clock.iso_week(clock.now(), settings.zone(db))
        start = time.perf_counter()
        summary = print_bulletins(db, week, out=folder / "bulletins.pdf")
        seconds = time.perf_counter() - start
        size = summary.out.stat().st_size
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"families            {summary.families}")
    print(f"pages               {summary.pages}")
    print(f"seconds             {seconds:.1f}")
    print(f"pages per second    {summary.pages / seconds:.0f}")
    print(f"peak RSS            {peak_mb:.0f} MB")
    print(f"PDF size            {size / 1e6:.1f} MB, {size / summary.pages / 1024:.1f} KB per page")


if __name__ == "__main__":
    main()

"""False marks under folds, stains and shadows: the demo week printed, marked, folded, stained, scanned.

Usage: .venv/bin/python -m bench.marks_bench [--profiles office,phone,fax] [--copies 2] [--classes 3A,4A]

Every slip is marked at random (pen ticks and crosses, filled squares, pencil from 2H to 2B,
ticks over the border; fax: pen only), then meets one thing from home (none, a fold at the
page centre, a fold through a column of boxes, a coffee ring, a hand's shadow) and a
scanner profile. Per profile and artifact it prints, for the boxes the scanner judged:

- false marks: empty boxes read as filled, per 10,000 empty boxes, and how many of those
  reached the ledger (must be 0: the others went to review, where a person decides);
- slips recorded with any wrong box (must be 0: the ledger got something that did not happen);
- missed marks (filled read as empty) and unclear boxes, and slips sent to review.

A false mark in a slip that went to review is counted but harmless (a person decides).
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.scan_corpus import (
    ARTIFACTS,
    EVERY_STYLE,
    PROFILES,
    flat_states,
    fold_and_stain,
    mark_slip,
    rasterise,
    slips_by_page,
)
from print.bulletin import print_bulletins
from print.layout import CURRENT
from print.scan import Scanner
from print.scan_input import Page
from server import clock, demo, settings
from server import db as database

DPI = 200


def prepare(folder: Path, classes: list[str] | None) -> tuple[Path, list[np.ndarray], dict[int, dict]]:
    path = folder / "school.db"
    demo.build(path)
    db = database.connect(path)
    week = clock.iso_week(clock.now(), settings.zone(db))
    pdf = print_bulletins(db, week, out=folder / "week.pdf", classes=classes).out
    by_page = slips_by_page(db, pdf)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path, list(rasterise(pdf, DPI)), by_page


def run(school: Path, pages: list[np.ndarray], by_page: dict[int, dict], profile: str, artifact: str,
        seed: int) -> dict:
    copy = school.with_name(f"{profile}-{artifact}-{seed}.db")
    shutil.copy(school, copy)
    db = database.connect(copy)
    scanner = Scanner(db, clock.uuid7())
    db.table("scan_batches").insert({"id": scanner.batch_id, "origin": "bench", "started_at": clock.now_iso()})
    r, n = random.Random(seed), np.random.default_rng(seed)
    styles = tuple(s for s in EVERY_STYLE if "pencil" not in s) if profile == "fax" else EVERY_STYLE
    t = dict(slips=0, empty=0, filled=0, false=0, missed=0, unclear=0, review=0, recorded_wrong=0, recorded_false=0,
             seconds=0.0)
    for index, record in by_page.items():
        image = pages[index].copy()
        truth = mark_slip(image, DPI, CURRENT, record["notices"], r, styles=styles)
        fold_and_stain(image, DPI, CURRENT, artifact, r)
        image = PROFILES[profile](image, r, n)
        start = time.perf_counter()
        outcomes = scanner.scan_page(Page("bench", index + 1, image))
        t["seconds"] += time.perf_counter() - start
        outcome = next((o for o in outcomes if o.slip_serial == record["id"]), outcomes[0])
        t["slips"] += 1
        t["review"] += outcome.outcome == "review"
        if not outcome.marks:
            continue
        expected, got = flat_states(truth.states()), flat_states(outcome.marks)
        for want, read in zip(expected, got, strict=True):
            t["empty" if want == "empty" else "filled"] += 1
            t["false"] += want == "empty" and read == "filled"
            t["missed"] += want == "filled" and read == "empty"
            t["unclear"] += read == "unclear"
        t["recorded_wrong"] += outcome.outcome == "recorded" and expected != got
        t["recorded_false"] += outcome.outcome == "recorded" and any(
            want == "empty" and read == "filled" for want, read in zip(expected, got, strict=True))
    db.close()
    return t


def report(profile: str, artifact: str, t: dict) -> None:
    empty, filled = max(t["empty"], 1), max(t["filled"], 1)
    print(f"{profile:<7} {artifact:<12} slips {t['slips']:>4}  boxes {t['empty'] + t['filled']:>5}  "
          f"false marks {10_000 * t['false'] / empty:6.1f} per 10k empty (recorded {t['recorded_false']})  "
          f"recorded with a wrong box {t['recorded_wrong']}"
          f"  missed {100 * t['missed'] / filled:5.1f}%  unclear {100 * t['unclear'] / (empty + filled):5.1f}%  "
          f"review {100 * t['review'] / max(t['slips'], 1):5.1f}%  {1000 * t['seconds'] / max(t['slips'], 1):5.0f} ms/slip")


def main() -> None:
    parser = argparse.ArgumentParser(description="False marks under folds, stains and shadows.")
    parser.add_argument("--profiles", default="office,phone,fax")
    parser.add_argument("--artifacts", default=",".join(ARTIFACTS))
    parser.add_argument("--copies", type=int, default=1, help="runs per profile and artifact, each with new marks")
    parser.add_argument("--classes", default="", help="only these classes (comma-separated); default the whole week")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        school, pages, by_page = prepare(Path(tmp), [c for c in args.classes.split(",") if c] or None)
        totals: dict[str, int] = {"false": 0, "empty": 0, "recorded_false": 0, "recorded_wrong": 0}
        for profile in args.profiles.split(","):
            for artifact in args.artifacts.split(","):
                t: dict = {}
                for copy in range(args.copies):
                    one = run(school, pages, by_page, profile, artifact, args.seed + 1000 * copy)
                    t = {k: t.get(k, 0) + v for k, v in one.items()}
                report(profile, artifact, t)
                for key in totals:
                    totals[key] += t[key]
        print(f"all: {totals['false']} false marks in {totals['empty']} empty boxes "
              f"({10_000 * totals['false'] / max(totals['empty'], 1):.1f} per 10,000), "
              f"{totals['recorded_false']} of them recorded; "
              f"{totals['recorded_wrong']} slips recorded with a wrong box")


if __name__ == "__main__":
    main()

"""Benchmark and accuracy of scanning: the demo school's week, printed, marked and degraded.

Usage: .venv/bin/python -m bench.scan_bench [--profiles office,fax,phone,hostile] [--copies 2]

Per profile: share of slips identified, share of boxes read right, share sent to review,
wrong families and wrong marks recorded, pages per second, and pyzbar-alone decoding on the
same pages for comparison. Each profile scans into its own copy of the database.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

from bench.scan_corpus import flat_states, samples, slips_by_page
from print import qr_decode
from print.bulletin import print_bulletins
from print.layout import CURRENT
from print.scan import Scanner
from print.scan_input import Page
from server import clock, demo, settings
from server import db as database


def prepare(folder: Path, copies: int) -> tuple[Path, Path]:
    """The demo school with ``copies`` printed batches of its week (so more slips to scan)."""
    path = folder / "school.db"
    demo.build(path)
    db = database.connect(path)
    week = clock.iso_week(clock.now(), settings.zone(db))
    pdfs = [print_bulletins(db, week, out=folder / f"batch{i}.pdf").out for i in range(copies)]
    db.close()
    return path, pdfs


def evaluate(db_path: Path, pdfs: list[Path], profile: str, seed: int) -> dict:
    db = database.connect(db_path)
    scanner = Scanner(db, clock.uuid7())
    db["scan_batches"].insert({"id": scanner.batch_id, "origin": "bench", "started_at": clock.now_iso()})
    totals = dict(pages=0, slips=0, identified=0, boxes=0, boxes_right=0, review=0, wrong_family=0, wrong_marks=0,
                  seconds=0.0, pyzbar=0, pyzbar_seconds=0.0)
    for pdf_index, pdf in enumerate(pdfs):
        by_page = slips_by_page(db, pdf)
        scribbles = 0.03 if profile == "hostile" else 0.0  # scribbled-out boxes must go to review
        for index, sample in enumerate(samples(pdf, by_page, CURRENT, profile, seed=seed + pdf_index,
                                               scribbles=scribbles)):
            totals["pages"] += 1
            start = time.perf_counter()
            outcomes = scanner.scan_page(Page(f"{pdf.name}", index + 1, sample.image))
            totals["seconds"] += time.perf_counter() - start
            start = time.perf_counter()
            zbar = qr_decode.DECODERS["pyzbar"](sample.image)
            totals["pyzbar_seconds"] += time.perf_counter() - start
            if sample.truth is None:
                continue
            totals["slips"] += 1
            totals["pyzbar"] += bool(zbar)
            _score(totals, sample.truth, outcomes)
    db.close()
    return totals


def _score(totals: dict, truth, outcomes) -> None:
    outcome = next((o for o in outcomes if o.slip_serial == truth.serial or o.family_code == truth.family_code),
                   outcomes[0])
    totals["identified"] += outcome.family_code == truth.family_code
    totals["review"] += outcome.outcome == "review"
    if outcome.outcome in ("recorded", "duplicate") and outcome.family_code != truth.family_code:
        totals["wrong_family"] += 1
    expected, got = flat_states(truth.states()), flat_states(outcome.marks) if outcome.marks else None
    totals["boxes"] += len(expected)
    if got:
        totals["boxes_right"] += sum(e == g for e, g in zip(expected, got, strict=False))
        if outcome.outcome in ("recorded", "duplicate") and any(e != g for e, g in zip(expected, got, strict=False)):
            totals["wrong_marks"] += 1


def report(profile: str, t: dict) -> None:
    slips = max(t["slips"], 1)
    print(f"{profile:<8} pages {t['pages']:>4}  slips {t['slips']:>4}  identified {100 * t['identified'] / slips:6.2f}%  "
          f"boxes right {100 * t['boxes_right'] / max(t['boxes'], 1):6.2f}%  review {100 * t['review'] / slips:5.1f}%  "
          f"wrong family {t['wrong_family']}  wrong marks {t['wrong_marks']}  "
          f"{t['pages'] / t['seconds']:5.1f} pages/s  | pyzbar alone: {100 * t['pyzbar'] / slips:6.2f}% decoded, "
          f"{t['pages'] / t['pyzbar_seconds']:5.1f} pages/s")


def main() -> None:
    parser = argparse.ArgumentParser(description="Scan accuracy and speed per degradation profile.")
    parser.add_argument("--profiles", default="office,fax,phone,hostile")
    parser.add_argument("--copies", type=int, default=2, help="printed batches of the demo week (93 pages each)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        school, pdfs = prepare(folder, args.copies)
        for profile in args.profiles.split(","):
            copy = folder / f"{profile}.db"
            shutil.copy(school, copy)
            report(profile, evaluate(copy, pdfs, profile, args.seed))
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()

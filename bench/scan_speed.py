"""Scanning speed from files, beside its floor: zxing-cpp alone loading and decoding the same files.

Usage: .venv/bin/python -m bench.scan_speed [--dpi 200,300] [--profiles office,phone] [--classes 3A,4A]

The demo week is printed, marked, degraded as the profile says and written as files (PNG from
the office scanner, JPEG from a phone). Then, per resolution and profile, in the same run:

- floor: ``cv2.imread`` + ``zxingcpp.read_barcodes`` on every file (what no scanner can beat);
- PaperBridge: ``scan_paths`` on the folder (load, find the QR, align, read every box, keep
  the evidence, write the ledger), into its own copy of the database.

Both are given in pages per CPU-second (process time, one core) and the scanner's share of the
floor; the target is at least a quarter. It also prints what the scan recorded, so a faster
scanner that reads less is seen at once.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import zxingcpp

from bench.scan_corpus import PROFILES, mark_slip, rasterise, slips_by_page
from print.bulletin import print_bulletins
from print.layout import CURRENT
from print.scan import scan_paths
from server import clock, demo, settings
from server import db as database

SUFFIX = {"office": ".png", "phone": ".jpg", "fax": ".png"}


def prepare(folder: Path, classes: list[str] | None) -> tuple[Path, Path]:
    path = folder / "school.db"
    demo.build(path)
    db = database.connect(path)
    week = clock.iso_week(clock.now(), settings.zone(db))
    pdf = print_bulletins(db, week, out=folder / "week.pdf", classes=classes).out
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path, pdf


def write_pages(school: Path, pdf: Path, dpi: int, profile: str, out: Path, seed: int = 5) -> int:
    """The week's pages, marked and degraded, as files in ``out``; returns how many."""
    db = database.connect(school)
    by_page = slips_by_page(db, pdf)
    db.close()
    r, n = random.Random(seed), np.random.default_rng(seed)
    out.mkdir()
    count = 0
    for index, page in enumerate(rasterise(pdf, dpi)):
        if index in by_page:
            mark_slip(page, dpi, CURRENT, by_page[index]["notices"], r)
        cv2.imwrite(str(out / f"page-{index:04d}{SUFFIX[profile]}"), PROFILES[profile](page, r, n))
        count += 1
    return count


def floor(folder: Path) -> tuple[float, int]:
    """CPU seconds for zxing-cpp alone to load and decode every file, and how many it decoded."""
    start, decoded = time.process_time(), 0
    for path in sorted(folder.iterdir()):
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        decoded += bool(zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode))
    return time.process_time() - start, decoded


def scanner(school: Path, folder: Path) -> tuple[float, dict]:
    copy = folder.with_suffix(".db")
    shutil.copy(school, copy)
    db = database.connect(copy)
    start = time.process_time()
    summary = scan_paths(db, [folder], origin="bench").summary()
    seconds = time.process_time() - start
    db.close()
    return seconds, summary


def main() -> None:
    parser = argparse.ArgumentParser(description="Scanning speed from files, beside zxing-cpp alone.")
    parser.add_argument("--dpi", default="200,300")
    parser.add_argument("--profiles", default="office,phone")
    parser.add_argument("--classes", default="", help="only these classes (comma-separated); default the whole week")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        school, pdf = prepare(Path(tmp), [c for c in args.classes.split(",") if c] or None)
        for dpi in (int(d) for d in args.dpi.split(",")):
            for profile in args.profiles.split(","):
                folder = Path(tmp) / f"{profile}-{dpi}"
                pages = write_pages(school, pdf, dpi, profile, folder)
                zx_seconds, decoded = floor(folder)
                pb_seconds, summary = scanner(school, folder)
                zx_rate, pb_rate = pages / zx_seconds, pages / pb_seconds
                print(f"{dpi} dpi {profile:<7} pages {pages:>4}  zxing-cpp alone {zx_rate:6.1f} pages/CPU-s "
                      f"({decoded} decoded)  PaperBridge {pb_rate:6.1f} pages/CPU-s = {pb_rate / zx_rate:5.2f} of the "
                      f"floor  (slips {summary['slips']}, receipts {summary['recorded']}, review {summary['review']}, "
                      f"errors {summary['errors']})")


if __name__ == "__main__":
    main()

"""Peak memory and speed of `paperbridge scan` on one large PDF (pages are streamed).

Usage: .venv/bin/python -m bench.scan_memory [--families 500]
Prints the pages, the wall time, pages per second and the scan process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.print_bench import build_school
from print.bulletin import print_bulletins
from server import clock, settings
from server import db as database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = build_school(folder, args.families, 5)
        db = database.connect(path)
        pdf = print_bulletins(db, clock.iso_week(clock.now(), settings.zone(db)), out=folder / "big.pdf").out
        db.close()
        command = [str(Path(sys.executable).parent / "paperbridge"), "--db", str(path), "scan", str(pdf), "--json"]
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, env={**os.environ}, check=True)
        seconds = time.perf_counter() - start
    summary = json.loads(result.stdout)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"pages {summary['pages']}, slips {summary['slips']}, recorded {summary['recorded']}, "
          f"review {summary['review']}, errors {summary['errors']}")
    print(f"{seconds:.1f} s, {summary['pages'] / seconds:.1f} pages/s (one process, 200 dpi), peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()

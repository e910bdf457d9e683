"""Watching a folder that a network scanner drops files into.

A file is taken once its size has stopped changing; after scanning it moves to
``processed/`` (or ``failed/`` when no page could be read), so nothing is scanned twice
and nothing is lost.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from sqlite_utils import Database

from print import scan_input
from print.scan import scan_paths


def _ready(folder: Path, sizes: dict[Path, int]) -> list[Path]:
    """Files whose size is the same as at the last look (the scanner has finished writing)."""
    ready, seen = [], {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in scan_input.IMAGE_SUFFIXES and not path.name.startswith("."):
            size = path.stat().st_size
            seen[path] = size
            if sizes.get(path) == size:
                ready.append(path)
    sizes.clear()
    sizes.update(seen)
    return ready


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    stem, n = path.stem, 1
    while target.exists():
        target = folder / f"{stem}-{n}{path.suffix}"
        n += 1
    shutil.move(str(path), target)
    return target


def run(db: Database, folder: Path, *, interval: float = 3.0, echo: Callable[[str], None] = print,
        stop: Callable[[], bool] = lambda: False) -> None:
    """Scan new files until interrupted (Ctrl+C) or ``stop()`` says so."""
    folder.mkdir(parents=True, exist_ok=True)
    echo(f"Watching {folder} for scans (Ctrl+C to stop) ...")
    sizes: dict[Path, int] = {}
    try:
        while not stop():
            for path in _ready(folder, sizes):
                report = scan_paths(db, [path], origin="watch")
                summary = report.summary()
                failed = summary["errors"] and not summary["slips"]
                moved = _move(path, folder / ("failed" if failed else "processed"))
                echo(f"{path.name}: {summary['slips']} slips, {summary['recorded']} recorded, "
                     f"{summary['duplicates']} known, {summary['review']} to review -> {moved.parent.name}/")
            time.sleep(interval)
    except KeyboardInterrupt:
        echo("Stopped.")

"""Watching a folder that a network scanner drops files into.

A file is taken once its size has stopped changing; after scanning it moves to
``processed/`` (or ``failed/`` when no page could be read), so nothing is scanned twice
and nothing is lost.
"""

from __future__ import annotations

import shutil
import signal
import threading
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
        stop: threading.Event | None = None) -> None:
    """Scan new files until ``stop`` is set; a file being scanned is finished first."""
    stop = stop or threading.Event()
    folder.mkdir(parents=True, exist_ok=True)
    echo(f"Watching {folder} for scans (Ctrl+C to stop) ...")
    sizes: dict[Path, int] = {}
    while not stop.is_set():
        for path in _ready(folder, sizes):
            report = scan_paths(db, [path], origin="watch")
            summary = report.summary()
            failed = summary["errors"] and not summary["slips"]
            moved = _move(path, folder / ("failed" if failed else "processed"))
            echo(f"{path.name}: {summary['slips']} slips, {summary['recorded']} recorded, "
                 f"{summary['duplicates']} known, {summary['review']} to review -> {moved.parent.name}/")
        stop.wait(interval)
    echo("Stopped.")


def stop_on_signals() -> threading.Event:
    """An event that Ctrl+C (SIGINT) or a service manager's SIGTERM sets.

    Installed explicitly: a process started in the background inherits SIGINT as ignored,
    and systemd stops services with SIGTERM.
    """
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda _number, _frame: stop.set())
    return stop

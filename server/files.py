"""Writing a file all or nothing: into a temp file beside it, then one rename."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def temp_beside(target: Path, *, clear_stale: bool = False) -> Iterator[Path]:
    """A temp file in ``target``'s folder for the caller to fill and ``os.replace`` onto ``target``.

    Whatever happens, no temp file is left behind. ``clear_stale`` first removes temp files
    that a killed earlier run left for the same target (for files one writer makes at a time).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    if clear_stale:
        for stale in target.parent.glob(f".{target.name}.*.tmp"):
            stale.unlink(missing_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


STALE_SECONDS = 600  # a temp file nobody wrote to for this long was left by a killed run


def clear_stale_temps(folder: Path, suffix: str = ".db", older_than: float = STALE_SECONDS) -> list[Path]:
    """Remove the temp files killed runs left in ``folder`` for any target ending in ``suffix``
    (another target's backup, made last week under another name), not touched for
    ``older_than`` seconds: a copy still being written is touched at every step."""
    cleared = []
    for stale in folder.glob(f".*{suffix}.*.tmp"):
        try:
            if time.time() - stale.stat().st_mtime > older_than:
                stale.unlink()
                cleared.append(stale)
        except FileNotFoundError:
            continue
    return cleared


def store_by_hash(folder: Path, data: bytes, suffix: str) -> str:
    """Write ``data`` once into ``folder`` under its content hash (temp file, then rename); the
    same bytes again write nothing. Returns the file name ('<32 hex>.<suffix>')."""
    name = f"{hashlib.sha256(data).hexdigest()[:32]}.{suffix}"
    target = folder / name
    if not target.exists():
        write_whole(target, data)
    return name


def write_whole(target: Path, data: bytes) -> None:
    """Write a file whole or not at all: a temp file beside it, then a rename."""
    with temp_beside(target) as tmp:
        tmp.write_bytes(data)
        os.replace(tmp, target)

"""Writing a file all or nothing: into a temp file beside it, then one rename."""

from __future__ import annotations

import os
import tempfile
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

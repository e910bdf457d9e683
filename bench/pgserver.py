"""A throwaway PostgreSQL server: Debian's `postgresql` binaries, initdb into a temp folder, run
as an unprivileged user (`postgres` when this runs as root: PostgreSQL refuses root), on
loopback at a free port, stopped and removed afterwards. Used by the district tests and
bench/district_rollup.py."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def binaries() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: ./run.sh test installs Debian's postgresql package")
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def temporary_postgres(*settings: str) -> Iterator[str]:
    """The server's base URL (user paperbridge, trust on loopback); ``settings`` are extra
    ``name=value`` server settings."""
    pg = binaries()
    base = Path(tempfile.mkdtemp(prefix="paperbridge-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", _free_port()
    options = " ".join(f"-c {s}" for s in ("listen_addresses=127.0.0.1", *settings))
    subprocess.run([*as_user, str(pg / "initdb"), "-D", str(data), "-U", "paperbridge", "--auth=trust",
                    "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], check=True, capture_output=True)
    subprocess.run([*as_user, str(pg / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "start", "-o",
                    f"-p {port} -k {base} {options}"], check=True, capture_output=True)
    try:
        yield f"postgresql://paperbridge@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_user, str(pg / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)

"""Opening the district's PostgreSQL database, with one plain sentence when it cannot be reached."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import psycopg

ENV_VAR = "PAPERBRIDGE_DISTRICT_DB"
# Every district connection: no JIT. The district's queries read one school's partition or one
# notice's rows by index, but their cost estimates over hundreds of partitions pass the JIT
# thresholds: most of a 6.6 s notice page was compiling (bench/district_rollup.py --schools 100 --weeks 2).
SESSION: dict[str, Any] = {"application_name": "paperbridge-district", "options": "-c jit=off"}


class Unreachable(Exception):
    """The district database cannot be reached or refused the connection."""


def url_from(value: str | None) -> str:
    url = value or os.environ.get(ENV_VAR, "")
    if not url:
        raise ValueError(f"No district database given: use --database postgresql://... or set ${ENV_VAR}.")
    if urlsplit(url).scheme not in ("postgresql", "postgres"):
        raise ValueError(f"{_where(url)} is not a PostgreSQL address (postgresql://user@host:port/database).")
    return url


def connect(url: str) -> psycopg.Connection:
    """An autocommit connection (each change says where its transaction is)."""
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10, **SESSION)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise Unreachable(f"Cannot reach the district database at {_where(url)}: {reason}") from None


def _where(url: str) -> str:
    """host:port/database without the password."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return f"{host}:{parts.port or 5432}{parts.path or ''}" if parts.scheme else url


def returned(cursor: psycopg.Cursor):
    """The one value a statement gave back (INSERT ... RETURNING, a row that must be there)."""
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("the database returned no row where one was expected")
    return row[0]

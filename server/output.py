"""Printing data for people (aligned tables, CJK-aware) and for programs (JSON, CSV)."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Sequence

from server.exports import spreadsheet_cell

FORMATS = ("table", "csv", "json")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(rows: Sequence[dict], columns: Sequence[str]) -> str:
    cells = [[str(row.get(c, "") if row.get(c) is not None else "") for c in columns] for row in rows]
    widths = [max([_width(c)] + [_width(r[i]) for r in cells]) for i, c in enumerate(columns)]
    def line(values: Sequence[str]) -> str:
        return "  ".join(v + " " * (w - _width(v)) for v, w in zip(values, widths, strict=False)).rstrip()
    return "\n".join([line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells])


def to_csv(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """CSV for programs and for Excel alike: cells made safe the same way as the web's downloads."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: spreadsheet_cell(row.get(c)) for c in columns})
    return buffer.getvalue()


def to_json(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)

"""Printing a week's bulletins (and recording that they were handed out).

Example::

    summary = print_bulletins(db, "2026-W48", out=Path("w48.pdf"), classes=["3A"])
    mark_sent(db, "2026-W48")
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from print import batch as batches
from print.layout import CURRENT, LAYOUTS, SlipLayout
from print.render import Options, render, student_list
from print.slip import SlipContent
from server import clock, concerns, ledger, notices, settings, tokens
from server.db import last_id
from server.errors import PaperBridgeError
from server.files import temp_beside
from server.transaction import write_transaction


@dataclass
class Summary:
    out: Path
    week: str
    families: int
    pages: int
    slips: int
    without_notices: int
    private_only: int


def print_bulletins(db: Database, week: str, *, out: Path, classes: list[str] | None = None,
                    family_code: str | None = None, paper: str = "a4", large_print: bool = False,
                    progress=None, cutoff: str | None = None) -> Summary:
    """Plan, allocate slip serials, render to a temp file and move it into place, all or nothing.

    The write lock is held only while serials are allocated, not while pages render; if
    rendering fails, the allocated slips are removed again and no file appears.
    """
    if paper not in ("a4", "letter"):
        raise ValueError("paper must be a4 or letter")
    batch = batches.plan(db, week, classes=classes, family_code=family_code, cutoff=cutoff)
    options = Options(school_name=settings.get(db, "school_name"), phone_line=settings.get(db, "phone_line"),
                      staff_language=settings.get(db, "default_language"), paper=paper, large_print=large_print)
    out = Path(out)
    run = clock.uuid7()
    with temp_beside(out) as tmp:
        try:
            with write_transaction(db):
                slips = _allocate_slips(db, batch, CURRENT, run)
            pages = render(batch, slips, str(tmp), options, CURRENT, progress)
            os.replace(tmp, out)
            for concern in (a for s in batch.sections for a in s.answers):
                concerns.mark_told(db, concern["id"], f"bulletin:{batch.week}")
        except BaseException:
            db.execute("DELETE FROM slips WHERE batch = ?", [run])
            raise
    return Summary(out=out, week=batch.week, families=len(batch.sections), pages=pages,
                   slips=sum(len(s) for s in slips.values()), without_notices=len(batch.without_notices),
                   private_only=sum(1 for s in batch.sections if not s.notices))


def _allocate_slips(db: Database, batch: batches.Batch, layout: SlipLayout, run: str) -> dict[int, list[SlipContent]]:
    """One slip per family (more if the week has more notices than a slip has rows)."""
    school, key_id = settings.get(db, "school_id"), settings.current_key_id(db)
    secret = settings.slip_keys(db)[key_id]
    slips: dict[int, list[SlipContent]] = {}
    for section in batch.sections:
        family = section.family
        students = student_list(section.students, family["language"])
        for start in range(0, len(section.notices), layout.max_rows):
            rows = section.notices[start:start + layout.max_rows]
            serial = last_id(db.table("slips").insert({
                "family_id": family["id"], "week": batch.week, "layout": layout.version,
                "notice_ids": json.dumps([n["id"] for n in rows]), "batch": run, "printed_at": clock.now_iso(),
            }))
            text = tokens.sign_slip(tokens.SlipId(school, batch.week, family["code"], serial, layout.version,
                                                  key_id), secret)
            slips.setdefault(family["id"], []).append(SlipContent(
                qr_text=text, serial=serial, family_code=family["code"], family_name=family["display_name"],
                students=students, language=family["language"], notices=rows))
    return slips


def slip_record(db: Database, serial: int) -> dict | None:
    """A printed slip with its family and notices, for the scanner."""
    rows = list(db.query("SELECT * FROM slips WHERE id = ?", [serial]))
    if not rows:
        return None
    slip = rows[0]
    slip["notice_ids"] = json.loads(slip["notice_ids"])
    slip["layout"] = LAYOUTS[slip["layout"]]
    slip["notices"] = [notices.get_notice(db, nid) for nid in slip["notice_ids"]]
    return slip


def mark_sent(db: Database, week: str, classes: list[str] | None = None, *, actor: str = "office") -> ledger.RecordResult:
    """Record `delivered` (paper) for every family and notice on the week's printed slips."""
    year, number = clock.parse_week(week)
    week = f"{year}-W{number:02d}"
    rows = list(db.query("SELECT family_id, notice_ids FROM slips WHERE week = ?", [week]))
    if not rows:
        raise PaperBridgeError(f"No bulletins have been printed for {week} yet.")
    if classes:
        allowed = {r[0] for r in db.execute(
            f"SELECT family_id FROM students WHERE active = 1 AND class_id IN ({','.join('?' * len(classes))})",
            classes).fetchall()}
        rows = [r for r in rows if r["family_id"] in allowed]
    events = [ledger.new_event(nid, r["family_id"], "paper", "delivered", source=f"bulletin:{week}",
                               actor=actor, dedupe_key=f"paper-sent:{week}:{r['family_id']}:{nid}")
              for r in rows for nid in json.loads(r["notice_ids"])]
    return ledger.record(db, events)


def printed_weeks(db: Database, limit: int = 8) -> list[dict]:
    """The latest weeks printed: families with a slip, families recorded as handed out, last print."""
    return list(db.query(
        "SELECT s.week, count(DISTINCT s.family_id) AS families, max(s.printed_at) AS printed_at,"
        " (SELECT count(DISTINCT e.family_id) FROM events e WHERE e.channel = 'paper' AND e.kind = 'delivered'"
        "  AND e.source = 'bulletin:' || s.week) AS handed_out"
        " FROM slips s GROUP BY s.week ORDER BY s.week DESC LIMIT ?", [limit]))

"""Scanning returned slips into the ledger, or into the review queue — never a guess.

Example::

    report = scan_paths(db, [Path("scans/2026-11-24.pdf")])
    report.summary()   # {'pages': 31, 'slips': 30, 'recorded': 74, 'duplicates': 0, 'review': 1, 'errors': 0}
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
from sqlite_utils import Database

from print import bulletin, evidence, qr_decode, review, scan_input, slip_reader
from print.layout import LAYOUTS
from server import clock, concerns, ledger, settings, tokens
from server.errors import BadSignature
from server.transaction import write_transaction

log = logging.getLogger("paperbridge.scan")
MAX_SLIP_AGE_WEEKS = 8
MAX_ALIGNMENT_ERROR_MM = 1.5


@dataclass
class Outcome:
    """What happened to one slip (or one page without a slip)."""

    file: str
    page: int
    outcome: str  # recorded | duplicate | review | no_slip | error
    reason: str = ""
    family_code: str | None = None
    slip_serial: int | None = None
    marks: dict = field(default_factory=dict)
    recorded: int = 0
    duplicates: int = 0
    family_id: int | None = None
    evidence: str | None = None

    def as_dict(self) -> dict:
        data = asdict(self)
        data.pop("family_id")
        return data


@dataclass
class BatchReport:
    batch_id: str
    outcomes: list[Outcome] = field(default_factory=list)
    pages: int = 0

    def summary(self) -> dict:
        slips = [o for o in self.outcomes if o.outcome in ("recorded", "duplicate", "review")]
        return {"batch": self.batch_id, "pages": self.pages, "slips": len(slips),
                "recorded": sum(o.recorded for o in self.outcomes),
                "duplicates": sum(o.duplicates for o in self.outcomes),
                "review": sum(o.outcome == "review" for o in self.outcomes),
                "errors": sum(o.outcome == "error" for o in self.outcomes)}


class Scanner:
    def __init__(self, db: Database, batch_id: str):
        self.db, self.batch_id = db, batch_id
        self.school = settings.get(db, "school_id")
        self.keys = settings.slip_keys(db)

    def scan_page(self, page: scan_input.Page) -> list[Outcome]:
        if page.error or page.image is None:
            return [Outcome(page.file, page.number, "error", page.error or "the page has no image")]
        gray = page.image
        if float(gray[::4, ::4].std()) < 4:  # every 16th pixel tells a blank page as well as all of them
            return [Outcome(page.file, page.number, "no_slip", "blank page")]
        codes = qr_decode.find_codes(gray)
        if not codes:
            if slip_reader.find_slip_outlines(gray, LAYOUTS[1]):
                return [self._review(page, "a slip is on this page but its QR code cannot be read")]
            return [Outcome(page.file, page.number, "no_slip", "no slip on this page")]
        return [self._slip(page, gray, code) for code in codes]

    def _slip(self, page: scan_input.Page, gray: np.ndarray, code: qr_decode.Found) -> Outcome:
        try:
            slip = tokens.verify_slip(code.text, self.keys, self.school)
        except BadSignature as exc:
            return self._review(page, f"the QR code is not a valid slip of this school: {exc}", qr_text=code.text)
        record = bulletin.slip_record(self.db, slip.serial)
        family = self.db.table("families").get(record["family_id"]) if record else None
        if record is None or family is None or family["code"] != slip.family_code or record["week"] != slip.week:
            return self._review(page, "the slip does not match any printed slip on record", qr_text=code.text)
        if _weeks_between(slip.week, clock.now()) > MAX_SLIP_AGE_WEEKS:
            return self._review(page, f"the slip is from {slip.week}, more than {MAX_SLIP_AGE_WEEKS} weeks ago",
                                qr_text=code.text, record=record)
        aligned = slip_reader.align(gray, code.corners, code.text, record["layout"])
        if aligned is None or aligned.error_mm > MAX_ALIGNMENT_ERROR_MM:
            return self._review(page, "the slip's corner markers cannot be found (torn, folded or cut off?)",
                                qr_text=code.text, record=record)
        marks = slip_reader.read_marks(aligned.slip, record["layout"],
                                       [len(n["reply_options"][:len(record["layout"].reply_x)]) for n in record["notices"]])
        crop = evidence.store(self.db, slip_reader.evidence_crop(aligned.slip), "webp")
        problem = _doubt(marks, record)
        if problem:
            return self._review(page, problem, qr_text=code.text, record=record, marks=marks, crop=crop)
        events, call_me = _events(record, marks, self._source(page), crop)
        conflict = _conflict(self.db, record["id"], events)
        if conflict:
            return self._review(page, conflict, qr_text=code.text, record=record, marks=marks, crop=crop)
        with write_transaction(self.db):
            result = ledger.record(self.db, events)
            if call_me:
                _follow_up(self.db, record, self._source(page))
        outcome = "recorded" if result.recorded else "duplicate"
        return Outcome(page.file, page.number, outcome, family_code=family["code"], slip_serial=record["id"],
                       marks=marks.states(), recorded=result.recorded, duplicates=result.duplicates,
                       family_id=family["id"], evidence=crop)

    def _source(self, page: scan_input.Page) -> str:
        return f"scan:{self.batch_id}:{Path(page.file).name}:p{page.number}"

    def _review(self, page: scan_input.Page, reason: str, *, qr_text: str | None = None, record: dict | None = None,
                marks: slip_reader.Marks | None = None, crop: str | None = None) -> Outcome:
        family_id = record["family_id"] if record else None
        review.add_item(self.db, batch_id=self.batch_id, page=page, reason=reason, qr_text=qr_text,
                        slip_serial=record["id"] if record else None, family_id=family_id,
                        marks=marks.states() if marks else {}, crop=crop)
        code = self.db.table("families").get(family_id)["code"] if family_id else None
        return Outcome(page.file, page.number, "review", reason, family_code=code,
                       slip_serial=record["id"] if record else None, marks=marks.states() if marks else {},
                       family_id=family_id, evidence=crop)


def _weeks_between(week: str, now: dt.datetime) -> int:
    year, number = clock.parse_week(week)
    monday = dt.date.fromisocalendar(year, number, 1)
    return (now.date() - monday).days // 7


def _doubt(marks: slip_reader.Marks, record: dict) -> str:
    """Why a person must look at these marks, or '' when they are clear."""
    for row, notice in zip(marks.rows, record["notices"], strict=False):
        boxes = [row["read"]] + row["replies"]
        if any(b.state == slip_reader.UNCLEAR for b in boxes):
            return f"a mark for notice {notice['id']} is unclear (faint, scribbled out or partly outside the box)"
        if sum(b.state == slip_reader.FILLED for b in row["replies"]) > 1:
            return f"more than one answer is ticked for notice {notice['id']}"
    if marks.call_me and marks.call_me.state == slip_reader.UNCLEAR:
        return "the 'please call me' box is unclear"
    return ""


def _events(record: dict, marks: slip_reader.Marks, source: str, crop: str | None):
    """Receipts from clear marks: every row read (the slip came back), ticks confirm, answers reply."""
    events = []
    payload = {"slip": record["id"], "evidence": crop}
    for row, notice in zip(marks.rows, record["notices"], strict=False):
        key = f"slip:{record['id']}:{notice['id']}"
        nid, fid = notice["id"], record["family_id"]
        events.append(ledger.new_event(nid, fid, "paper", "read", dedupe_key=f"{key}:read", source=source,
                                       actor="family", payload=payload))
        if row["read"].state == slip_reader.FILLED:
            events.append(ledger.new_event(nid, fid, "paper", "confirmed", dedupe_key=f"{key}:confirmed",
                                           source=source, actor="family", payload=payload))
        for option, box in zip(notice["reply_options"], row["replies"], strict=False):
            if box.state == slip_reader.FILLED:
                events.append(ledger.new_event(nid, fid, "paper", "reply", dedupe_key=f"{key}:reply", source=source,
                                               actor="family", payload={**payload, "choice": option["key"]}))
    call_me = bool(marks.call_me and marks.call_me.state == slip_reader.FILLED)
    return events, call_me


def _conflict(db: Database, serial: int, events: list[ledger.Event]) -> str:
    """A slip scanned before must read the same now (a photocopy with other marks is not believed)."""
    before = {r[0]: json.loads(r[1]).get("choice") for r in db.execute(
        "SELECT dedupe_key, payload FROM events WHERE dedupe_key LIKE ? AND kind != 'void'",
        [f"slip:{serial}:%"]).fetchall()}
    if not before:
        return ""
    now = {e.dedupe_key: e.payload.get("choice") for e in events}
    if before != now:
        return "this slip was scanned before with different marks (a copy, or marks added later)"
    return ""


def _follow_up(db: Database, record: dict, source: str) -> None:
    concerns.add(db, family_id=record["family_id"], notice_id=None, channel="paper", kind="call_back",
                 source=source, actor="family", key=f"slip:{record['id']}:call-me")


def scan_paths(db: Database, paths: Iterable[Path], *, origin: str = "cli",
               progress: Callable[[], None] | None = None) -> BatchReport:
    """Scan files and folders page by page; each slip is committed on its own, so a rerun after
    a crash records every receipt exactly once. ``progress()`` is called after each page."""
    close_interrupted(db)
    report = BatchReport(clock.uuid7())
    db.table("scan_batches").insert({"id": report.batch_id, "origin": origin, "started_at": clock.now_iso(),
                                     "pid": os.getpid()})
    scanner = Scanner(db, report.batch_id)
    for path in scan_input.expand(list(paths)):
        for page in scan_input.pages(path):
            report.pages += 1
            for outcome in _safely(scanner, page):
                report.outcomes.append(outcome)
                _log_outcome(db, report.batch_id, outcome)
            _count(db, report, finished=False)  # a killed run leaves its batch counted up to here
            if progress:
                progress()
    summary = _count(db, report, finished=True)
    log.info("scan batch %s (%s): %s pages, %s slips, %s receipts recorded, %s already known, %s to review, "
             "%s errors", report.batch_id, origin, summary["pages"], summary["slips"], summary["recorded"],
             summary["duplicates"], summary["review"], summary["errors"])
    return report


def _count(db: Database, report: BatchReport, *, finished: bool) -> dict:
    summary = report.summary()
    values = {k: v for k, v in summary.items() if k != "batch"}
    if finished:
        values["finished_at"] = clock.now_iso()
    db.table("scan_batches").update(report.batch_id, values)
    return summary


def close_interrupted(db: Database) -> int:
    """End the batches of scan runs that were killed (their process is gone): marked interrupted,
    with what they counted so far. Every slip they committed stays; scanning the same files
    again records the rest, exactly once."""
    open_batches = db.execute("SELECT id, pid, started_at FROM scan_batches WHERE finished_at IS NULL").fetchall()
    gone = [batch_id for batch_id, pid, started in open_batches if not _running(pid, started)]
    if not gone:
        return 0
    with write_transaction(db):
        db.conn.executemany("UPDATE scan_batches SET finished_at = ?, interrupted = 1 WHERE id = ?",
                            [(clock.now_iso(), batch_id) for batch_id in gone])
    for batch_id in gone:
        log.warning("scan batch %s was interrupted (its process ended before the last page); marked so", batch_id)
    return len(gone)


def _running(pid: int | None, started_at: str) -> bool:
    if not pid:
        return False
    if os.name != "posix":  # Windows has no harmless "is it alive" signal: a day is long enough for any batch
        return clock.parse(started_at) > clock.now() - dt.timedelta(days=1)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another account's live process
    return True


def _safely(scanner: Scanner, page: scan_input.Page) -> list[Outcome]:
    """One bad page never stops the batch."""
    try:
        return scanner.scan_page(page)
    except (cv2.error, ValueError, np.linalg.LinAlgError) as exc:
        return [Outcome(page.file, page.number, "error", f"this page could not be processed ({exc})")]


def _log_outcome(db: Database, batch_id: str, outcome: Outcome) -> None:
    db.table("scan_pages").insert({"batch_id": batch_id, "file": outcome.file, "page": outcome.page,
                             "outcome": outcome.outcome, "family_id": outcome.family_id,
                             "slip_serial": outcome.slip_serial, "reason": outcome.reason,
                             "marks": json.dumps(outcome.marks), "evidence": outcome.evidence})

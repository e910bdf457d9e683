"""Read receipts from outside: lists exported by a messaging platform, and POST /api/receipts.

Each receipt names a family (student id, family code or guardian phone), a notice
(id or exact title) and a read time. Unmatched receipts are reported, never guessed.
The dedupe key is built from what the receipt says, so replaying a file records nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from server import clock, ledger, notices, phones, settings
from server.errors import NotPublished
from server.roster_read import decode

_COLUMNS = {
    "student": ["student id", "student_id", "学号", "學號"],
    "phone": ["phone", "guardian phone", "mobile", "联系电话", "聯絡電話", "电话", "電話", "手机", "手機"],
    "family": ["family code", "family_code", "家庭编号", "家庭編號"],
    "notice": ["notice", "notice id", "notice_id", "title", "notice title", "通知", "通知编号", "通知編號", "标题", "標題"],
    "read_at": ["read time", "read_at", "read at", "time", "阅读时间", "閱讀時間", "时间", "時間"],
    "kind": ["kind", "type", "类型", "類型"],
}


@dataclass
class Receipt:
    notice: str
    student: str = ""
    phone: str = ""
    family: str = ""
    read_at: str = ""
    kind: str = "read"


@dataclass
class ReceiptReport:
    recorded: int = 0
    duplicates: int = 0
    unmatched: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.unmatched:
            return 2 if self.recorded + self.duplicates == 0 else 1
        return 0


def _match_family(db: Database, receipt: Receipt, region: str) -> int | None:
    """Exactly one family, or None: an ambiguous phone is unmatched, not guessed."""
    if receipt.family:
        row = db.execute("SELECT id FROM families WHERE code = ?", [receipt.family.strip()]).fetchone()
        return row[0] if row else None
    if receipt.student:
        row = db.execute("SELECT family_id FROM students WHERE source_id = ?", [receipt.student.strip()]).fetchone()
        return row[0] if row else None
    phone = phones.normalize(receipt.phone, region)
    if not phone.valid:
        return None
    rows = db.execute("SELECT DISTINCT family_id FROM guardians WHERE phone = ? AND active = 1", [phone.e164]).fetchall()
    return rows[0][0] if len(rows) == 1 else None


def _match_notice(db: Database, text: str) -> int | None:
    text = text.strip()
    if text.isdigit():
        row = db.execute("SELECT id FROM notices WHERE id = ?", [int(text)]).fetchone()
        return row[0] if row else None
    rows = db.execute("SELECT DISTINCT notice_id FROM notice_texts WHERE title = ?", [text]).fetchall()
    return rows[0][0] if len(rows) == 1 else None


def to_event(db: Database, receipt: Receipt, *, source: str, region: str,
             idempotency_key: str | None = None) -> ledger.Event:
    """Raise ValueError saying what did not match."""
    if receipt.kind not in ("read", "confirmed"):
        raise ValueError(f"kind must be read or confirmed, not {receipt.kind!r}")
    family_id = _match_family(db, receipt, region)
    if family_id is None:
        who = receipt.family or receipt.student or phones.mask(receipt.phone) or "(nobody)"
        raise ValueError(f"no single family matches {who}")
    notice_id = _match_notice(db, receipt.notice)
    if notice_id is None:
        raise ValueError(f"no single notice matches {receipt.notice!r}")
    try:
        notice = notices.get_published(db, notice_id)
    except NotPublished:
        raise ValueError(f"no single notice matches {receipt.notice!r}") from None  # not there yet for families
    if family_id not in notices.audience(db, notice):
        raise ValueError(f"notice {notice_id} was not sent to family {_code(db, family_id)}")
    occurred = clock.normalize(receipt.read_at, settings.zone(db)) if receipt.read_at else None
    if occurred and occurred < notice["publish_at"]:
        raise ValueError(f"read at {occurred}, before notice {notice_id} was published ({notice['publish_at']})")
    # The evidence, not the moment it arrived: the same receipt sent again records nothing.
    evidence = idempotency_key or f"{family_id}|{notice_id}|{receipt.kind}|{occurred or ''}"
    key = hashlib.sha256(f"{source}|{evidence}".encode()).hexdigest()[:32]
    return ledger.new_event(notice_id, family_id, "digital", receipt.kind, occurred_at=occurred or clock.now_iso(),
                            source=source, actor="platform", dedupe_key=f"import:{key}")


def _code(db: Database, family_id: int) -> str:
    row = db.execute("SELECT code FROM families WHERE id = ?", [family_id]).fetchone()
    return row[0] if row else str(family_id)


def record_receipts(db: Database, receipts: list[tuple[str, Receipt]], *, source: str,
                    idempotency_key: str | None = None) -> ReceiptReport:
    """Match and record receipts (each with a label for the report) in one transaction.

    With an ``idempotency_key`` (the API's Idempotency-Key header) the same request sent again
    records nothing; without one, the same receipt (family, notice, kind, read time) records once.
    """
    report = ReceiptReport()
    region = settings.get(db, "default_region")
    events = []
    for index, (label, receipt) in enumerate(receipts):
        key = f"{idempotency_key}|{index}" if idempotency_key else None
        try:
            events.append(to_event(db, receipt, source=source, region=region, idempotency_key=key))
        except ValueError as exc:
            report.unmatched.append(f"{label}: {exc}")
    result = ledger.record(db, events)
    report.recorded, report.duplicates = result.recorded, result.duplicates
    return report


def read_receipt_file(path: Path) -> list[tuple[str, Receipt]]:
    text = decode(path.read_bytes())[0]
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip().strip("\ufeff").lower() for h in next(reader, [])]
    lookup = {alias: name for name, aliases in _COLUMNS.items() for alias in aliases}
    columns = [lookup.get(h) for h in header]
    if "notice" not in columns or not {"student", "phone", "family"} & set(columns):
        raise ValueError(f"{path.name}: needs a notice column and a student id, family code or phone column")
    receipts = []
    for cells in reader:
        if any(c.strip() for c in cells):
            values = {col: cell.strip() for col, cell in zip(columns, cells, strict=False) if col}
            values["kind"] = values.get("kind") or "read"
            receipts.append((f"{path.name}:{reader.line_num}", Receipt(**values)))
    return receipts


def import_file(db: Database, path: Path) -> ReceiptReport:
    return record_receipts(db, read_receipt_file(path), source=f"import:{path.name}")

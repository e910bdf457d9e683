"""Retention: delete old slip images, keep every ledger event; and every rule of the school at
once (``apply_rules``: slip images, voice messages, families that left, see server.retention).

An image is old when every scan batch and review item that names it is older
than the cut-off (or, for a file nothing names, when the file itself is). An
image an open review item still shows is never deleted: a person needs it.
Events keep the image's name; the web pages say the image was removed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlite_utils import Database

from print.evidence import is_evidence_name
from server import clock, retention
from server.db import evidence_dir
from server.transaction import write_transaction

_AGE = re.compile(r"^\s*(\d+)\s*(d|days?|w|weeks?)?\s*$", re.IGNORECASE)


def parse_age(text: str) -> dt.timedelta:
    """'180d', '26w', '180' (days) -> timedelta; raises ValueError with an example."""
    match = _AGE.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not an age like 180d or 26w")
    days = int(match.group(1)) * (7 if (match.group(2) or "d").lower().startswith("w") else 1)
    return dt.timedelta(days=days)


@dataclass
class RetentionResult:
    cutoff: str
    deleted: list[str] = field(default_factory=list)
    kept_recent: int = 0
    kept_open_review: int = 0
    bytes_freed: int = 0

    def as_dict(self) -> dict:
        return {"cutoff": self.cutoff, "deleted": len(self.deleted), "bytes_freed": self.bytes_freed,
                "kept_recent": self.kept_recent, "kept_open_review": self.kept_open_review}


def _last_use(db: Database) -> dict[str, str]:
    """Evidence name -> the newest time a scan batch or review item named it."""
    rows = db.execute(
        """SELECT p.evidence, MAX(b.started_at) FROM scan_pages p JOIN scan_batches b ON b.id = p.batch_id
           WHERE p.evidence IS NOT NULL GROUP BY p.evidence
           UNION ALL SELECT page_image, MAX(created_at) FROM review_items WHERE page_image IS NOT NULL GROUP BY 1
           UNION ALL SELECT crop_image, MAX(created_at) FROM review_items WHERE crop_image IS NOT NULL GROUP BY 1""")
    newest: dict[str, str] = {}
    for name, when in rows:
        newest[name] = max(newest.get(name, ""), when or "")
    return newest


def _open_review_images(db: Database) -> set[str]:
    rows = db.execute("SELECT page_image, crop_image FROM review_items WHERE status = 'open'").fetchall()
    return {name for row in rows for name in row if name}


def delete_slip_images(db: Database, older_than: dt.timedelta, dry_run: bool = False) -> RetentionResult:
    """Delete slip and page images older than ``older_than``; returns what was (or would be) done."""
    now = clock.now()
    cutoff = clock.iso(now - older_than)
    result = RetentionResult(cutoff=cutoff)
    last_use, keep = _last_use(db), _open_review_images(db)
    for path in sorted(evidence_dir(db).iterdir()):
        if not is_evidence_name(path.name):
            continue
        if path.name in keep:
            result.kept_open_review += 1
            continue
        when = last_use.get(path.name) or clock.iso(dt.datetime.fromtimestamp(path.stat().st_mtime, clock.UTC))
        if when >= cutoff:
            result.kept_recent += 1
            continue
        result.deleted.append(path.name)
        result.bytes_freed += path.stat().st_size
        if not dry_run:
            path.unlink(missing_ok=True)
    return result


def apply_rules(db: Database, *, dry_run: bool = False, slip_age: dt.timedelta | None = None,
                actor: str = "retention") -> dict:
    """Every retention rule at once, by the school's settings (``slip_age`` overrides the slip rule)."""
    policy = retention.policy(db)
    slips = delete_slip_images(db, slip_age or dt.timedelta(days=policy["keep_slip_images_days"]), dry_run=dry_run)
    with write_transaction(db):
        if slips.deleted and not dry_run:
            retention.log(db, "slip images", len(slips.deleted), {"cutoff": slips.cutoff, "bytes": slips.bytes_freed},
                          actor)
        messages = retention.delete_voice_messages(
            db, dt.timedelta(days=policy["keep_recordings_days"]), dry_run=dry_run, actor=actor)
    families = retention.anonymise_left_families(db, policy["keep_ledger_years"], dry_run=dry_run, actor=actor)
    return {"dry_run": dry_run, "policy": policy, "slip_images": slips.as_dict(), "slip_image_files": slips.deleted,
            "voice_messages": messages.as_dict(), "families_anonymised": families.as_dict(),
            "family_ids": families.families}

"""A school node's link to its district: enrol once with a code; then, each round, pull the
district-wide notices (each published here as one of this school's notices) and push the ledger,
roster and notices after their cursors in gzip batches. A push that fails keeps everything to
send; a push that the district took but whose answer was lost is sent again and counted once
(events travel by id, families and notices by reference)."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from sqlite_utils import Database

from server import clock, notices
from server.district import forward
from server.transaction import write_transaction

TIMEOUT = 60  # seconds per request: a slow link sends a batch of a few hundred KB


class DistrictUnreachable(Exception):
    """The district did not answer, or refused (the sentence says which)."""


@dataclass
class PushResult:
    sent: int = 0
    recorded: int = 0  # new at the district
    duplicates: int = 0  # the district had them already
    waiting: int = 0  # left to send (after a failure)
    families: int = 0  # families and notices forwarded (changed since the last push)
    notices: int = 0
    pulled: int = 0  # district notices received and published here
    problem: str | None = None  # why a district notice could not be published here


def current(db: Database) -> dict | None:
    cursor = db.execute("SELECT * FROM district_link WHERE id = 1")
    row = cursor.fetchone()
    return dict(zip([c[0] for c in cursor.description], row, strict=True)) if row else None


def link(db: Database, server: str, code: str) -> dict:
    """Enrol this school at the district with its one-time code and keep the token. Linking again
    (a new code) keeps the cursor when the district school is the same."""
    server = server.rstrip("/")
    answer = _post(server + "/district/api/enroll", {"code": code}, token=None)
    before = current(db)
    kept = before["forwarded_seq"] if before and before["school_id"] == answer["school_id"] else 0
    with write_transaction(db):
        db.execute("INSERT OR REPLACE INTO district_link (id, server, token, school_id, forwarded_seq, linked_at)"
                   " VALUES (1, ?, ?, ?, ?, ?)", [server, answer["token"], answer["school_id"], kept, clock.now_iso()])
    return {"server": server, "school_id": answer["school_id"], "name": answer["name"]}


def push(db: Database, batch_size: int = forward.BATCH) -> PushResult:
    """Pull the district's new notices, then send what the district does not have yet, batch by
    batch, moving the cursors after each answer. DistrictUnreachable (with what waits) when a
    request cannot be made."""
    linked = current(db)
    if linked is None:
        raise LookupError("this school is not linked to a district: run `paperbridge district link` first")
    result = PushResult()
    events_seq, changes_seq = linked["forwarded_seq"], linked["changes_seq"]
    try:
        result.pulled, result.problem = pull_notices(db, linked)
        while True:
            events_after, events = forward.batch(db, events_seq, batch_size)
            changes_after, families, changed = forward.changes(db, changes_seq, batch_size)
            if not events and not families and not changed and changes_after == changes_seq:
                return result
            answer = _post(linked["server"] + "/district/api/push",
                           {"events": events, "families": families, "notices": changed}, token=linked["token"])
            with write_transaction(db):
                db.execute("UPDATE district_link SET forwarded_seq = ?, changes_seq = ?, last_push_at = ? WHERE id = 1",
                           [events_after, changes_after, clock.now_iso()])
            events_seq, changes_seq = events_after, changes_after
            result.sent += len(events)
            result.families += len(families)
            result.notices += len(changed)
            result.recorded += answer["recorded"]
            result.duplicates += answer["duplicates"]
    except DistrictUnreachable as exc:
        result.waiting = db.execute("SELECT count(*) FROM events WHERE seq > ?", [events_seq]).fetchone()[0]
        raise DistrictUnreachable(f"{exc} {result.waiting} events wait and will be sent next time"
                                  f" ({result.sent} sent now).") from None


def pull_notices(db: Database, linked: dict) -> tuple[int, str | None]:
    """Publish here the district notices this school does not have yet, in order, each once (the
    district id is kept beside the notice it became, in the same transaction). A notice pulled
    after its publish time is published now: this school's families could not have had it
    earlier, and its week is the one they get it in. Returns how many, and why one could not be
    published (the rest wait for the next round), or None."""
    after = db.execute("SELECT coalesce(max(district_id), 0) FROM district_notices").fetchone()[0]
    answer = _get(linked["server"] + f"/district/api/notices?after={after}", linked["token"])
    pulled = answer.get("notices")
    if not isinstance(pulled, list):
        raise DistrictUnreachable(f"{linked['server']} answered with something that is not the district's notices.")
    for count, notice in enumerate(pulled):
        try:
            _publish(db, notice)
        except (KeyError, TypeError, ValueError) as exc:
            return count, f"District notice {notice.get('id') if isinstance(notice, dict) else '?'} could not be" \
                          f" published here ({exc}); it and later ones wait."
    return len(pulled), None


def _publish(db: Database, notice: dict) -> None:
    publish_at = max(clock.parse(notice["publish_at"]), clock.now())
    with write_transaction(db):
        if db.execute("SELECT 1 FROM district_notices WHERE district_id = ?", [int(notice["id"])]).fetchone():
            return  # another round (the server's, a `district push`) published it a moment ago
        notice_id = notices.add_notice(
            db, texts={lang: (title, body) for lang, (title, body) in notice["texts"].items()},
            reply_options=notice["reply_options"], requires_confirmation=bool(notice["requires_confirmation"]),
            due_date=notice["due_date"], urgent=bool(notice["urgent"]), publish_at=clock.iso(publish_at),
            created_by="district")
        db.execute("INSERT INTO district_notices (district_id, notice_id, pulled_at) VALUES (?, ?, ?)",
                   [int(notice["id"]), notice_id, clock.now_iso()])


def _post(url: str, body: dict, token: str | None) -> dict:
    data = gzip.compress(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(), 6)
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", "Accept-Encoding": "gzip",
               **({"Authorization": f"Bearer {token}"} if token else {})}
    return _answer(urllib.request.Request(url, data=data, method="POST", headers=headers), url)


def _get(url: str, token: str) -> dict:
    headers = {"Accept-Encoding": "gzip", "Authorization": f"Bearer {token}"}
    return _answer(urllib.request.Request(url, method="GET", headers=headers), url)


def _answer(request: urllib.request.Request, url: str) -> dict:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        message = _message(exc.read())
        if message is None:
            raise DistrictUnreachable(f"{url.split('/district/')[0]} answered {exc.code} with a page that is not the"
                                      " district's; check the address.") from None
        raise DistrictUnreachable(f"The district refused ({exc.code}): {message}.") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DistrictUnreachable(f"The district at {url.split('/district/')[0]} cannot be reached ({reason}).") from None
    try:
        answer = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    except (ValueError, OSError):
        answer = None
    if not isinstance(answer, dict):  # a proxy's or a hotel network's page, not the district
        raise DistrictUnreachable(f"{url.split('/district/')[0]} answered with something that is not the district "
                                  "(a web page instead of its answer); check the address.")
    return answer


def _message(raw: bytes) -> str | None:
    """The district's sentence in an error answer; None when the answer is not the district's."""
    try:
        message = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)["error"]["message"]
    except (ValueError, KeyError, TypeError, OSError):
        return None
    return str(message)

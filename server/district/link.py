"""A school node's link to its district: enrol once with a code, then push the ledger after the
cursor in gzip batches. A push that fails keeps everything to send; a push that the district
took but whose answer was lost is sent again and counted once (events travel by id)."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from sqlite_utils import Database

from server import clock
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
    """Send what the district does not have yet, batch by batch, moving the cursor after each
    answer. DistrictUnreachable (with what waits) when a batch cannot be sent."""
    linked = current(db)
    if linked is None:
        raise LookupError("this school is not linked to a district: run `paperbridge district link` first")
    result, cursor = PushResult(), linked["forwarded_seq"]
    while True:
        after, events = forward.batch(db, cursor, batch_size)
        if not events:
            return result
        try:
            answer = _post(linked["server"] + "/district/api/push", {"events": events}, token=linked["token"])
        except DistrictUnreachable as exc:
            result.waiting = db.execute("SELECT count(*) FROM events WHERE seq > ?", [cursor]).fetchone()[0]
            raise DistrictUnreachable(f"{exc} {result.waiting} events wait and will be sent next time"
                                      f" ({result.sent} sent now).") from None
        with write_transaction(db):
            db.execute("UPDATE district_link SET forwarded_seq = ?, last_push_at = ? WHERE id = 1",
                       [after, clock.now_iso()])
        cursor = after
        result.sent += len(events)
        result.recorded += answer["recorded"]
        result.duplicates += answer["duplicates"]


def _post(url: str, body: dict, token: str | None) -> dict:
    data = gzip.compress(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(), 6)
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", "Accept-Encoding": "gzip",
               **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raise DistrictUnreachable(f"The district refused ({exc.code}): {_message(exc.read())}.") from None
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


def _message(raw: bytes) -> str:
    try:
        return json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)["error"]["message"]
    except (ValueError, KeyError, TypeError, OSError):
        return raw[:200].decode("utf-8", "replace") or "no reason given"

"""The kiosk's sync client: push the outbox in batches, then pull changes since the cursor.

Events keep their ids, so a re-sent batch is a no-op on the server; an event is marked
sent only after a 2xx reply. Pull pages are applied with their cursor in one transaction,
so an interrupted pull resumes where it stopped.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import sqlite3
import urllib.error
import urllib.request
from dataclasses import dataclass

from sqlite_utils import Database

from kiosk import store
from server import clock
from server.transaction import write_transaction

log = logging.getLogger("paperbridge.kiosk")

BATCH = 200
TIMEOUT = 20


NOT_UNDERSTOOD = "the server's answer was not understood"


class Revoked(Exception):
    """The server refused this kiosk's token (revoked by an admin, or never enrolled)."""


class Offline(Exception):
    """The server cannot be reached now."""


class Refused(Exception):
    """The server understood and said no (a bad enrolment code, a malformed request)."""


@dataclass
class SyncResult:
    pushed: int = 0
    rejected: int = 0
    pulled_pages: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    audio_files: int = 0
    audio_bytes: int = 0


def _request(db: Database, method: str, path: str, body: dict | None, result: SyncResult) -> dict:
    data = gzip.compress(json.dumps(body, separators=(",", ":")).encode(), 6) if body is not None else None
    result.bytes_sent += len(data or b"")
    raw = _send(db, method, path, data, {"Accept-Encoding": "gzip", "Content-Type": "application/json",
                                         **({"Content-Encoding": "gzip"} if data else {})}, result)
    try:
        return json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    except (ValueError, OSError, EOFError):
        raise Offline(NOT_UNDERSTOOD) from None


def _send(db: Database, method: str, path: str, data: bytes | None, headers: dict, result: SyncResult) -> bytes:
    """One request with the kiosk's token; the answer's bytes. Revoked on 401, Refused on another
    4xx (with the server's sentence), Offline on anything else."""
    request = urllib.request.Request(store.get(db, "server").rstrip("/") + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {store.get(db, 'token')}", **headers})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            store.put(db, "revoked", "1")
            raise Revoked("This kiosk has been switched off by the school (its token was revoked).") from None
        if 400 <= exc.code < 500:
            try:
                message = json.loads(exc.read())["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = f"the server refused the request ({exc.code})"
            raise Refused(message) from None
        raise Offline(f"the server answered {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise Offline(str(getattr(exc, "reason", exc))) from None
    result.bytes_received += len(raw)
    return raw


def push(db: Database, result: SyncResult) -> None:
    while True:
        rows = list(db.query("SELECT * FROM outbox WHERE sent_at IS NULL AND rejected IS NULL ORDER BY id LIMIT ?",
                             [BATCH]))
        if not rows:
            return
        events = [{**{k: r[k] for k in ("id", "notice_id", "family_id", "kind", "occurred_at", "actor")},
                   "payload": json.loads(r["payload"])} for r in rows]
        answer = _request(db, "POST", "/api/sync/push", {"events": events}, result)
        if not (isinstance(answer, dict) and isinstance(answer.get("accepted"), list)
                and isinstance(answer.get("rejected"), list)
                and all(isinstance(r, dict) and "id" in r and "reason" in r for r in answer["rejected"])):
            raise Offline(NOT_UNDERSTOOD)
        with write_transaction(db):
            now = clock.now_iso()
            for event_id in answer["accepted"]:
                db.execute("UPDATE outbox SET sent_at = ? WHERE id = ?", [now, event_id])
            for item in answer["rejected"]:
                db.execute("UPDATE outbox SET rejected = ? WHERE id = ?", [item["reason"], item["id"]])
        result.pushed += len(answer["accepted"])
        result.rejected += len(answer["rejected"])


def pull(db: Database, result: SyncResult) -> None:
    while True:
        page = _request(db, "GET", f"/api/sync/pull?cursor={store.get(db, 'cursor', '0.0')}", None, result)
        apply_page(db, page)
        result.pulled_pages += 1
        if not page.get("more"):
            return


def apply_page(db: Database, page) -> None:
    """Apply one pulled page whole, or nothing: an answer of the wrong shape (a proxy's error
    page, a half-upgraded server) is treated like no connection, and the next sync tries again."""
    if not isinstance(page, dict) or not isinstance(page.get("cursor"), str):
        raise Offline(NOT_UNDERSTOOD)
    try:
        store.apply_pull(db, page)
    except (KeyError, TypeError, ValueError, AttributeError, sqlite3.Error) as exc:
        raise Offline(f"{NOT_UNDERSTOOD} ({type(exc).__name__})") from None


def pull_audio(db: Database, result: SyncResult) -> None:
    """The notices' clips: a small list, then only the files this kiosk does not have yet (each
    file once, named by its content hash, written whole or not at all). Clips no notice uses any
    more are deleted."""
    answer = _request(db, "GET", "/api/sync/audio", None, result)
    clips = answer.get("clips") if isinstance(answer, dict) else None
    if not isinstance(clips, list) or not all(isinstance(c, dict) and {"notice_id", "voice", "sha", "kind", "bytes"}
                                              <= set(c) for c in clips):
        raise Offline(NOT_UNDERSTOOD)
    folder = store.audio_dir(db)
    for clip in clips:
        sha = str(clip["sha"])
        if not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise Offline(NOT_UNDERSTOOD)
        target = folder / f"{sha}.ogg"
        if not target.exists():
            data = _fetch(db, f"/api/sync/audio/{sha}.ogg", result)
            partial = target.with_suffix(".part")
            partial.write_bytes(data)
            os.replace(partial, target)
            result.audio_files += 1
    with write_transaction(db):
        db.execute("DELETE FROM audio")
        for clip in clips:
            db.execute("INSERT OR REPLACE INTO audio (notice_id, voice, sha, kind, bytes) VALUES (?, ?, ?, ?, ?)",
                       [int(clip["notice_id"]), str(clip["voice"]), str(clip["sha"]), str(clip["kind"]),
                        int(clip["bytes"])])
    used = {f"{c['sha']}.ogg" for c in clips}
    for old in folder.glob("*.ogg"):
        if old.name not in used:
            old.unlink(missing_ok=True)


def _fetch(db: Database, path: str, result: SyncResult) -> bytes:
    """A file from the server (not JSON)."""
    data = _send(db, "GET", path, None, {}, result)
    result.audio_bytes += len(data)
    return data


def sync(db: Database) -> SyncResult:
    """Push, then pull, then the clips. Raises Offline or Revoked; what was done before stays done."""
    if not store.get(db, "token"):
        raise Revoked("This kiosk is not enrolled yet: run `paperbridge kiosk init --server URL --enroll CODE`.")
    result = SyncResult()
    push(db, result)
    pull(db, result)
    pull_audio(db, result)
    store.put(db, "last_sync", clock.now_iso())
    store.put(db, "online", "1")
    log.info("sync: %s receipts sent (%s refused), %s pages received, %s clips (%s bytes); %s bytes up, %s bytes down",
             result.pushed, result.rejected, result.pulled_pages, result.audio_files, result.audio_bytes,
             result.bytes_sent, result.bytes_received)
    return result


def enrol(db: Database, server: str, code: str, name: str = "") -> str:
    """Spend a one-time code; store the device id and token. Returns the kiosk's name."""
    store.put(db, "server", server)
    answer = _request(db, "POST", "/api/sync/enroll", {"code": code, "name": name}, SyncResult())
    with write_transaction(db):
        for key in ("device_id", "token", "name"):
            store.put(db, key, answer[key])
        store.put(db, "cursor", "0.0")
        store.put(db, "revoked", "")
    return answer["name"]

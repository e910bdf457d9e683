"""The read ledger: append-only receipt events and the status derived from them.

Every channel (digital, paper, voice, sms, kiosk, in person) is an adapter that
turns its evidence into :class:`Event` objects and calls :func:`record`. Nothing
but :func:`derive_status` decides a status.

Example::

    event = new_event(notice_id=3, family_id=17, channel="digital", kind="read",
                      dedupe_key="link:17:3:read")
    record(db, [event])            # RecordResult(recorded=1, duplicates=0)
    record(db, [event])            # replay: RecordResult(recorded=0, duplicates=1)
    notice_status(db, 3)[17].state # 'read'
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlite_utils import Database

from server import clock
from server.errors import ImpossibleTime, NotPublished, UnknownEvent, UnknownFamily, UnknownNotice
from server.transaction import write_transaction

CHANNELS = ("digital", "paper", "voice", "sms", "kiosk", "in_person")
KINDS = ("delivered", "read", "confirmed", "reply", "void")
# What each kind says about acknowledgement; a reply answers the notice, so it confirms it.
_ACK = {"read": "read", "confirmed": "confirmed", "reply": "confirmed"}
_RANK = {"unread": 0, "read": 1, "confirmed": 2}


@dataclass(frozen=True)
class Event:
    id: str
    notice_id: int
    family_id: int
    channel: str
    kind: str
    occurred_at: str
    dedupe_key: str
    payload: dict = field(default_factory=dict)
    source: str = ""
    actor: str = ""
    voids: str | None = None
    recorded_at: str | None = None

    def row(self) -> dict:
        return {
            "id": self.id, "notice_id": self.notice_id, "family_id": self.family_id,
            "channel": self.channel, "kind": self.kind,
            "payload": json.dumps(self.payload, ensure_ascii=False, sort_keys=True),
            "occurred_at": self.occurred_at, "recorded_at": self.recorded_at or clock.now_iso(),
            "source": self.source, "actor": self.actor,
            "dedupe_key": self.dedupe_key, "voids": self.voids,
        }


def new_event(
    notice_id: int,
    family_id: int,
    channel: str,
    kind: str,
    *,
    dedupe_key: str | None = None,
    payload: dict | None = None,
    occurred_at: str | None = None,
    source: str = "",
    actor: str = "",
    voids: str | None = None,
    event_id: str | None = None,
) -> Event:
    """Build a validated event. Without a dedupe key the event id is the key."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; one of {', '.join(CHANNELS)}")
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    if (kind == "void") != (voids is not None):
        raise ValueError("a void event must name the event it cancels, and only a void may")
    if kind == "reply" and not (payload or {}).get("choice"):
        raise ValueError("a reply event needs payload['choice']")
    event_id = event_id or clock.uuid7()
    return Event(
        id=event_id, notice_id=int(notice_id), family_id=int(family_id), channel=channel, kind=kind,
        occurred_at=clock.normalize(occurred_at) if occurred_at else clock.now_iso(),
        dedupe_key=dedupe_key or f"id:{event_id}", payload=dict(payload or {}),
        source=source, actor=actor, voids=voids,
    )


@dataclass(frozen=True)
class RecordResult:
    recorded: int
    duplicates: int


def record(db: Database, events: Iterable[Event]) -> RecordResult:
    """Append events in one transaction. Replays (same id or dedupe key) record nothing.

    Raises UnknownNotice / UnknownFamily / UnknownEvent and records nothing of
    the batch when an event points at something that does not exist.
    """
    recorded = duplicates = 0
    touched: set[tuple[int, int]] = set()
    known: dict[tuple[str, int], str] = {}  # notices (-> publish time) and families already checked in this batch
    now = clock.now_iso()
    with write_transaction(db):
        for event in events:
            published_at = _check_references(db, event, known, now)
            event = _checked_time(event, published_at, now)
            cursor = db.execute(
                "INSERT OR IGNORE INTO events (id, notice_id, family_id, channel, kind, payload,"
                " occurred_at, recorded_at, source, actor, dedupe_key, voids)"
                " VALUES (:id, :notice_id, :family_id, :channel, :kind, :payload, :occurred_at,"
                " :recorded_at, :source, :actor, :dedupe_key, :voids)",
                event.row(),
            )
            if cursor.rowcount:
                recorded += 1
                touched.add((event.notice_id, event.family_id))
            else:
                duplicates += 1
        _refresh_status(db, touched)
    return RecordResult(recorded, duplicates)


def _check_references(db: Database, event: Event, known: dict[tuple[str, int], str], now: str) -> str:
    """Raise unless the notice (published), the family and any voided event exist; the notice's publish time."""
    if ("notice", event.notice_id) not in known:
        row = db.execute("SELECT publish_at FROM notices WHERE id = ?", [event.notice_id]).fetchone()
        if row is None:
            raise UnknownNotice(f"notice {event.notice_id} does not exist")
        known[("notice", event.notice_id)] = row[0]
    published_at = known[("notice", event.notice_id)]
    if published_at > now and event.kind != "void":  # nobody can have had it before it was published
        raise NotPublished(f"notice {event.notice_id} is not published until {published_at}; nothing was recorded")
    if ("family", event.family_id) not in known:
        if not db.execute("SELECT 1 FROM families WHERE id = ?", [event.family_id]).fetchone():
            raise UnknownFamily(f"family {event.family_id} does not exist")
        known[("family", event.family_id)] = ""
    if event.voids is not None:
        _check_voided(db, event)
    return published_at


def _checked_time(event: Event, published_at: str, now: str) -> Event:
    """Times from devices and platforms are evidence, not authority.

    A time in the future (a clock running ahead) becomes the server's receipt time, the claim
    kept in the payload as ``claimed_at``; nothing can have been read or answered before the
    notice was published (ImpossibleTime: the channel decides what to do with it).
    """
    if event.occurred_at > now:
        return dataclasses.replace(event, occurred_at=now, payload={**event.payload, "claimed_at": event.occurred_at})
    if event.kind in _ACK and event.occurred_at < published_at:
        raise ImpossibleTime(f"{event.kind} at {event.occurred_at}, before notice {event.notice_id} was published "
                             f"({published_at})")
    return event


def _check_voided(db: Database, event: Event) -> None:
    target = db.execute(
        "SELECT notice_id, family_id, kind FROM events WHERE id = ?", [event.voids]
    ).fetchone()
    if target is None or target[2] == "void":
        raise UnknownEvent(f"event {event.voids} does not exist or is itself a void")
    if (target[0], target[1]) != (event.notice_id, event.family_id):
        raise UnknownEvent(f"event {event.voids} belongs to another notice or family")


@dataclass(frozen=True)
class Status:
    """Derived receipt status of one notice for one family."""

    state: str = "unread"  # unread | read | confirmed
    first_at: str | None = None  # earliest read or confirmation
    confirmed_at: str | None = None
    channels: tuple[str, ...] = ()  # channels that contributed a read or confirmation
    reply: str | None = None  # latest reply choice
    reply_at: str | None = None
    delivered: tuple[str, ...] = ()  # channels that carried it to the family

    def as_dict(self) -> dict:
        return {
            "state": self.state, "first_at": self.first_at, "confirmed_at": self.confirmed_at,
            "channels": list(self.channels), "reply": self.reply, "reply_at": self.reply_at,
            "delivered": list(self.delivered),
        }


def derive_status(events: Iterable[Event]) -> Status:
    """Fold one (notice, family)'s events into a status; arrival order does not matter."""
    events = list(events)
    voided = {e.voids for e in events if e.kind == "void"}
    live = sorted((e for e in events if e.kind != "void" and e.id not in voided),
                  key=lambda e: (e.occurred_at, e.id))
    acks = [e for e in live if e.kind in _ACK]
    replies = [e for e in live if e.kind == "reply"]
    confirmations = [e for e in acks if _ACK[e.kind] == "confirmed"]
    state = max((_ACK[e.kind] for e in acks), key=_RANK.__getitem__, default="unread")
    return Status(
        state=state,
        first_at=acks[0].occurred_at if acks else None,
        confirmed_at=confirmations[0].occurred_at if confirmations else None,
        channels=tuple(sorted({e.channel for e in acks})),
        reply=replies[-1].payload["choice"] if replies else None,
        reply_at=replies[-1].occurred_at if replies else None,
        delivered=tuple(sorted({e.channel for e in live if e.kind == "delivered"})),
    )


def _from_row(row: dict) -> Event:
    row = dict(row)
    row.pop("seq", None)
    row["payload"] = json.loads(row["payload"])
    return Event(**row)


def events_for(db: Database, notice_id: int | None = None, family_id: int | None = None) -> Iterator[Event]:
    """Events in recording order, filtered by notice and/or family."""
    where, params = [], []
    if notice_id is not None:
        where.append("notice_id = ?"); params.append(notice_id)
    if family_id is not None:
        where.append("family_id = ?"); params.append(family_id)
    sql = "SELECT * FROM events" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq"
    return (_from_row(r) for r in db.query(sql, params))


_DERIVE_SQL = """
SELECT e.notice_id, e.{family},
       max(CASE kind WHEN 'confirmed' THEN 2 WHEN 'reply' THEN 2 WHEN 'read' THEN 1 ELSE 0 END) AS rank,
       min(CASE WHEN kind IN ('read', 'confirmed', 'reply') THEN occurred_at END) AS first_at,
       min(CASE WHEN kind IN ('confirmed', 'reply') THEN occurred_at END) AS confirmed_at,
       {concat}(DISTINCT CASE WHEN kind IN ('read', 'confirmed', 'reply') THEN channel END{comma}) AS channels,
       {concat}(DISTINCT CASE WHEN kind = 'delivered' THEN channel END{comma}) AS delivered,
       max(CASE WHEN kind = 'reply' THEN {time} || {unit} || e.id || {unit} || coalesce({choice}, 'null') END{binary})
           AS last_reply
FROM {source}
WHERE kind != 'void' AND NOT EXISTS (SELECT 1 FROM events v WHERE {same_school}v.voids = e.id)
GROUP BY e.notice_id, e.{family}
"""
# The one statement of the status rules in SQL, in the school's SQLite and the district's PostgreSQL
# (server/district/ledger.py), where families are pseudonymous refs and events are per school.
DIALECTS = {
    "sqlite": {"family": "family_id", "concat": "group_concat", "comma": "", "time": "occurred_at",
               "unit": "char(31)", "choice": "payload -> '$.choice'", "binary": "", "same_school": ""},
    "postgresql": {"family": "family_ref", "concat": "string_agg", "comma": ", ','",
                   "time": "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
                   "unit": "chr(31)", "choice": "(payload -> 'choice')::text", "binary": ' COLLATE "C"',
                   "same_school": "v.school_id = e.school_id AND "},
}
_INSERT_STATUS = ("INSERT OR REPLACE INTO receipt_status (notice_id, family_id, state, first_at, confirmed_at, channels,"
                  " reply, reply_at, delivered) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")


def derive_sql(dialect: str, source: str) -> str:
    """The status aggregate over ``source`` (a FROM clause naming the events ``e``) in ``dialect``."""
    return _DERIVE_SQL.format(source=source, **DIALECTS[dialect])


def derived_status_rows(rows: Iterable[Sequence]) -> list[list]:
    """Rows of :func:`derive_sql` as status rows: (notice, family, state, first_at, confirmed_at,
    channels, reply, reply_at, delivered), lists sorted, the latest reply's choice unpacked."""
    def sorted_list(text: str | None) -> str:
        return ",".join(sorted(text.split(","))) if text else ""

    out = []
    for notice_id, family, rank, first_at, confirmed_at, channels, delivered, last_reply in rows:
        # the latest reply: its time, id and choice (as JSON) in one string, the max by time then id
        reply_at, _id, choice = last_reply.split("\x1f", 2) if last_reply else (None, None, "null")
        out.append([notice_id, family, ("unread", "read", "confirmed")[rank], first_at, confirmed_at,
                    sorted_list(channels), json.loads(choice), reply_at, sorted_list(delivered)])
    return out


def _derived_rows(db: Database, source: str, params: Sequence = ()) -> list[list]:
    """receipt_status rows for the pairs in ``source``, by the rules of :func:`derive_status`, in SQL.

    A property test (tests/server/test_ledger.py) keeps the two equal.
    """
    return derived_status_rows(db.conn.execute(derive_sql("sqlite", source), params))


PAIRS_PER_QUERY = 400  # (notice, family) pairs derived by one query: 800 parameters (old SQLite allows 999)


def _refresh_status(db: Database, pairs: set[tuple[int, int]]) -> None:
    """Derive the touched (notice, family) pairs again from their events (inside record's transaction)."""
    ordered = sorted(pairs)
    rows = []
    for start in range(0, len(ordered), PAIRS_PER_QUERY):
        chunk = ordered[start:start + PAIRS_PER_QUERY]
        values = ",".join(["(?, ?)"] * len(chunk))
        # CROSS JOIN keeps the few touched pairs as the outer loop (SQLite never reorders it)
        rows += _derived_rows(db, f"(SELECT column1 AS notice_id, column2 AS family_id FROM (VALUES {values})) t"
                                  " CROSS JOIN events e ON e.notice_id = t.notice_id AND e.family_id = t.family_id",
                              [n for pair in chunk for n in pair])
    derived = {(r[0], r[1]) for r in rows}
    rows += [[n, f, "unread", None, None, "", None, None, ""] for n, f in pairs - derived]  # every event voided
    db.conn.executemany(_INSERT_STATUS, rows)  # every touched pair has a row (replaced: the key is the pair)


def rebuild_status(db: Database) -> int:
    """Derive every (notice, family) again from the ledger in one pass (after a restore or a bulk load)."""
    rows = _derived_rows(db, "events e")
    with write_transaction(db):
        db.execute("DELETE FROM receipt_status")
        db.conn.executemany(_INSERT_STATUS, rows)
    return len(rows)


_STATUS_COLUMNS = "state, first_at, confirmed_at, channels, reply, reply_at, delivered"


def status_from_row(row: tuple) -> Status:
    """A receipt_status row (the columns of _STATUS_COLUMNS, in order) as a Status."""
    state, first_at, confirmed_at, channels, reply, reply_at, delivered = row
    return Status(state=state, first_at=first_at, confirmed_at=confirmed_at,
                  channels=tuple(channels.split(",")) if channels else (), reply=reply, reply_at=reply_at,
                  delivered=tuple(delivered.split(",")) if delivered else ())


def status_rows(db: Database, notice_id: int) -> dict[int, tuple]:
    """Raw receipt_status rows by family (state first), for reports over tens of thousands of families."""
    rows = db.conn.execute(f"SELECT family_id, {_STATUS_COLUMNS} FROM receipt_status WHERE notice_id = ?",
                           [notice_id])
    return {row[0]: row[1:] for row in rows}


def notice_status(db: Database, notice_id: int) -> dict[int, Status]:
    """Status of every family that has events for this notice (others are unread).

    Read from receipt_status, which :func:`record` keeps equal to :func:`derive_status` (a property
    test checks it).
    """
    return {family_id: status_from_row(row) for family_id, row in status_rows(db, notice_id).items()}


def status_of(db: Database, notice_id: int, family_id: int) -> Status:
    """One family's status for one notice."""
    row = db.conn.execute(f"SELECT {_STATUS_COLUMNS} FROM receipt_status WHERE notice_id = ? AND family_id = ?",
                          [notice_id, family_id]).fetchone()
    return status_from_row(row) if row else Status()


def family_status(db: Database, family_id: int) -> dict[int, Status]:
    """Status of every notice this family has events for."""
    by_notice: dict[int, list[Event]] = {}
    for event in events_for(db, family_id=family_id):
        by_notice.setdefault(event.notice_id, []).append(event)
    return {notice_id: derive_status(evs) for notice_id, evs in by_notice.items()}


def reply_conflicts(db: Database, notice_id: int) -> dict[int, list[dict]]:
    """Families whose channels give different answers: family id -> each channel's latest answer.

    A family that changes its answer on one channel (the link, say) has no conflict; a "yes" at
    the help desk and a "no" on the paper slip is one, and a teacher should see both rather than
    the ledger silently keeping one.
    """
    latest: dict[int, dict[str, dict]] = {}
    for row in db.conn.execute(
            "SELECT family_id, channel, payload, occurred_at, actor, id FROM events e WHERE notice_id = ?"
            " AND kind = 'reply' AND NOT EXISTS (SELECT 1 FROM events v WHERE v.voids = e.id)"
            " ORDER BY occurred_at, id", [notice_id]):
        family_id, channel, payload, occurred_at, actor, event_id = row
        latest.setdefault(family_id, {})[channel] = {
            "channel": channel, "choice": json.loads(payload).get("choice"), "occurred_at": occurred_at,
            "actor": actor, "event_id": event_id}
    return {family_id: sorted(by_channel.values(), key=lambda a: (a["occurred_at"], a["event_id"]))
            for family_id, by_channel in latest.items()
            if len({answer["choice"] for answer in by_channel.values()}) > 1}


def void(db: Database, event_id: str, *, actor: str, reason: str) -> RecordResult:
    """Cancel a mistaken event by appending a void that names it (the trail stays)."""
    row = db.execute("SELECT notice_id, family_id, channel FROM events WHERE id = ?", [event_id]).fetchone()
    if row is None:
        raise UnknownEvent(f"event {event_id} does not exist")
    if not reason.strip():
        raise ValueError("say why the event is being voided")
    event = new_event(row[0], row[1], row[2], "void", voids=event_id, actor=actor,
                      payload={"reason": reason.strip()}, dedupe_key=f"void:{event_id}")
    return record(db, [event])

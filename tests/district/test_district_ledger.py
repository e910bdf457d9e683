"""The district keeps each school's status by the school ledger's own rules, in PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from server import clock, ledger
from server.district import ledger as district_ledger
from server.district import schema, schools
from tests.server.test_ledger import build, event_specs


@pytest.fixture(scope="module")
def district(postgres):
    """One district database for the module (each example uses its own family ref)."""
    name = "dl_" + uuid.uuid4().hex[:12]
    with psycopg.connect(f"{postgres}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    conn = psycopg.connect(f"{postgres}/{name}", autocommit=True)
    schema.migrate(conn)
    school_id, _code, _expires = schools.add_school(conn, "Riverside Primary")
    yield conn, school_id
    conn.close()


def as_forwarded(event: ledger.Event, family_ref: str) -> dict:
    return {"id": event.id, "notice_id": event.notice_id, "family_ref": family_ref, "channel": event.channel,
            "kind": event.kind, "payload": event.payload, "occurred_at": event.occurred_at,
            "recorded_at": event.recorded_at or event.occurred_at, "voids": event.voids}  # as the school stored it


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=event_specs, voids=st.lists(st.integers(min_value=0, max_value=7), max_size=3), split=st.integers(0, 8),
       derive_between=st.booleans())
def test_the_district_status_equals_the_school_ledgers_fold(district, specs, voids, split, derive_between):
    """Any events, any voids, sent in two pushes and the first sent twice, the status derived after
    each push or once for both: the district's status of the pair is derive_status over the
    events, and nothing is counted twice."""
    conn, school_id = district
    family = "f_" + uuid.uuid4().hex[:10]
    events = [ledger.new_event(1, 1, e.channel, e.kind, occurred_at=e.occurred_at, payload=e.payload,
                               event_id=f"{family}-{i:03d}") for i, e in enumerate(build(specs))]
    events += [ledger.new_event(1, 1, "digital", "void", payload={"reason": "test"}, event_id=f"{family}-v{i}",
                                voids=events[index].id, occurred_at="2021-01-01T00:00:00Z")
               for i, index in enumerate(dict.fromkeys(voids)) if index < len(events)]
    forwarded = [as_forwarded(e, family) for e in events]
    first, second = forwarded[:split], forwarded[split:]
    assert district_ledger.receive(conn, school_id, first) == (len(first), 0)
    if derive_between:
        assert district_ledger.derive_all(conn) == len(first)
    assert district_ledger.receive(conn, school_id, first + second) == (len(second), len(first))
    assert district_ledger.queued(conn) == len(second) + (0 if derive_between else len(first))
    district_ledger.derive_all(conn)
    assert district_ledger.queued(conn) == 0
    assert district_ledger.status_of(conn, school_id, 1, family) == ledger.derive_status(events)
    assert conn.execute("SELECT count(*) FROM events WHERE family_ref = %s", [family]).fetchone() == (len(events),)


def test_events_land_in_their_schools_partition(district):
    conn, school_id = district
    event = ledger.new_event(7, 1, "paper", "confirmed", occurred_at="2026-11-23T08:00:00Z")
    district_ledger.receive(conn, school_id, [as_forwarded(event, "f_partition")])
    district_ledger.derive_all(conn)
    assert conn.execute("SELECT count(*) FROM events_s%s WHERE family_ref = 'f_partition'" % school_id).fetchone() == (1,)


def test_a_whole_school_forwarded_in_batches_matches_its_own_status_and_carries_nothing_private(district, tmp_path):
    """The demo school's ledger, read by the school's forwarding in batches of 100 (the last one
    sent twice, as after a lost answer), received by the district: every (notice, family) status
    equals the school's own; no name, phone, family id or void reason reaches the district."""
    from server import db as database
    from server import demo
    from server.district import forward

    conn, school_id = district
    path = tmp_path / "demo.db"
    demo.build(path)
    school = database.connect(path)
    one = next(iter(school.query("SELECT id FROM events WHERE kind IN ('confirmed', 'reply') LIMIT 1")))["id"]
    ledger.void(school, one, actor="office", reason="陈奶奶 said 13800138000 by mistake")
    cursor, sent = 0, []
    while True:
        after, events = forward.batch(school, cursor, size=100)
        if not events:
            break
        district_ledger.receive(conn, school_id, events)
        sent += events
        cursor = after
    assert district_ledger.receive(conn, school_id, events or sent[-100:]) == (0, len(sent[-100:]))
    assert district_ledger.derive_all(conn) == len(sent)
    key = forward.family_key(school)
    for row in school.query("SELECT notice_id, family_id FROM receipt_status"):
        assert district_ledger.status_of(conn, school_id, row["notice_id"], forward.family_ref(key, row["family_id"])) \
            == ledger.status_of(school, row["notice_id"], row["family_id"])
    text = repr(sent)
    assert "13800138000" not in text and "陈奶奶" not in text and '"family_id"' not in text
    names = [r[0] for r in school.execute("SELECT display_name FROM families")]
    assert not any(name and name in text for name in names)
    assert len(sent) == school.execute("SELECT count(*) FROM events").fetchone()[0]


def test_derivations_running_at_once_end_on_the_status_of_every_event(district):
    """Pushes land while two derivers (the server's worker, `district status`) take them one at a
    time: each push is derived once, by one of them, and the status kept at the end is the pair's
    whole ledger (the latest reply)."""
    conn, school_id = district
    family = "f_" + uuid.uuid4().hex[:10]
    events = [ledger.new_event(1, 1, ("paper", "voice", "sms")[i % 3], "reply", payload={"choice": f"choice {i}"},
                               occurred_at=clock.iso(dt.datetime(2026, 11, 2, 8, tzinfo=dt.UTC) + dt.timedelta(hours=i)),
                               event_id=f"{family}-{i:03d}")
              for i in range(40)]  # each a later reply: any older derivation written last would show
    pushing, counted = threading.Event(), []

    def derive() -> None:
        with psycopg.connect(conn.info.dsn, autocommit=True) as mine:
            while pushing.is_set() or district_ledger.queued(mine):
                counted.append(district_ledger.derive_queued(mine, pushes=1))

    pushing.set()
    derivers = [threading.Thread(target=derive) for _ in range(2)]
    for thread in derivers:
        thread.start()
    for event in events:
        district_ledger.receive(conn, school_id, [as_forwarded(event, family)])
    pushing.clear()
    for thread in derivers:
        thread.join()
    assert district_ledger.queued(conn) == 0 and sum(counted) == len(events)
    assert district_ledger.status_of(conn, school_id, 1, family) == ledger.derive_status(events)

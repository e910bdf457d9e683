import itertools
import sqlite3
import uuid

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from server import ledger
from server.errors import UnknownEvent, UnknownFamily, UnknownNotice
from tests.builders import make_notice


@pytest.fixture
def ids(db, school):
    return make_notice(db, publish_at="2020-01-01T00:00:00Z"), school["S1"]


def ev(notice_id, family_id, kind="read", channel="digital", at="2020-11-23T08:00:00Z", **kw):
    if kind == "reply":
        kw.setdefault("payload", {"choice": "attend"})
    return ledger.new_event(notice_id, family_id, channel, kind, occurred_at=at, **kw)


def test_unread_until_first_read(db, ids):
    notice_id, family_id = ids
    assert ledger.notice_status(db, notice_id) == {}
    ledger.record(db, [ev(notice_id, family_id, "delivered", "paper")])
    status = ledger.notice_status(db, notice_id)[family_id]
    assert status.state == "unread" and status.delivered == ("paper",)


def test_status_combines_channels_and_keeps_earliest_time(db, ids):
    notice_id, family_id = ids
    ledger.record(db, [ev(notice_id, family_id, "read", "digital", at="2020-11-23T09:00:00Z"),
                       ev(notice_id, family_id, "confirmed", "paper", at="2020-11-24T07:00:00Z"),
                       ev(notice_id, family_id, "read", "voice", at="2020-11-23T08:00:00+08:00")])
    status = ledger.notice_status(db, notice_id)[family_id]
    assert status.state == "confirmed"
    assert status.first_at == "2020-11-23T00:00:00Z"
    assert status.confirmed_at == "2020-11-24T07:00:00Z"
    assert status.channels == ("digital", "paper", "voice")


def test_latest_reply_wins_by_occurrence_time(db, ids):
    notice_id, family_id = ids
    ledger.record(db, [ev(notice_id, family_id, "reply", at="2020-11-23T10:00:00Z", payload={"choice": "absent"}),
                       ev(notice_id, family_id, "reply", at="2020-11-23T09:00:00Z", payload={"choice": "attend"})])
    status = ledger.notice_status(db, notice_id)[family_id]
    assert (status.reply, status.state) == ("absent", "confirmed")


def test_replay_records_nothing(db, ids):
    notice_id, family_id = ids
    first = ev(notice_id, family_id, dedupe_key="scan:batch1:p1:n1")
    assert ledger.record(db, [first]) == ledger.RecordResult(1, 0)
    again = ev(notice_id, family_id, dedupe_key="scan:batch1:p1:n1")  # new id, same evidence
    assert ledger.record(db, [again, first]) == ledger.RecordResult(0, 2)
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 1


def test_void_restores_previous_status_and_keeps_the_trail(db, ids):
    notice_id, family_id = ids
    read = ev(notice_id, family_id, "read")
    wrong = ev(notice_id, family_id, "confirmed", "paper", at="2020-11-23T09:00:00Z")
    ledger.record(db, [read, wrong])
    ledger.void(db, wrong.id, actor="office", reason="slip belonged to another family")
    assert ledger.notice_status(db, notice_id)[family_id].state == "read"
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 3
    assert ledger.void(db, wrong.id, actor="office", reason="twice").recorded == 0


def test_void_needs_a_reason_and_a_real_target(db, ids):
    notice_id, family_id = ids
    with pytest.raises(UnknownEvent):
        ledger.void(db, "no-such-event", actor="office", reason="x")
    read = ev(notice_id, family_id)
    ledger.record(db, [read])
    with pytest.raises(ValueError):
        ledger.void(db, read.id, actor="office", reason="  ")


def test_void_of_another_family_is_refused(db, ids, school):
    notice_id, family_id = ids
    read = ev(notice_id, family_id)
    ledger.record(db, [read])
    bad = ledger.new_event(notice_id, school["S2"], "paper", "void", voids=read.id)
    with pytest.raises(UnknownEvent):
        ledger.record(db, [bad])


def test_ledger_is_append_only(db, ids):
    notice_id, family_id = ids
    ledger.record(db, [ev(notice_id, family_id)])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE events SET kind = 'confirmed'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM events")


def test_a_bad_event_records_nothing_of_its_batch(db, ids):
    notice_id, family_id = ids
    with pytest.raises(UnknownFamily):
        ledger.record(db, [ev(notice_id, family_id), ev(notice_id, 999)])
    with pytest.raises(UnknownNotice):
        ledger.record(db, [ev(999, family_id)])
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 0


@pytest.mark.parametrize("kwargs, message", [
    ({"channel": "fax"}, "unknown channel"),
    ({"kind": "liked"}, "unknown kind"),
    ({"kind": "void"}, "must name the event"),
    ({"kind": "read", "voids": "x"}, "must name the event"),
    ({"kind": "reply", "payload": {}}, "choice"),
])
def test_invalid_events_are_refused(kwargs, message):
    values = {"channel": "digital", "kind": "read", **kwargs}
    with pytest.raises(ValueError, match=message):
        ledger.new_event(1, 1, values.pop("channel"), values.pop("kind"), **values)


def test_naive_time_is_refused():
    with pytest.raises(ValueError):
        ledger.new_event(1, 1, "digital", "read", occurred_at="not a time")


# ---- properties -----------------------------------------------------------------------------

event_specs = st.lists(st.tuples(
    st.sampled_from(["delivered", "read", "confirmed", "reply"]),
    st.sampled_from(ledger.CHANNELS),
    st.integers(min_value=0, max_value=10_000),  # minutes after a base time
    st.sampled_from(["attend", "absent"]),
), min_size=1, max_size=8)


def build(specs):
    events = []
    for i, (kind, channel, minutes, choice) in enumerate(specs):
        at = f"2020-11-{23 + minutes // 1440:02d}T{minutes % 1440 // 60:02d}:{minutes % 60:02d}:00Z"
        events.append(ledger.new_event(1, 1, channel, kind, occurred_at=at, event_id=f"e{i:03d}",
                                       payload={"choice": choice} if kind == "reply" else None))
    return events


@given(event_specs, st.randoms())
def test_order_of_arrival_does_not_change_status(specs, rnd):
    events = build(specs)
    shuffled = events[:]
    rnd.shuffle(shuffled)
    assert ledger.derive_status(events) == ledger.derive_status(shuffled)


@given(event_specs, st.data())
def test_void_restores_the_status_without_the_voided_event(specs, data):
    events = build(specs)
    target = data.draw(st.sampled_from(events))
    voided = events + [ledger.new_event(1, 1, target.channel, "void", voids=target.id, event_id="v")]
    without = [e for e in events if e is not target]
    assert ledger.derive_status(voided) == ledger.derive_status(without)


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=event_specs)
def test_replaying_any_batch_is_a_no_op(db, ids, specs):
    notice_id, family_id = ids
    run = uuid.uuid4().hex
    events = [ledger.new_event(notice_id, family_id, e.channel, e.kind, occurred_at=e.occurred_at,
                               payload=e.payload, dedupe_key=f"prop:{run}:{i}")
              for i, e in enumerate(build(specs))]
    first = ledger.record(db, events)
    before = ledger.notice_status(db, notice_id)
    count = db.execute("SELECT count(*) FROM events").fetchone()[0]
    assert ledger.record(db, events).recorded == 0
    assert ledger.notice_status(db, notice_id) == before
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == count
    assert first.recorded == len(events)


def test_every_pair_of_orders_agrees_for_a_small_case():
    events = build([("read", "paper", 5, "attend"), ("confirmed", "voice", 1, "attend"),
                    ("reply", "sms", 3, "absent")])
    results = {ledger.derive_status(list(p)) for p in itertools.permutations(events)}
    assert len(results) == 1


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=event_specs, voids=st.lists(st.integers(min_value=0, max_value=7), max_size=3))
def test_the_kept_status_equals_the_reference_fold(db, ids, specs, voids):
    """The status table that record() keeps must always equal ledger.derive_status over the events."""
    notice_id, family_id = ids
    run = uuid.uuid4().hex
    events = [ledger.new_event(notice_id, family_id, e.channel, e.kind, occurred_at=e.occurred_at,
                               payload=e.payload, dedupe_key=f"sql:{run}:{i}", event_id=f"{run}-{i:03d}")
              for i, e in enumerate(build(specs))]
    ledger.record(db, events)
    for index in voids:
        if index < len(events):
            ledger.void(db, events[index].id, actor="test", reason="property")
    everything = list(ledger.events_for(db, notice_id=notice_id, family_id=family_id))
    assert ledger.notice_status(db, notice_id)[family_id] == ledger.derive_status(everything)
    assert ledger.status_of(db, notice_id, family_id) == ledger.derive_status(everything)
    ledger.rebuild_status(db)
    assert ledger.status_of(db, notice_id, family_id) == ledger.derive_status(everything)


def test_a_batch_touching_more_pairs_than_one_query_keeps_every_status(db, school):
    """A kiosk pushes up to 500 events at once: their (notice, family) pairs are derived in
    chunks of PAIRS_PER_QUERY, and every pair's kept status equals the reference fold."""
    notices = [make_notice(db, publish_at="2020-01-01T00:00:00Z") for _ in range(ledger.PAIRS_PER_QUERY // 2 + 5)]
    families = [school["S1"], school["S2"]]
    events = [ev(n, f, kind, at=f"2020-11-23T08:0{i % 10}:00Z")
              for i, (n, f, kind) in enumerate((n, f, kind) for n in notices for f in families
                                                for kind in ("read", "reply"))]
    assert len({(e.notice_id, e.family_id) for e in events}) > ledger.PAIRS_PER_QUERY
    ledger.record(db, events)
    for n in notices:
        for f in families:
            assert ledger.status_of(db, n, f) == ledger.derive_status(ledger.events_for(db, notice_id=n, family_id=f))
            assert ledger.status_of(db, n, f).reply == "attend"

"""The sync protocol over real HTTP: enrolment, push, pull, and the faults a flaky link brings."""

import datetime as dt
import gzip
import json
import urllib.request

import pytest

from kiosk import store, sync
from server import clock, devices, ledger
from server.web import sync_api
from tests.builders import make_notice


def server_events(db, source_prefix="kiosk:"):
    return db.execute("SELECT count(*) FROM events WHERE source LIKE ?", [source_prefix + "%"]).fetchone()[0]


def test_enrolment_gives_a_replica_without_phone_numbers_or_private_words(db, school, kiosk_db):
    make_notice(db, private=True, texts={"zh-Hans": ("欠费提醒", "请尽快缴纳")})
    sync.sync(kiosk_db)
    assert kiosk_db.execute("SELECT count(*) FROM families").fetchone()[0] == 3
    columns = {r[1] for r in kiosk_db.execute("PRAGMA table_info(families)")}
    assert not {"phone", "guardians"} & columns
    dump = "\n".join(kiosk_db.iterdump())
    assert "13800138001" not in dump and "欠费" not in dump and "请尽快缴纳" not in dump
    assert kiosk_db.execute("SELECT count(*) FROM volunteers").fetchone()[0] == 1
    assert store.get(kiosk_db, "timezone") == "Asia/Shanghai"


def test_a_spent_or_unknown_code_is_refused(db, school_server, tmp_path):
    code = devices.new_code(db, "Desk")
    first = store.connect(tmp_path / "a.db")
    sync.enrol(first, school_server.url, code)
    second = store.connect(tmp_path / "b.db")
    with pytest.raises(sync.Refused, match="unknown, used or expired"):
        sync.enrol(second, school_server.url, code)


def test_push_records_once_with_the_kiosks_time_and_the_servers_time(db, school, kiosk_db):
    notice = make_notice(db)
    sync.sync(kiosk_db)
    store.record(kiosk_db, notice_id=notice, family_id=school["S1"], kind="confirmed", actor="volunteer:vol")
    kiosk_db.execute("UPDATE outbox SET occurred_at = '2001-01-01T00:00:00Z'")  # a kiosk with a wrong clock
    assert sync.sync(kiosk_db).pushed == 1
    row = db.execute("SELECT channel, actor, occurred_at, recorded_at, payload FROM events"
                     " WHERE source LIKE 'kiosk:%'").fetchone()
    # Before the notice was published is impossible: the server's receipt time counts, the claim is kept.
    assert row[:2] == ("kiosk", "volunteer:vol") and row[2] == row[3]
    assert json.loads(row[4]) == {"claimed_at": "2001-01-01T00:00:00Z"}
    assert store.waiting(kiosk_db) == 0


def test_the_same_batch_twice_and_a_lost_reply_double_nothing(db, school, kiosk_db):
    notice = make_notice(db)
    sync.sync(kiosk_db)
    for family in ("S1", "S2"):
        store.record(kiosk_db, notice_id=notice, family_id=school[family], kind="confirmed", actor="volunteer:vol")
    events = [{**{k: r[k] for k in ("id", "notice_id", "family_id", "kind", "occurred_at", "actor")}, "payload": {}}
              for r in kiosk_db.query("SELECT * FROM outbox")]
    # The push reached the server, but the reply was lost: the kiosk still has them as unsent.
    sync._request(kiosk_db, "POST", "/api/sync/push", {"events": events}, sync.SyncResult())
    assert server_events(db) == 2 and store.waiting(kiosk_db) == 2
    assert sync.sync(kiosk_db).pushed == 2
    assert server_events(db) == 2 and store.waiting(kiosk_db) == 0


def test_offline_keeps_everything_and_sends_later(db, school, kiosk_db, school_server):
    notice = make_notice(db)
    sync.sync(kiosk_db)
    school_server.stop()
    store.record(kiosk_db, notice_id=notice, family_id=school["S1"], kind="confirmed", actor="volunteer:vol")
    with pytest.raises(sync.Offline):
        sync.sync(kiosk_db)
    assert store.waiting(kiosk_db) == 1
    school_server.start()
    sync.sync(kiosk_db)
    assert ledger.notice_status(db, notice)[school["S1"]].channels == ("kiosk",)


def test_an_interrupted_pull_resumes_where_it_stopped(db, school, kiosk_db, monkeypatch):
    # Published after the last pull: the notices come page by page all the same, not all at once
    # as "published since the last pull" (this failed whenever a second ticked over in between).
    last_pull = int(store.get(kiosk_db, "cursor").split(".")[2])
    monkeypatch.setattr(clock, "now", lambda: dt.datetime.fromtimestamp(last_pull + 1, clock.UTC))
    for i in range(12):
        make_notice(db, texts={"en": (f"Notice {i}", "x")})
    monkeypatch.setattr(sync_api, "PAGE", 3)
    calls = {"n": 0}
    real = sync._request

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise sync.Offline("the link dropped")
        return real(*args, **kwargs)
    monkeypatch.setattr(sync, "_request", flaky)
    with pytest.raises(sync.Offline):
        sync.sync(kiosk_db)
    partial = kiosk_db.execute("SELECT count(*) FROM notices").fetchone()[0]
    assert 0 < partial < 12
    sync.sync(kiosk_db)
    assert kiosk_db.execute("SELECT count(*) FROM notices").fetchone()[0] == 12


def test_a_revoked_kiosk_is_told_and_keeps_its_receipts(db, school, kiosk_db):
    notice = make_notice(db)
    sync.sync(kiosk_db)
    store.record(kiosk_db, notice_id=notice, family_id=school["S1"], kind="confirmed", actor="volunteer:vol")
    devices.revoke(db, store.get(kiosk_db, "device_id"))
    with pytest.raises(sync.Revoked, match="switched off"):
        sync.sync(kiosk_db)
    assert store.get(kiosk_db, "revoked") == "1" and store.waiting(kiosk_db) == 1
    assert server_events(db) == 0


def test_bad_pushes_are_refused_clearly(db, school, kiosk_db, school_server):
    token = store.get(kiosk_db, "token")

    def post(body: bytes, gzip_it=False):
        request = urllib.request.Request(school_server.url + "/api/sync/push", data=gzip.compress(body) if gzip_it else body,
                                         method="POST", headers={"Authorization": f"Bearer {token}",
                                                                 **({"Content-Encoding": "gzip"} if gzip_it else {})})
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    assert post(b"not json")[0] == 400
    assert post(b"\x1f\x8b broken gzip")[0] == 400
    status, answer = post(json.dumps({"events": [{"id": "x" * 20, "notice_id": 999, "family_id": 1, "kind": "confirmed",
                                                  "occurred_at": "2026-11-23T00:00:00Z"},
                                                 {"id": "y" * 20, "notice_id": 1, "family_id": 1, "kind": "void",
                                                  "occurred_at": "2026-11-23T00:00:00Z"}]}).encode(), gzip_it=True)
    assert status == 200 and [r["id"] for r in answer["rejected"]] == ["x" * 20, "y" * 20]
    assert post(json.dumps({"events": [{}] * 501}).encode())[0] == 413
    notice = make_notice(db, reply_options=["attend", "absent"])
    replies = [{"id": f"r{i}" * 8, "notice_id": notice, "family_id": school["S1"], "kind": "reply",
                "occurred_at": "2026-11-23T00:00:00Z", "payload": payload, "actor": "volunteer:vol"}
               for i, payload in enumerate([{"choice": {}}, {"choice": "maybe"}, {}, {"choice": "attend", "x": 1},
                                            {"choice": "attend"}])]
    status, answer = post(json.dumps({"events": replies}).encode())
    assert status == 200 and answer["accepted"] == [replies[-1]["id"]] and len(answer["rejected"]) == 4


def test_a_push_of_1000_events_fits_the_byte_budget(db, school, kiosk_db):
    notice = make_notice(db)
    sync.sync(kiosk_db)
    for i in range(1000):
        store.record(kiosk_db, notice_id=notice, family_id=school["S1" if i % 2 else "S2"], kind="confirmed",
                     actor="volunteer:vol")
    result = sync.SyncResult()
    sync.push(kiosk_db, result)
    assert result.pushed == 1000 and result.bytes_sent <= 60_000


def test_the_server_decides_who_for_whom_and_when(db, school, kiosk_db):
    """A push names a notice, a family, a volunteer and a time; the server checks each."""
    from server import clock

    for_3a = make_notice(db, classes=["3A"], reply_options=[])
    private = make_notice(db, classes=["3A"], reply_options=[], private=True)
    later = make_notice(db, classes=["3A"], reply_options=[], publish_at=clock.iso(clock.now() + dt.timedelta(days=1)))
    sync.sync(kiosk_db)
    s1, s3 = school["S1"], school["S3"]  # S1 is in 3A, S3 is not
    cases = {
        "other class": (for_3a, s3, "volunteer:vol", "not sent to family"),
        "private": (private, s1, "volunteer:vol", "phone line"),
        "as the office": (for_3a, s1, "office", "not an active volunteer"),
        "scheduled": (later, s1, "volunteer:vol", "does not exist"),
    }
    events = [{"id": f"{name:_<16}", "notice_id": n, "family_id": f, "kind": "confirmed", "actor": actor,
               "occurred_at": clock.now_iso(), "payload": {}} for name, (n, f, actor, _why) in cases.items()]
    events.append({"id": "from-2099-kiosk-1", "notice_id": for_3a, "family_id": s1, "kind": "confirmed",
                   "actor": "volunteer:vol", "occurred_at": "2099-01-01T00:00:00Z", "payload": {}})
    answer = sync._request(kiosk_db, "POST", "/api/sync/push", {"events": events}, sync.SyncResult())
    reasons = {r["id"].rstrip("_"): r["reason"] for r in answer["rejected"]}
    for name, (_n, _f, _actor, why) in cases.items():
        assert why in reasons[name], (name, reasons.get(name))
    assert answer["accepted"] == ["from-2099-kiosk-1"]
    row = db.execute("SELECT occurred_at, recorded_at, actor, payload FROM events WHERE id = 'from-2099-kiosk-1'").fetchone()
    assert row[0] == row[1] <= clock.now_iso() and row[2] == "volunteer:vol"
    assert json.loads(row[3]) == {"claimed_at": "2099-01-01T00:00:00Z"}
    assert server_events(db) == 1


def test_a_scheduled_notice_reaches_the_kiosk_only_once_published(db, school, kiosk_db):
    """Whatever the kiosk's clock says: the server holds the notice back until its publish time."""
    from server import clock

    scheduled = make_notice(db, publish_at=clock.iso(clock.now() + dt.timedelta(hours=2)))
    sync.sync(kiosk_db)
    assert kiosk_db.execute("SELECT count(*) FROM notices WHERE id = ?", [scheduled]).fetchone()[0] == 0
    with clock.travelling(clock.now() + dt.timedelta(hours=3)):
        sync.sync(kiosk_db)
    assert kiosk_db.execute("SELECT count(*) FROM notices WHERE id = ?", [scheduled]).fetchone()[0] == 1


def test_a_kiosk_gets_volunteers_costly_pin_hashes_and_nobody_elses(db, school, kiosk_db):
    from server import users
    assert db.execute("SELECT count(*) FROM users WHERE role != 'volunteer'").fetchone()[0] > 0
    held = kiosk_db.execute("SELECT username, password_hash FROM volunteers").fetchall()
    assert [(name, stored.split("$")[0]) for name, stored in held] == [("vol", users.PIN_METHOD)]
    office_hash = db.execute("SELECT password_hash FROM users WHERE username = 'office'").fetchone()[0]
    assert office_hash.split("$")[-1] not in "\n".join(kiosk_db.iterdump())


def test_a_corrected_notice_leaves_the_kiosk_and_its_correction_arrives(db, school, kiosk_db):
    from server import clock, notice_versions, settings

    notice = make_notice(db)
    sync.sync(kiosk_db)
    weeks = {clock.iso_week(clock.now(), settings.zone(db))}
    assert [n["id"] for n in store.family_notices(kiosk_db, school["S1"], weeks)] == [notice]
    corrected = notice_versions.correct_notice(db, notice, texts={"zh-Hans": ("秋游改期", "改到下周一。")},
                                               reason="日期写错", created_by="office")
    sync.sync(kiosk_db)
    assert [n["id"] for n in store.family_notices(kiosk_db, school["S1"], weeks)] == [corrected]

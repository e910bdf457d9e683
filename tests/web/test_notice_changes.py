"""Notices change in the open: edited until published, then corrected or withdrawn as a new
version; families who had read it are told on their channel; the old one is no longer chased."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from ivr import followup
from server import clock, ledger, notice_versions, notices, settings
from tests.builders import make_notice
from tests.conftest import csrf_token


@pytest.fixture
def office(client, login, staff):
    login("office", "office-pass")
    client.post("/lang/en", data={"csrf_token": csrf_token(client, "/"), "next": "/"})
    return client


def _post(client, url: str, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, "/"), **data}, follow_redirects=True)


def _later(hours: int = 48) -> str:
    return (clock.now() + dt.timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M")


def test_a_scheduled_notice_is_edited_in_its_form_which_keeps_its_replies(office, db):
    notice_id = make_notice(db, publish_at=_later(), reply_options=["attend", "bus:坐校车"])
    page = office.get(f"/notices/{notice_id}/edit").get_data(as_text=True)
    assert re.search(r'value="attend"\s+checked', page) and re.search(r'value="bus:坐校车"\s+checked', page)
    assert 'value="秋游通知"' in page
    reply = _post(office, f"/notices/{notice_id}/edit", title_en="Trip moved", body_en="To Monday.",
                  audience="classes", classes="3A", reply=["attend", "bus:坐校车"], requires_confirmation="on",
                  publish_at=_later().replace(" ", "T"))
    assert reply.status_code == 200
    edited = notices.get_notice(db, notice_id)
    assert edited["texts"] == {"en": {"title": "Trip moved", "body": "To Monday."}}
    assert [o["key"] for o in edited["reply_options"]] == ["attend", "bus"] and edited["state"] == "scheduled"


def test_the_form_keeps_ticked_replies_after_a_mistake(office, db):
    reply = _post(office, "/notices/new", title_en="No body", audience="classes", classes="3A", reply=["agree"])
    page = reply.get_data(as_text=True)
    assert reply.status_code == 400 and re.search(r'value="agree"\s+checked', page)
    assert not re.search(r'value="yes"\s+checked', page)


def test_a_published_notice_cannot_be_edited(office, db):
    notice_id = make_notice(db)
    page = _post(office, f"/notices/{notice_id}/edit", title_en="Sneaky", body_en="change",
                 audience="classes", classes="3A").get_data(as_text=True)
    assert "correct it or withdraw it" in page
    with pytest.raises(ValueError, match="already published"):
        notice_versions.edit_notice(db, notice_id, texts={"en": ("a", "b")}, classes=["3A"])
    assert notices.get_notice(db, notice_id)["texts"]["en"]["title"] == "Autumn trip"


def _read(db, notice_id: int, family_id: int, channel: str = "sms") -> None:
    ledger.record(db, [ledger.new_event(notice_id, family_id, channel, "confirmed", source="test", actor="family")])


def test_a_correction_is_a_new_version_readers_are_told_and_the_old_is_not_chased(office, db, school):
    away = clock.now().astimezone(settings.zone(db)) + dt.timedelta(hours=12)  # quiet hours far from now, any hour
    settings.put(db, "quiet_hours", f"{away:%H:%M}-{away + dt.timedelta(minutes=1):%H:%M}")
    notice_id = make_notice(db)
    db.execute("UPDATE families SET preferred_channel = 'sms' WHERE id = ?", [school["S1"]])
    _read(db, notice_id, school["S1"])
    page = _post(office, f"/notices/{notice_id}/correct", title_en="Autumn trip (new date)",
                 body_en="Monday, botanical garden.", reason="wrong day").get_data(as_text=True)
    assert "1 told by text" in page
    old, new = notices.get_notice(db, notice_id), notices.list_notices(db)[0]
    assert old["state"] == "corrected" and old["superseded_by"] == new["id"]
    assert new["version_kind"] == "correction" and new["reason"] == "wrong day" and new["classes"] == ["3A"]
    assert [o["key"] for o in new["reply_options"]] == ["attend", "absent"]
    sent = db.execute("SELECT to_number, body FROM outbox").fetchall()
    assert len(sent) == 1 and sent[0][0] == "+8613800138001" and "new date" in sent[0][1]
    assert ledger.notice_status(db, new["id"]).get(school["S1"]) is None  # they answer the new text again
    chased = {(n["id"], f["id"]) for n, f in followup.due(db, clock.now() + dt.timedelta(days=3))}
    assert not any(nid == notice_id for nid, _ in chased) and (new["id"], school["S2"]) in chased
    assert "corrected" in office.get(f"/notices/{notice_id}").get_data(as_text=True)
    listing = office.get("/").get_data(as_text=True)
    assert "state-corrected" in listing and "Autumn trip (new date)" in listing


def test_a_withdrawal_tells_families_in_their_language_and_nobody_is_chased(office, db, school):
    notice_id = make_notice(db)
    page = _post(office, f"/notices/{notice_id}/withdraw", reason="trip cancelled: rain").get_data(as_text=True)
    assert "withdrawn" in page
    new = notices.list_notices(db)[0]
    assert new["texts"]["zh-Hans"]["title"] == "已撤回：秋游通知"
    assert "trip cancelled: rain" in new["texts"]["en"]["body"]
    assert not new["requires_confirmation"] and new["reply_options"] == []
    assert notices.get_notice(db, notice_id)["state"] == "withdrawn"
    assert not followup.due(db, clock.now() + dt.timedelta(days=3))
    again = _post(office, f"/notices/{notice_id}/withdraw", reason="twice").get_data(as_text=True)
    assert "already withdrawn" in again
    assert len(notices.list_notices(db)) == 2


def test_a_change_needs_a_reason_and_a_teacher_changes_only_their_own(client, login, db, staff):
    whole = make_notice(db, classes=None)
    own = make_notice(db, classes=["3A"])
    login("t3a", "teacher-pass")
    client.post("/lang/en", data={"csrf_token": csrf_token(client, "/"), "next": "/"})
    assert _post(client, f"/notices/{whole}/withdraw", reason="x").status_code == 404
    page = _post(client, f"/notices/{own}/withdraw", reason=" ").get_data(as_text=True)
    assert "say why" in page and notices.get_notice(db, own)["state"] == "published"
    assert _post(client, f"/notices/{own}/withdraw", reason="wrong class").status_code == 200
    assert notices.get_notice(db, own)["state"] == "withdrawn"


def test_a_private_notice_corrected_is_never_put_in_a_text(office, db, school):
    notice_id = make_notice(db, private=True, texts={"en": ("Fees", "Your fee of 300 is due.")})
    db.execute("UPDATE families SET preferred_channel = 'sms'")
    _read(db, notice_id, school["S1"])
    new_id = notice_versions.correct_notice(db, notice_id, texts={"zh-Hans": ("学费", "学费 320 元。")}, reason="amount",
                                            created_by="office")
    told = followup.tell_readers(db, notice_id, notices.get_notice(db, new_id))
    assert told == {"sms": 0, "voice": 0, "elsewhere": 1} and not db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    assert notices.get_notice(db, new_id)["primary_language"] == "zh-Hans"

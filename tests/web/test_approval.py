"""Approval before sending: a teacher's notice waits, reaches no family on any channel, is sent
back with a comment or approved by the office, and keeps the time its teacher chose."""

from __future__ import annotations

import datetime as dt

import pytest

from ivr.simulator import Phone
from print import batch
from server import approval, clock, links, notices, settings
from server.errors import UnknownNotice
from tests.conftest import csrf_token
from tests.server.test_cli import run

KNOWN = "+8613800138001"  # S1's guardian (3A)


def _post(client, url: str, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, "/"), **data}, follow_redirects=True,
                       headers={"Accept-Language": "en"})


def _write(client, title="运动会", publish_at=""):
    return _post(client, "/notices/new", title_zh_Hans=title, **{"title_zh-Hans": title, "body_zh-Hans": "周五上午"},
                 audience="classes", classes="3A", requires_confirmation="on", publish_at=publish_at)


@pytest.fixture
def on(db, staff):
    settings.put(db, "approval_required", "on")


def _newest(db) -> dict:
    return notices.get_notice(db, db.execute("SELECT max(id) FROM notices").fetchone()[0])


def test_a_teachers_notice_waits_and_reaches_nobody_until_approved(app, client, login, db, school, on):
    login("t3a", "teacher-pass")
    assert "waits for the office to approve it" in _write(client).get_data(as_text=True)
    notice = _newest(db)
    assert notice["state"] == "waiting" and notice["publish_at"] == notices.NEVER
    assert not notices.is_published(notice)
    with pytest.raises(UnknownNotice):
        notices.get_published(db, notice["id"])
    family = app.test_client().get(f"/f/{links.make_token(db, school['S1'])}").get_data(as_text=True)
    assert "运动会" not in family
    assert "运动会" not in Phone(app, KNOWN).dial().text
    with pytest.raises(batch.NothingToPrint):
        batch.plan(db, notice["week"])
    assert _post(client, f"/notices/{notice['id']}/approve").status_code == 403  # a teacher does not approve

    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login("office", "office-pass")
    queue = client.get("/approvals").get_data(as_text=True)
    assert "运动会" in queue and '<span class="count">1</span>' in queue
    said = _post(client, f"/notices/{notice['id']}/approve", back="queue").get_data(as_text=True)
    assert "Approved" in said
    approved = notices.get_notice(db, notice["id"])
    assert approved["state"] == "published" and approved["approved_by"] == "office"
    assert approved["publish_at"] >= approved["approved_at"]  # never published before it was approved
    assert "运动会" in Phone(app, KNOWN).dial().text
    again = _post(client, f"/notices/{notice['id']}/approve").get_data(as_text=True)
    assert "is not waiting for approval" in again


def test_sent_back_with_a_comment_edited_and_approved_at_the_time_chosen(client, login, db, school, on):
    later = (clock.now() + dt.timedelta(days=2)).astimezone(settings.zone(db)).replace(second=0, microsecond=0)
    login("t3a", "teacher-pass")
    _write(client, publish_at=later.strftime("%Y-%m-%dT%H:%M"))
    notice = _newest(db)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login("office", "office-pass")
    empty = _post(client, f"/notices/{notice['id']}/send-back", comment="  ").get_data(as_text=True)
    assert "say what the teacher should change" in empty and _newest(db)["state"] == "waiting"
    _post(client, f"/notices/{notice['id']}/send-back", comment="请写明集合时间")
    assert _newest(db)["state"] == "sent_back"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    login("t3a", "teacher-pass")
    page = client.get(f"/notices/{notice['id']}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "请写明集合时间" in page
    _post(client, f"/notices/{notice['id']}/edit", **{"title_zh-Hans": "运动会", "body_zh-Hans": "周五上午8点集合"},
          audience="classes", classes="3A", requires_confirmation="on", publish_at=later.strftime("%Y-%m-%dT%H:%M"))
    assert _newest(db)["state"] == "waiting" and _newest(db)["texts"]["zh-Hans"]["body"] == "周五上午8点集合"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    login("admin", "admin-pass")
    _post(client, f"/notices/{notice['id']}/approve")
    approved = _newest(db)
    assert approved["state"] == "scheduled" and approved["publish_at"] == clock.iso(later)  # keeps its time


def test_with_approval_off_teachers_send_their_own_and_the_whole_school_needs_the_setting(client, login, db, staff):
    login("t3a", "teacher-pass")
    _write(client)
    assert _newest(db)["state"] == "published" and _newest(db)["approval"] is None
    refused = _post(client, "/notices/new", **{"title_zh-Hans": "全校", "body_zh-Hans": "x"}, audience="school",
                    requires_confirmation="on")
    assert refused.status_code == 400 and "Teachers send notices to their own classes" in refused.get_data(as_text=True)
    settings.put(db, "whole_school_senders", "staff")
    _post(client, "/notices/new", **{"title_zh-Hans": "全校", "body_zh-Hans": "x"}, audience="school",
          requires_confirmation="on")
    assert _newest(db)["whole_school"] == 1


def test_the_cli_approves_only_as_the_office(db_path, db, staff, on):
    notice_id = notices.add_notice(db, texts={"zh-Hans": ("家长会", "周三")}, classes=["3A"], created_by="t3a",
                                   held=approval.required(db, "teacher"))
    waiting = run(db_path, "notice", "list", "--waiting").stdout
    assert "家长会" in waiting and "waiting" in waiting
    by_teacher = run(db_path, "notice", "approve", notice_id, "--by", "t3a", check=False)
    assert by_teacher.returncode == 1 and "only the office or an admin approves notices" in by_teacher.stderr
    assert run(db_path, "notice", "approve", notice_id, "--by", "nobody", check=False).returncode == 1
    assert "approved" in run(db_path, "notice", "approve", notice_id, "--by", "office").stdout
    twice = run(db_path, "notice", "send-back", notice_id, "--by", "office", "--comment", "x", check=False)
    assert twice.returncode == 1 and "not waiting for approval" in twice.stderr
    assert "does not exist" in run(db_path, "notice", "approve", 999, "--by", "office", check=False).stderr

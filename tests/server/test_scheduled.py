"""Before its publish time a notice reaches no one by any channel, and nothing about it is recorded."""

import datetime as dt
import json
import re
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

import pytest

from ivr import chase, followup
from ivr.simulator import Phone
from print import bulletin
from server import clock, ledger, links, notices, receipts, settings, users
from server.errors import NotPublished, PaperBridgeError
from tests.builders import make_notice
from tests.conftest import csrf_token

pytestmark = pytest.mark.clock

KNOWN = "+8613800138001"  # S1's guardian (3A)


@pytest.fixture
def tomorrow(db, school):
    """A 3A notice that is published tomorrow, with reply options."""
    return make_notice(db, publish_at=clock.iso(clock.now() + dt.timedelta(days=1)))


def no_events(db) -> bool:
    return db.execute("SELECT count(*) FROM events").fetchone()[0] == 0


def test_the_ledger_refuses_it_whatever_the_channel(db, school, tomorrow):
    for channel, kind in (("paper", "confirmed"), ("digital", "read"), ("kiosk", "reply"), ("paper", "delivered")):
        payload = {"choice": "attend"} if kind == "reply" else {}
        with pytest.raises(NotPublished):
            ledger.record(db, [ledger.new_event(tomorrow, school["S1"], channel, kind, payload=payload)])
    assert no_events(db)


def test_a_text_naming_it_is_answered_not_found(app, db, school, tomorrow):
    response = Phone(app, KNOWN).post("/ivr/sms", {"MessageSid": "SM1", "From": KNOWN, "To": "+1",
                                                   "Body": f"1 {tomorrow}"})
    assert "通知编号或家庭编号不正确" in "".join(ET.fromstring(response.data).itertext())
    assert no_events(db)


def test_the_phone_line_does_not_play_or_record_it(app, db, school, tomorrow):
    phone = Phone(app, KNOWN)
    turn = phone.dial()
    assert "秋游通知" not in turn.text
    response = phone.post(f"/ivr/voice/key?n={tomorrow}", phone._form(Digits="1"))
    assert "秋游通知" not in response.get_data(as_text=True)
    assert no_events(db)


def test_chase_buttons_send_nothing_before_publish(client, db, staff, login, tomorrow):
    with pytest.raises(NotPublished):
        chase.chase(db, notices.get_notice(db, tomorrow), [school_family(db)], "text", "t3a")
    login("office", "office-pass")
    page = client.get(f"/notices/{tomorrow}?show=open", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "not published yet" in page and 'value="text"' not in page
    token = csrf_token(client, f"/notices/{tomorrow}?show=open")
    response = client.post(f"/notices/{tomorrow}/chase", data={"csrf_token": token, "action": "text",
                                                                 "family": str(school_family(db))})
    assert response.status_code == 302
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM contact_attempts").fetchone()[0] == 0 and no_events(db)


def school_family(db) -> int:
    return db.execute("SELECT family_id FROM students WHERE source_id = 'S1'").fetchone()[0]


def test_no_reminder_and_no_bulletin(db, school, tomorrow, tmp_path):
    later = clock.now() + dt.timedelta(hours=50)  # past publish + reminder delay, as far as `now` says; the clock says before publish
    local = later.astimezone(settings.zone(db))
    quiet = f"{(local + dt.timedelta(hours=2)):%H:%M}-{(local + dt.timedelta(hours=3)):%H:%M}"
    settings.put(db, "quiet_hours", quiet)
    db.execute("UPDATE families SET preferred_channel = 'sms' WHERE id = ?", [school["S2"]])  # a 3A family on texts
    assert followup.run(db, now=later) == []
    with pytest.raises(PaperBridgeError, match="nothing to print"):
        bulletin.print_bulletins(db, clock.iso_week(clock.now(), settings.zone(db)), out=tmp_path / "b.pdf")
    later = clock.iso(clock.now() + dt.timedelta(days=2))
    with pytest.raises(ValueError, match="later than now"):
        bulletin.print_bulletins(db, clock.iso_week(clock.now(), settings.zone(db)), out=tmp_path / "b.pdf",
                                 cutoff=later)
    assert not (tmp_path / "b.pdf").exists()


def test_the_family_link_and_the_api_do_not_know_it(client, db, school, tomorrow):
    url = links.url(db, school["S1"]).split("5000", 1)[-1]
    assert client.get(f"{url}/n/{tomorrow}").status_code == 404
    report = receipts.record_receipts(db, [("r1", receipts.Receipt(notice=str(tomorrow), student="S1"))],
                                      source="api:test")
    assert report.recorded == 0 and "no single notice" in report.unmatched[0]
    assert no_events(db)


def test_once_published_everything_works(app, db, school, tomorrow):
    with clock.travelling(clock.now() + dt.timedelta(days=1, minutes=1)):
        response = Phone(app, KNOWN).post("/ivr/sms", {"MessageSid": "SM2", "From": KNOWN, "To": "+1",
                                                       "Body": f"1 {tomorrow}"})
        assert "已收到" in "".join(ET.fromstring(response.data).itertext())
        assert ledger.status_of(db, tomorrow, school["S1"]).state == "confirmed"


def test_a_family_link_head_or_prefetch_records_no_read(client, db, school):
    notice = make_notice(db)
    url = links.url(db, school["S1"]).split("5000", 1)[-1] + f"/n/{notice}"
    assert client.head(url).status_code == 200
    assert client.get(url, headers={"Sec-Purpose": "prefetch"}).status_code == 200
    assert client.get(url, headers={"Purpose": "prefetch"}).status_code == 200
    assert no_events(db)
    client.get(url)
    assert ledger.status_of(db, notice, school["S1"]).state == "read"


def test_api_replays_record_nothing(live_server, db, school):
    notice = make_notice(db)
    token = users.add_integration(db, "wechat")

    def post(body, key=None):
        request = urllib.request.Request(live_server + "/api/receipts", data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": f"Bearer {token}",
                                                  **({"Idempotency-Key": key} if key else {})})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    body = {"receipts": [{"notice": str(notice), "student_id": "S1"}]}  # no read_at
    assert post(body)["recorded"] == 1
    assert post(body) == {"recorded": 0, "duplicates": 1, "unmatched": []}  # the same body again
    confirm = {"receipts": [{"notice": str(notice), "student_id": "S1", "kind": "confirmed"}]}
    assert post(confirm, key="req-42")["recorded"] == 1
    assert post(confirm, key="req-42")["recorded"] == 0
    other_class = {"receipts": [{"notice": str(notice), "student_id": "S3"}]}  # S3 is in 3B, the notice for 3A
    assert re.search(r"not sent to family", post(other_class)["unmatched"][0])

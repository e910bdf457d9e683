""""Please call me" requests reach the family's teachers and the office, stay on the chase list, and close."""

from ivr.simulator import Phone
from server import followups, ledger
from tests.builders import make_notice
from tests.conftest import csrf_token

KNOWN = "+8613800138001"  # S1's guardian (3A)


def test_pressing_nine_lands_on_the_teachers_call_back_list_and_is_closed_there(app, client, db, staff, login, school):
    notice = make_notice(db, reply_options=[])
    phone = Phone(app, KNOWN)
    phone.dial()
    phone.press("9")
    [item] = followups.open_items(db)
    assert followups.open_count(db) == 1 and followups.open_count(db, ["3A"]) == 1
    assert followups.open_count(db, ["3B"]) == 0
    assert item["family_id"] == school["S1"] and item["notice_id"] == notice and item["phones"] == KNOWN

    login("t3b", "teacher-pass")  # another class's teacher does not see it
    assert "Nobody is waiting" in client.get("/callbacks", headers={"Accept-Language": "en"}).get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    login("t3a", "teacher-pass")
    page = client.get("/callbacks", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert item["code"] in page and "pressed 9" in page and '<span class="count">1</span>' in page
    done = client.post(f"/callbacks/{item['id']}/done",
                       data={"csrf_token": csrf_token(client, "/callbacks"), "note": "spoke to grandfather"})
    assert done.status_code == 302 and followups.open_items(db) == []
    row = db.execute("SELECT done_by, done_note FROM followups").fetchone()
    assert tuple(row) == ("t3a", "spoke to grandfather")


def test_a_family_that_confirmed_but_asked_for_a_call_stays_on_the_chase_list(client, db, staff, login, school):
    notice = make_notice(db, reply_options=[])
    ledger.record(db, [ledger.new_event(notice, school["S1"], "paper", "confirmed")])
    followups.add(db, family_id=school["S1"], notice_id=None, reason="ticked 'please call me' on the paper slip",
                  source="scan:b1", actor="family", key="slip:1:call-me")
    login("office", "office-pass")
    page = client.get(f"/notices/{notice}?show=open", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "asked for a call back" in page and f'value="{school["S1"]}"' in page

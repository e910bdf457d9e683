"""What a grandparent asks at the help desk reaches the class teacher, and the answer comes back
on the family's next bulletin (a reprint says the same; a later week does not repeat it)."""

import pytest

from kiosk import store, sync
from print import bulletin
from server import clock, concerns, settings
from tests.builders import make_notice
from tests.print.conftest import page_texts


def test_a_question_typed_at_the_desk_is_answered_on_the_next_bulletin(db, school, kiosk_db, tmp_path):
    notice = make_notice(db)
    sync.sync(kiosk_db)
    store.concern(kiosk_db, family_id=school["S1"], volunteer="vol", words="奶奶问：秋游要带午饭吗？", notice_id=notice)
    assert store.waiting(kiosk_db) == 0  # not a receipt
    kiosk_db.execute("UPDATE outbox SET occurred_at = '2099-01-01T00:00:00Z'")  # a kiosk clock running ahead
    sync.sync(kiosk_db)
    sync.sync(kiosk_db)  # sent again after a lost reply: still one entry
    [entry] = concerns.listing(db)
    assert (entry["channel"], entry["words"], entry["notice_id"], entry["actor"]) == (
        "kiosk", "奶奶问：秋游要带午饭吗？", notice, "volunteer:vol")
    assert entry["received_at"] <= clock.now_iso() and db.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    concerns.answer(db, entry["id"], "要带，学校不提供午饭。", by="t3a")

    week = clock.iso_week(clock.now(), settings.zone(db))
    first = bulletin.print_bulletins(db, week, out=tmp_path / "a.pdf", family_code=db["families"].get(school["S1"])["code"])
    text = "".join(page_texts(first.out))
    assert "要带，学校不提供午饭。" in text and "秋游要带午饭吗" in text
    assert concerns.get(db, entry["id"])["told_via"] == f"bulletin:{week}"
    reprint = bulletin.print_bulletins(db, week, out=tmp_path / "b.pdf")
    assert "要带，学校不提供午饭。" in "".join(page_texts(reprint.out))


def test_the_desk_refuses_an_empty_question_and_the_server_a_forged_one(db, school, kiosk_db):
    make_notice(db)
    sync.sync(kiosk_db)
    with pytest.raises(ValueError, match="write what the family says"):
        store.concern(kiosk_db, family_id=school["S1"], volunteer="vol", words="   ")
    store.concern(kiosk_db, family_id=school["S1"], volunteer="nobody", words="伪造的")
    result = sync.sync(kiosk_db)
    assert result.rejected == 1 and concerns.listing(db) == []
    reason = kiosk_db.execute("SELECT rejected FROM outbox").fetchone()[0]
    assert "is not an active volunteer" in reason


def test_the_desk_form_saves_the_words_for_the_next_sync(db, school, kiosk_db, tmp_path):
    from kiosk.app import create_kiosk_app
    from tests.conftest import csrf_token

    notice = make_notice(db)
    sync.sync(kiosk_db)
    client = create_kiosk_app(tmp_path / "kiosk.db").test_client()
    token = csrf_token(client)
    client.post("/login", data={"username": "vol", "pin": "246813", "csrf_token": token})
    page = client.get(f"/family/{school['S1']}").get_data(as_text=True)
    assert 'name="words"' in page and f'value="{notice}"' in page
    empty = client.post(f"/family/{school['S1']}/concern", data={"words": " ", "csrf_token": token},
                        follow_redirects=True)
    assert "请写下家长想问或想说的话" in empty.get_data(as_text=True)
    client.post(f"/family/{school['S1']}/concern", data={"words": "爷爷问：要带雨伞吗？", "notice_id": notice,
                                                        "csrf_token": token})
    assert client.post(f"/family/{school['S1']}/concern", data={"words": "x", "notice_id": 99999,
                                                                "csrf_token": token}).status_code == 404
    sync.sync(kiosk_db)
    [entry] = concerns.listing(db)
    assert (entry["words"], entry["notice_id"], entry["channel"]) == ("爷爷问：要带雨伞吗？", notice, "kiosk")

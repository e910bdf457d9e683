import datetime as dt
import re

from server import clock, ledger, links
from tests.builders import make_notice

PHONE = {"User-Agent": "Mozilla/5.0 (Linux; Android 12) Mobile"}


def form_fields(page: str) -> dict:
    return dict(re.findall(r'name="(csrf_token|nonce)" value="([^"]+)"', page))


def status(db, notice_id, family_id):
    return ledger.notice_status(db, notice_id).get(family_id, ledger.Status())


def test_family_sees_its_notices_in_its_language(client, db, school):
    make_notice(db, texts={"zh-Hans": ("秋游通知", "周五"), "zh-Hant": ("秋遊通知", "週五")})
    make_notice(db, classes=["3B"], texts={"en": ("Only for 3B", "x")})
    page = client.get("/f/" + links.make_token(db, school["S2"]), headers=PHONE).get_data(as_text=True)
    assert "秋遊通知" in page and "Only for 3B" not in page and 'lang="zh-Hant"' in page
    english = client.get("/f/" + links.make_token(db, school["S2"]) + "?lang=en").get_data(as_text=True)
    assert "No notices" not in english and "Notices for" in english


def test_opening_records_read_once_and_confirming_records_confirmed(client, db, school):
    notice_id = make_notice(db, reply_options=[])
    family = school["S1"]
    url = f"/f/{links.make_token(db, family)}/n/{notice_id}"
    page = client.get(url, headers=PHONE).get_data(as_text=True)
    client.get(url, headers=PHONE)
    assert status(db, notice_id, family).state == "read"
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 1
    response = client.post(url, data=form_fields(page), headers=PHONE)
    assert response.status_code == 302
    assert status(db, notice_id, family).state == "confirmed"
    assert status(db, notice_id, family).channels == ("digital",)
    assert "谢谢" in client.get(url, headers=PHONE).get_data(as_text=True)


def test_link_previews_do_not_count_as_reading(client, db, school):
    notice_id = make_notice(db)
    url = f"/f/{links.make_token(db, school['S1'])}/n/{notice_id}"
    client.get(url, headers={"User-Agent": "WhatsApp/2.23.20.0"})
    client.get(url, headers={"User-Agent": "TelegramBot (like TwitterBot)"})
    assert status(db, notice_id, school["S1"]).state == "unread"


def test_reply_and_change_of_mind(client, db, school):
    notice_id = make_notice(db)
    family = school["S1"]
    url = f"/f/{links.make_token(db, family)}/n/{notice_id}"
    first = form_fields(client.get(url, headers=PHONE).get_data(as_text=True))
    client.post(url, data={**first, "choice": "attend"})
    client.post(url, data={**first, "choice": "attend"})  # double tap: same form, nothing new
    assert status(db, notice_id, family).reply == "attend"
    second = form_fields(client.get(url, headers=PHONE).get_data(as_text=True))
    client.post(url, data={**second, "choice": "absent"})
    assert status(db, notice_id, family).reply == "absent"
    kinds = [r[0] for r in db.execute("SELECT kind FROM events ORDER BY seq")]
    assert kinds.count("reply") == 2 and kinds.count("confirmed") == 1
    assert client.post(url, data={**second, "choice": "maybe"}).status_code == 400


def test_forged_revoked_and_foreign_links_are_404(client, db, school):
    notice_id = make_notice(db)
    token = links.make_token(db, school["S1"])
    assert client.get("/f/" + token[:-2] + "xx").status_code == 404
    assert client.get(f"/f/{links.make_token(db, school['S3'])}/n/{notice_id}").status_code == 404  # 3B family
    links.revoke(db, school["S1"])
    assert client.get("/f/" + token).status_code == 404
    assert client.get("/f/" + links.make_token(db, school["S1"])).status_code == 200


def test_scheduled_notices_stay_hidden_until_published(client, db, school):
    later = clock.iso(clock.now() + dt.timedelta(days=1))
    notice_id = make_notice(db, publish_at=later, texts={"en": ("Future", "x")})
    token = links.make_token(db, school["S1"])
    assert "Future" not in client.get("/f/" + token).get_data(as_text=True)
    assert client.get(f"/f/{token}/n/{notice_id}").status_code == 404


def test_posting_without_csrf_is_refused(client, db, school):
    notice_id = make_notice(db)
    url = f"/f/{links.make_token(db, school['S1'])}/n/{notice_id}"
    assert client.post(url, data={"choice": "attend"}).status_code == 400
    assert status(db, notice_id, school["S1"]).state == "unread"


def test_the_family_page_shows_its_phone_pin(client, db, school):
    from server import pins

    url = links.url(db, school["S1"]).split("5000", 1)[-1]
    assert pins.pin_for(db, school["S1"]) in client.get(url).get_data(as_text=True)

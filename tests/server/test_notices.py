import datetime as dt

import pytest

from server import clock, notices
from server.errors import UnknownNotice
from tests.builders import make_notice

pytestmark = pytest.mark.clock  # run again at chosen instants by tests/test_any_hour.py


def test_add_and_read_back(db, school):
    notice_id = make_notice(db, due_date="2026-11-27", private=True)
    notice = notices.get_notice(db, notice_id)
    assert notice["classes"] == ["3A"] and not notice["whole_school"] and notice["private"]
    assert [o["key"] for o in notice["reply_options"]] == ["attend", "absent"]
    assert notices.reply_label(notice, "attend", "zh-Hant") == "參加"
    assert notice["week"] == clock.iso_week(clock.now(), dt.timezone(dt.timedelta(hours=8)))


def test_language_fallback(db, school):
    notice = notices.get_notice(db, make_notice(db))
    assert notices.text_for(notice, "zh-Hant") == ("秋遊通知", "週五去植物園。", "zh-Hant")  # converted, never Simplified
    assert notices.version_note(notice, "zh-Hant") == "converted" and notices.version_note(notice, "zh-Hans") is None
    assert notices.text_for(notice, "en")[0] == "Autumn trip"
    assert notices.text_for(notice, "yue-Hant")[2] == "zh-Hant"
    english_only = notices.get_notice(db, make_notice(db, texts={"en": ("Sports day", "Wear trainers.")}))
    assert notices.text_for(english_only, "zh-Hans")[2] == "en" and notices.version_note(english_only, "zh-Hans") == "nearest"


def test_audience(db, school):
    whole = notices.get_notice(db, make_notice(db, classes=None))
    only_3a = notices.get_notice(db, make_notice(db))
    assert notices.audience(db, whole) == sorted(school.values())
    assert notices.audience(db, only_3a) == sorted([school["S1"], school["S2"]])
    assert notices.audience(db, whole, ["3B"]) == [school["S3"]]
    assert notices.audience(db, only_3a, ["3B"]) == []


def test_scheduled_notice_is_not_published_yet(db, school):
    later = (clock.now() + dt.timedelta(days=2)).isoformat()
    notice_id = make_notice(db, publish_at=later)
    assert not notices.is_published(notices.get_notice(db, notice_id))
    assert notice_id not in [n["id"] for n in notices.list_notices(db, published_only=True)]
    assert notice_id in [n["id"] for n in notices.list_notices(db)]


@pytest.mark.parametrize("overrides, message", [
    ({"texts": {}}, "at least one language"),
    ({"texts": {"fr": ("Titre", "Texte")}}, "not 'fr'"),
    ({"texts": {"en": ("Title", "  ")}}, "title and a body"),
    ({"classes": ["9Z"]}, "unknown class 9Z"),
    ({"classes": []}, "at least one class"),
    ({"reply_options": ["maybe"]}, "not a known answer"),
    ({"reply_options": ["yes", "yes"]}, "must differ"),
    ({"reply_options": ["a b:x"]}, "short word"),
    ({"due_date": "next friday"}, "Invalid isoformat"),
])
def test_bad_notices_are_refused(db, school, overrides, message):
    with pytest.raises(ValueError, match=message):
        make_notice(db, **overrides)
    assert db.execute("SELECT count(*) FROM notices").fetchone()[0] == 0


def test_custom_reply_option(db, school):
    notice = notices.get_notice(db, make_notice(db, reply_options=["bus:坐校车"]))
    assert notices.reply_label(notice, "bus", "en") == "坐校车"


def test_unknown_notice(db):
    with pytest.raises(UnknownNotice):
        notices.get_notice(db, 42)

"""Reading-time insight over a school whose reading times are known to the minute: the figures,
the weekday × hour grid in local time, channels, the roll-ups, and what is left out."""

import datetime as dt
import io
import json

import pytest
from openpyxl import load_workbook

from server import clock, insight, ledger, notice_versions, notices, settings
from tests.builders import make_notice
from tests.server.test_cli import run


@pytest.fixture
def week(db, school):
    """One notice to 3A and 3B published 3 days ago at 09:00 Shanghai time: S1 confirms by text 2 h
    later, S2 reads on the app 30 h later and confirms on paper at 50 h, S3 never does."""
    settings.put(db, "timezone", "Asia/Shanghai")
    zone = settings.zone(db)
    published = (clock.now() - dt.timedelta(days=3)).astimezone(zone).replace(hour=9, minute=0, second=0,
                                                                            microsecond=0)
    notice = make_notice(db, classes=["3A", "3B"], reply_options=[], publish_at=clock.iso(published))

    def at(hours):
        return clock.iso(published + dt.timedelta(hours=hours))
    ledger.record(db, [
        ledger.new_event(notice, school["S1"], "sms", "confirmed", occurred_at=at(2)),
        ledger.new_event(notice, school["S2"], "digital", "read", occurred_at=at(30)),
        ledger.new_event(notice, school["S2"], "paper", "confirmed", occurred_at=at(50)),
    ])
    return notice, published


def test_the_figures_of_the_whole_school(db, school, week):
    notice, published = week
    report = insight.report(db)
    total = report["total"]
    assert (total["pairs"], total["confirmed"], total["within_24_pct"], total["within_72_pct"]) == (3, 2, 33.3, 66.7)
    assert 2 <= total["median_hours"] <= 51
    assert report["channels"]["sms"]["median_hours"] == pytest.approx(2.5, abs=0.5)
    assert report["channels"]["paper"]["median_hours"] == pytest.approx(50.5, abs=0.5)
    reads = report["heat"]["read"]
    assert sum(map(sum, reads)) == 2  # first reads: S1 (by its confirmation) and S2
    assert reads[published.weekday()][11] == 1  # 09:00 + 2 h, local time
    later = published + dt.timedelta(hours=30)
    assert reads[later.weekday()][later.hour] == 1
    assert report["suggested_hour"] in (10, later.hour - 1)


def test_a_voided_confirmation_a_replaced_notice_and_a_held_one_do_not_count(db, school, week):
    notice, _published = week
    confirmed = db.execute("SELECT id FROM events WHERE family_id = ? AND kind = 'confirmed'", [school["S1"]]).fetchone()
    ledger.void(db, confirmed[0], actor="office", reason="wrong family")
    assert insight.report(db)["total"]["confirmed"] == 1
    notices.add_notice(db, texts={"zh-Hans": ("等待", "审批中")}, classes=["3A"], held=True)
    assert insight.report(db)["total"]["pairs"] == 3
    notice_versions.correct_notice(db, notice, texts={"zh-Hans": ("改", "改了")}, reason="错字", created_by="office")
    corrected = insight.report(db)["total"]
    assert corrected["pairs"] == 3 and corrected["confirmed"] == 0  # the old version's receipts stay with it


def test_roll_ups_school_grade_class_family(db, school, week):
    assert [(r["name"], r["pairs"], r["confirmed"]) for r in insight.rollup(db, "school")] == [("3", 3, 2)]
    assert [(r["name"], r["pairs"], r["confirmed"]) for r in insight.rollup(db, "grade", "3")] == [
        ("3A", 2, 2), ("3B", 1, 0)]
    families = {r["code"]: r for r in insight.rollup(db, "class", "3A")}
    assert sorted(r["confirmed"] for r in families.values()) == [1, 1] and len(families) == 2
    assert insight.rollup(db, "grade", "3", classes=["3B"]) == [insight.rollup(db, "grade", "3")[1]]
    assert insight.report(db, weeks=1, now=clock.now() + dt.timedelta(weeks=3))["total"]["pairs"] == 0


def test_the_cli_and_its_files(db_path, db, school, week, tmp_path):
    said = json.loads(run(db_path, "insight", "--format", "json").stdout)
    assert said["total"]["confirmed"] == 2 and said["rows"][0]["name"] == "3"
    table = run(db_path, "insight", "--grade", "3").stdout
    assert "3A" in table and "Suggested sending time" in table
    run(db_path, "insight", "--class", "3A", "--out", tmp_path / "3A.xlsx")
    book = load_workbook(io.BytesIO((tmp_path / "3A.xlsx").read_bytes()))
    assert book.sheetnames == ["Class 3A", "Channels", "First reads by hour"]
    run(db_path, "insight", "--out", tmp_path / "school.pdf")
    assert (tmp_path / "school.pdf").read_bytes().startswith(b"%PDF")
    assert "no class '9Z'" in run(db_path, "insight", "--class", "9Z", check=False).stderr
    assert run(db_path, "insight", "--out", tmp_path / "x.doc", check=False).returncode == 2
    assert run(db_path, "insight", "--weeks", "0", check=False).returncode == 2

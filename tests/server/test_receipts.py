import datetime as dt

import pytest

from server import clock, ledger, receipts, status
from tests.builders import days_ago, make_notice

SCHOOL = dt.timezone(dt.timedelta(hours=8))  # the test school's time zone (Asia/Shanghai)


def write(path, text, encoding="utf-8"):
    path.write_text(text, encoding=encoding)
    return path


def test_import_matches_by_student_phone_and_family_code_and_replay_is_a_no_op(db, school, tmp_path):
    notice_id = make_notice(db, classes=None, publish_at=days_ago(3))
    code_s3 = db["families"].get(school["S3"])["code"]
    day = days_ago(1, SCHOOL, "%Y-%m-%d")
    path = write(tmp_path / "wechat.csv",
                 "student id,phone,family code,notice,read time\n"
                 f"S1,,,{notice_id},{day} 09:00\n"
                 f",138 0013 8002,,秋游通知,{day} 10:00\n"
                 f",,{code_s3},{notice_id},{day}T11:00:00+08:00\n"
                 f"S999,,,{notice_id},{day} 09:00\n"
                 f"S1,,,没有这个通知,{day} 09:00\n")
    report = receipts.import_file(db, path)
    assert (report.recorded, report.duplicates, report.exit_code) == (3, 0, 1)
    assert [u.split(":")[1] for u in report.unmatched] == ["5", "6"]
    statuses = ledger.notice_status(db, notice_id)
    assert statuses[school["S1"]].first_at == clock.normalize(f"{day} 09:00", SCHOOL)  # school time is UTC+8
    assert statuses[school["S1"]].first_at.endswith("T01:00:00Z")
    assert {statuses[f].state for f in school.values()} == {"read"}

    again = receipts.import_file(db, path)
    assert (again.recorded, again.duplicates) == (0, 3)
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 3


def test_ambiguous_phone_is_never_guessed(db, school, tmp_path):
    db.execute("UPDATE guardians SET phone = '+8613800138001' WHERE family_id = ?", [school["S2"]])
    notice_id = make_notice(db)
    report = receipts.import_file(db, write(tmp_path / "r.csv", f"phone,notice\n13800138001,{notice_id}\n"))
    assert report.recorded == 0 and "no single family" in report.unmatched[0]


def test_gbk_receipts_with_chinese_headers(db, school, tmp_path):
    notice_id = make_notice(db, publish_at=days_ago(3))
    path = write(tmp_path / "r.csv", f"学号,通知,阅读时间\nS1,{notice_id},{days_ago(1, SCHOOL, '%Y-%m-%d')} 08:00\n",
                 encoding="gbk")
    assert receipts.import_file(db, path).recorded == 1


@pytest.mark.parametrize("text", ["name,when\nx,y\n", "notice\n1\n"])
def test_files_without_the_needed_columns(db, school, tmp_path, text):
    with pytest.raises(ValueError, match="needs a notice column"):
        receipts.import_file(db, write(tmp_path / "r.csv", text))


def test_bad_time_is_unmatched_not_a_crash(db, school, tmp_path):
    notice_id = make_notice(db)
    report = receipts.import_file(db, write(tmp_path / "r.csv", f"student id,notice,read time\nS1,{notice_id},yesterday\n"))
    assert report.recorded == 0 and report.exit_code == 2


def test_status_combines_digital_reads_and_imported_receipts(db, school, tmp_path):
    notice_id = make_notice(db)
    ledger.record(db, [ledger.new_event(notice_id, school["S1"], "digital", "read", dedupe_key="link:1")])
    receipts.import_file(db, write(tmp_path / "r.csv", f"student id,notice\nS2,{notice_id}\n"))
    ledger.record(db, [ledger.new_event(notice_id, school["S2"], "paper", "confirmed"),
                       ledger.new_event(notice_id, school["S2"], "paper", "reply", payload={"choice": "attend"})])
    report = status.notice_report(db, notice_id)
    assert report["totals"] == {"families": 2, "unread": 0, "read": 1, "confirmed": 1, "done": 1}
    assert report["by_channel"] == {"digital": 2}  # each family once, by the channel it first read on
    assert report["replies"] == {"attend": 1}
    assert status.notice_report(db, notice_id, ["3B"])["totals"]["families"] == 0

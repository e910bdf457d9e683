import zipfile
from pathlib import Path

import pytest

from server import ledger, roster
from server.errors import ImportFailed
from tests.builders import HEADER, make_notice, row, write_roster

ZH_HEADER = ["学号", "学生姓名", "班级", "家长姓名", "联系电话", "语言", "家庭编号", "首选渠道", "有智能手机"]
HANT_HEADER = ["學號", "學生姓名", "班級", "家長姓名", "聯絡電話", "語言", "家庭編號", "首選渠道", "有智能手機"]


def families(db):
    return {tuple(sorted(s["source_id"] for s in f["students"])): f for f in roster.list_families(db)}


@pytest.mark.parametrize("encoding, header", [
    ("utf-8", HEADER), ("utf-8-sig", ZH_HEADER), ("gbk", ZH_HEADER), ("gb18030", ZH_HEADER),
    ("big5", HANT_HEADER), ("utf-16", ZH_HEADER),
])
def test_encodings_and_chinese_headers(db, tmp_path, encoding, header):
    name, cls = ("陳美玲", "三年級1班") if encoding == "big5" else ("王小明", "三年级1班")
    path = write_roster(tmp_path / "r.csv", [row("S1", name, cls, "家長", "13800138001")],
                        header=header, encoding=encoding)
    report = roster.import_roster(db, path)
    assert report.exit_code == 0, report.rejected
    assert [s["name"] for f in roster.list_families(db) for s in f["students"]] == [name]


def test_gbk_file_with_english_headers_keeps_names(db, tmp_path):
    rows = [row(f"S{i}", n, "3A", n[0] + "奶奶", f"1380013800{i}") for i, n in enumerate(["王小明", "李华", "张伟", "刘洋"])]
    report = roster.import_roster(db, write_roster(tmp_path / "r.csv", rows, encoding="gbk"))
    assert report.format == "CSV (gb18030, commas)"
    assert sorted(s["name"] for f in roster.list_families(db) for s in f["students"]) == sorted(["王小明", "李华", "张伟", "刘洋"])


def test_bad_rows_are_reported_by_line_and_good_rows_import(db, tmp_path):
    path = write_roster(tmp_path / "r.csv", [
        row("S1"),
        row("", "无学号"),                                   # line 3
        row("S3", "李华", "3A", language="klingon"),          # line 4
        row("S4", "张伟", "3B", channel="pigeon"),            # line 5
        row("S5", "刘洋", "3B", smartphone="maybe"),          # line 6
        row("S1", "王小明", "4A"),                            # line 7: same student, other class
        row("S6", "赵敏", "", phone="13800138006"),           # line 8: merged class cell, same as above
        row("S7", "孙丽", "3B", phone="12345"),               # imported, phone flagged
    ])
    report = roster.import_roster(db, path)
    assert report.exit_code == 1
    assert [(p.line, p.reason.split(" ")[0]) for p in report.rejected] == [
        (3, "missing"), (4, "unknown"), (5, "unknown"), (6, "'has"), (7, "student")]
    assert "other" not in report.rejected[4].reason and "class" in report.rejected[4].reason
    assert "r.csv:8: class blank: taken from line 7 above (merged cells)" in map(str, report.warnings)
    assert report.imported_rows == 3
    flagged = [g for f in roster.list_families(db) for g in f["guardians"] if not g["phone_valid"]]
    assert [g["phone"] for g in flagged] == ["12345"]
    assert any("12345" in str(w) for w in report.warnings)


def test_nothing_imported_leaves_database_unchanged(db, tmp_path):
    report = roster.import_roster(db, write_roster(tmp_path / "r.csv", [row("", "x"), row("S2", "", "3A")]))
    assert report.exit_code == 2
    assert db.execute("SELECT count(*) FROM families").fetchone()[0] == 0


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"name,phone\nx,1\n", "but not student id, student name, class"),
    (bytes(range(256)) * 4, "not UTF-8"),
])
def test_unreadable_files_fail_clearly(db, tmp_path, content, message):
    path = tmp_path / "r.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFailed, match=message):
        roster.import_roster(db, path)


def test_siblings_and_two_guardians_make_one_household(db, tmp_path):
    roster.import_roster(db, write_roster(tmp_path / "r.csv", [
        row("S1", "王小明", "3A", "王妈妈", "13800138001"),
        row("S2", "王小红", "4B", "王妈妈", "13800138001"),   # sibling, same phone, other class
        row("S2", "王小红", "4B", "王奶奶", "13900139002"),   # grandmother's own phone
        row("S3", "李华", "3A", "王奶奶", "139 0013 9002"),   # cousin looked after by grandmother
        row("S4", "张伟", "3A", "张爸爸", "13700137004"),
    ]))
    found = families(db)
    assert set(found) == {("S1", "S2", "S3"), ("S4",)}
    assert {g["phone"] for g in found[("S1", "S2", "S3")]["guardians"]} == {"+8613800138001", "+8613900139002"}


def test_family_id_column_wins_and_distinct_family_ids_never_merge(db, tmp_path):
    report = roster.import_roster(db, write_roster(tmp_path / "r.csv", [
        row("S1", "甲", "3A", "奶奶", "13800138001", family_id="F1"),
        row("S2", "乙", "3A", "奶奶", "13800138001", family_id="F2"),  # same grandmother, other household
        row("S3", "丙", "3B", "丙妈妈", "13700137003", family_id="F1"),
    ]))
    assert set(families(db)) == {("S1", "S3"), ("S2",)}
    assert any("shared by two family ids" in str(w) for w in report.warnings)


def test_reimport_updates_in_place_and_marks_leavers_inactive(db, tmp_path):
    first = [row("S1", "王小明", "3A"), row("S2", "陈美玲", "3A", "陈婆婆", "13800138002")]
    roster.import_roster(db, write_roster(tmp_path / "a.csv", first))
    before = {k: f["code"] for k, f in families(db).items()}
    family_of_s2 = families(db)[("S2",)]["id"]
    notice_id = make_notice(db)
    ledger.record(db, [ledger.new_event(notice_id, family_of_s2, "paper", "confirmed")])

    report = roster.import_roster(db, write_roster(tmp_path / "b.csv", [row("S1", "王小明", "4A"), row("S3", "新生", "3A", phone="13600136003")]))
    assert (report.students_added, report.students_updated, report.students_deactivated) == (1, 1, 1)
    assert families(db)[("S1",)]["code"] == before[("S1",)]
    assert db.execute("SELECT count(*) FROM students").fetchone()[0] == 3
    assert db["families"].get(family_of_s2)["active"] == 0
    assert ledger.notice_status(db, notice_id)[family_of_s2].state == "confirmed"  # receipts stay

    again = roster.import_roster(db, write_roster(tmp_path / "b.csv", [row("S1", "王小明", "4A"), row("S3", "新生", "3A", phone="13600136003")]))
    assert (again.families_created, again.students_added, again.students_deactivated) == (0, 0, 0)
    assert db.execute("SELECT count(*) FROM families").fetchone()[0] == 3


def test_a_rejected_row_does_not_mark_its_student_as_left(db, tmp_path):
    roster.import_roster(db, write_roster(tmp_path / "a.csv", [row("S1"), row("S2", "李华", "3A", phone="13800138002")]))
    report = roster.import_roster(db, write_roster(tmp_path / "b.csv", [row("S1"), row("S2", "李华", "3A", language="??")]))
    assert report.exit_code == 1 and report.students_deactivated == 0


def test_a_crash_mid_import_leaves_the_database_as_before(db, tmp_path, monkeypatch):
    roster.import_roster(db, write_roster(tmp_path / "a.csv", [row("S1")]))
    def boom(*_args):
        raise OSError("disk full")
    monkeypatch.setattr(roster, "_deactivate_missing", boom)
    with pytest.raises(OSError):
        roster.import_roster(db, write_roster(tmp_path / "b.csv", [row("S1", "改名"), row("S2", "李华", "3B", phone="13800138002")]))
    assert [s["name"] for f in roster.list_families(db) for s in f["students"]] == ["王小明"]
    assert db.execute("SELECT count(*) FROM classes").fetchone()[0] == 1


def oneroster_files(folder):
    folder.mkdir()
    (folder / "orgs.csv").write_text("sourcedId,status,name,type\nORG1,active,Demo School,school\n")
    (folder / "classes.csv").write_text("sourcedId,status,title,classCode,schoolSourcedId\nC1,active,Class 3A,3A,ORG1\nC2,active,Class 4B,4B,ORG1\n")
    (folder / "users.csv").write_text(
        "sourcedId,status,role,givenName,familyName,identifier,phone,sms,agentSourcedIds\n"
        "U1,active,student,小明,王,S1,,,\n"
        "U2,active,student,小红,王,S2,,,\n"
        "U3,active,parent,丽,王,,13800138001,,\"U1,U2\"\n"
        "U4,active,guardian,Grace,Lee,,,+85291234567,U5\n"
        "U5,active,student,Amy,Lee,S5,,,\n"
        "U6,active,student,无班,张,S6,,,\n", encoding="utf-8")
    (folder / "enrollments.csv").write_text(
        "sourcedId,status,classSourcedId,userSourcedId,role\nE1,active,C1,U1,student\nE2,active,C2,U2,student\nE3,active,C1,U5,student\n")
    return folder


def test_oneroster_folder(db, tmp_path):
    report = roster.import_roster(db, oneroster_files(tmp_path / "or"))
    assert report.format == "OneRoster 1.1" and report.exit_code == 1
    assert "no class enrollment" in report.rejected[0].reason and report.rejected[0].line == 7
    found = families(db)
    assert set(found) == {("S1", "S2"), ("S5",)}
    assert [s["name"] for s in found[("S1", "S2")]["students"]] == ["王小明", "王小红"]
    assert found[("S5",)]["guardians"][0]["phone"] == "+85291234567"


def test_oneroster_zip(db, tmp_path):
    folder = oneroster_files(tmp_path / "or")
    archive = tmp_path / "oneroster.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in folder.iterdir():
            z.write(f, f"export/{f.name}")
    assert roster.import_roster(db, archive).imported_rows == 3
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK not really")
    with pytest.raises(ImportFailed, match="not a readable zip"):
        roster.import_roster(db, broken)


def active_students(db):
    return {r[0] for r in db.execute("SELECT source_id FROM students WHERE active = 1")}


def test_one_classs_file_leaves_the_other_classes_alone(db, school, tmp_path):
    """Importing 3A's list (S2 has left 3A) marks only S2 as left; 3B's S3 is untouched."""
    path = write_roster(tmp_path / "3A.csv", [row("S1", "王小明", "3A", "王大明", "13800138001")])
    report = roster.import_roster(db, path)
    assert report.students_deactivated == 1 and report.left == ["陳美玲 (3A)"]
    assert active_students(db) == {"S1", "S3"}


def test_full_takes_the_file_as_the_whole_school(db, school, tmp_path):
    path = write_roster(tmp_path / "all.csv", [row("S1", "王小明", "3A", "王大明", "13800138001")])
    report = roster.import_roster(db, path, full=True)
    assert sorted(report.left) == ["Amy Lee (3B)", "陳美玲 (3A)"] and active_students(db) == {"S1"}


def test_dry_run_says_what_would_change_and_writes_nothing(db, school, tmp_path):
    before = db.execute("SELECT * FROM students ORDER BY id").fetchall(), db.execute(
        "SELECT * FROM families ORDER BY id").fetchall()
    path = write_roster(tmp_path / "all.csv", [row("S1", "王小明", "3A", "王大明", "13800138001"),
                                               row("S9", "新同学", "3C", "新家长", "13800138009")])
    report = roster.import_roster(db, path, full=True, dry_run=True)
    assert (report.families_created, report.students_added, report.students_deactivated) == (1, 1, 2)
    after = db.execute("SELECT * FROM students ORDER BY id").fetchall(), db.execute(
        "SELECT * FROM families ORDER BY id").fetchall()
    assert before == after
    assert db.execute("SELECT count(*) FROM classes WHERE id = '3C'").fetchone()[0] == 0


def test_the_cli_dry_run_lists_who_would_be_marked_left(db, school, tmp_path):
    from click.testing import CliRunner

    from server.cli import cli

    path = write_roster(tmp_path / "3A.csv", [row("S1", "王小明", "3A", "王大明", "13800138001")])
    db_file = db.execute("PRAGMA database_list").fetchone()[2]
    result = CliRunner().invoke(cli, ["roster", "import", str(path), "--dry-run", "--db", db_file])
    assert result.exit_code == 0
    assert "Dry run: nothing was written" in result.output and "left: 陳美玲 (3A)" in result.output
    assert "marked as left in the classes of this file" in result.output
    assert active_students(db) == {"S1", "S2", "S3"}


def _oneroster_zip(tmp_path, name, users_bytes=None, compression=zipfile.ZIP_DEFLATED):
    folder = oneroster_files(tmp_path / f"{name}-files")
    archive = tmp_path / name
    with zipfile.ZipFile(archive, "w", compression=compression) as z:
        for f in sorted(folder.iterdir()):
            if f.name == "users.csv" and users_bytes is not None:
                z.writestr("users.csv", users_bytes)
            else:
                z.write(f, f.name)
    return archive


def _patch_every_header(archive, field: str, value: int) -> None:
    """Rewrite a field in every local and central header (what a zip tool that uses it would write)."""
    data = bytearray(archive.read_bytes())
    offsets = {"flags": (6, 8), "method": (8, 10)}[field]
    for signature, offset in ((b"PK\x03\x04", offsets[0]), (b"PK\x01\x02", offsets[1])):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            old = int.from_bytes(data[start + offset:start + offset + 2], "little")
            new = old | value if field == "flags" else value
            data[start + offset:start + offset + 2] = new.to_bytes(2, "little")
            start += 4
    archive.write_bytes(bytes(data))


def test_a_oneroster_zip_bomb_is_refused_without_unpacking_it(db, tmp_path):
    header = b"sourcedId,status,role,givenName,familyName,identifier,phone,sms,agentSourcedIds\n"
    bomb = _oneroster_zip(tmp_path, "bomb.zip", header + b" " * (300 * 1024 * 1024))
    assert bomb.stat().st_size < 1024 * 1024
    with pytest.raises(ImportFailed, match="zip bomb"):
        roster.import_roster(db, bomb)
    assert db.execute("SELECT count(*) FROM students").fetchone()[0] == 0


def test_an_encrypted_zip_is_refused_with_a_sentence(db, tmp_path):
    archive = _oneroster_zip(tmp_path, "locked.zip")
    _patch_every_header(archive, "flags", 0x1)
    with pytest.raises(ImportFailed, match="password-protected"):
        roster.import_roster(db, archive)


def test_a_deflate64_zip_is_refused_with_a_sentence(db, tmp_path):
    archive = _oneroster_zip(tmp_path, "deflate64.zip", compression=zipfile.ZIP_STORED)
    _patch_every_header(archive, "method", 9)  # Deflate64, as Windows writes for large folders
    with pytest.raises(ImportFailed, match="Deflate64"):
        roster.import_roster(db, archive)


def test_a_csv_field_over_the_csv_limit_is_refused_with_its_line(db, tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text("学号,学生姓名,班级,家长姓名,联系电话,语言\nS1,王小明,3A,王丽,13800138001,zh\n"
                    f"S2,{'长' * 200_000},3A,李,13800138002,zh\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="huge.csv line 3"):
        roster.import_roster(db, path)
    assert db.execute("SELECT count(*) FROM students").fetchone()[0] == 0


def test_a_control_character_in_a_cell_is_refused_with_its_line_and_column(db, tmp_path):
    path = write_roster(tmp_path / "r.csv", [row("S1", "王小明"), row("S2", "李\x07华", "3A", phone="13800138002")])
    report = roster.import_roster(db, path)
    assert report.exit_code == 1 and report.imported_rows == 1
    assert [str(p) for p in report.rejected] == [
        "r.csv:3: student name has a control character (U+0007) at position 2; retype that cell in the file"]


@pytest.mark.parametrize("file_encoding, line_encoding, names, said", [
    ("big5", "gbk", ["陳美玲", "黃大文", "張家豪"], "GBK (Simplified Chinese)"),
    ("gbk", "big5", ["王小明", "李华", "张伟"], "Big5 (Traditional Chinese)"),
    ("gbk", "utf-8", ["王小明", "李华", "张伟"], "UTF-8"),
])
def test_a_line_in_another_encoding_is_refused_with_its_line(db, tmp_path, file_encoding, line_encoding, names, said):
    header = HANT_HEADER if file_encoding == "big5" else ZH_HEADER
    cls = "三年級1班" if file_encoding == "big5" else "三年级1班"
    rows = [row(f"S{i}", name, cls, name[0] + "婆婆", f"1380013800{i}") for i, name in enumerate(names)]
    path = write_roster(tmp_path / "r.csv", rows, header=header, encoding=file_encoding)
    lines = path.read_bytes().split(b"\n")
    words = ["陳志明", "三年級1班", "陳婆婆"] if line_encoding == "big5" else ["王小明", "三年级1班", "王奶奶"]
    pasted = ",".join(["S9", *words, "13800138009", "", "", "", ""]).encode(line_encoding)
    path.write_bytes(b"\n".join(lines[:2] + [pasted] + lines[2:]))
    report = roster.import_roster(db, path)
    assert report.exit_code == 1
    assert [(p.line, said in p.reason) for p in report.rejected] == [(3, True)]
    assert sorted(s["name"] for f in roster.list_families(db) for s in f["students"]) == sorted(names)


def test_an_unknown_number_range_still_joins_siblings_on_its_digits(db, tmp_path):
    """+852 7810 3102 is not in the phone-number metadata's ranges, but it is one grandmother's phone."""
    path = write_roster(tmp_path / "r.csv", [row("D1", "陈小明", "3A", "陈婆婆", "+85278103102"),
                                             row("D2", "陈小红", "4A", "陈婆婆", "(+852) 7810-3102")])
    report = roster.import_roster(db, path, region="HK")
    [family] = roster.list_families(db)
    assert sorted(s["source_id"] for s in family["students"]) == ["D1", "D2"]
    assert len(family["guardians"]) == 1 and not family["guardians"][0]["phone_valid"]
    assert all("used to join households on its digits" in w.reason for w in report.warnings)


def _students(db) -> list[tuple[str, str, str]]:
    return sorted((s["source_id"], s["name"], s["class_id"]) for f in roster.list_families(db) for s in f["students"])


def test_excel_unicode_text_is_utf16_with_tabs(db, tmp_path):
    path = tmp_path / "通讯录.txt"
    path.write_text("学号\t学生姓名\t班级\t家长姓名\t联系电话\r\nD001\t王小明\t3A\t王奶奶\t13800138001\r\n",
                    encoding="utf-16")
    report = roster.import_roster(db, path)
    assert report.exit_code == 0 and report.format == "CSV (utf-16, tabs)"
    assert _students(db) == [("D001", "王小明", "3A")]


def test_semicolons_from_a_european_excel(db, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("student id;student name;class;guardian name;guardian phone\nS1;Ana Li;3A;Mei Li;13800138001\n",
                    encoding="utf-8")
    assert roster.import_roster(db, path).format == "CSV (utf-8, semicolons)"
    assert _students(db) == [("S1", "Ana Li", "3A")]


def test_a_chinese_platform_export_title_row_markers_grade_two_guardians_merged_cells(db, tmp_path):
    """The shape of a class contact list from a school platform, saved from Excel as GBK CSV."""
    path = tmp_path / "三年级家长通讯录.csv"
    path.write_text(
        "三年级家长通讯录,,,,,,,\n"
        "导出时间：2026-11-30,,,,,,,\n"
        "*学号,姓名(*),【年级】,班级（必填）,家长1姓名,家长1电话,家长1亲子关系,家长2姓名,家长2电话\n"
        "D001,王小明,三年级,1班,王奶奶,13800138001,祖母,王爸爸,13900139001\n"
        "D002,李华,,,李妈妈,13800138002,母亲,,\n"
        "D003,张伟,三年级,2班,,,,张爷爷,13800138003\n",
        encoding="gbk")
    report = roster.import_roster(db, path)
    assert report.exit_code == 0, report.rejected
    assert report.format == "CSV (gb18030, commas, header on line 3)"
    assert _students(db) == [("D001", "王小明", "三年级1班"), ("D002", "李华", "三年级1班"), ("D003", "张伟", "三年级2班")]
    guardians = {f["students"][0]["source_id"]: sorted(g["name"] for g in f["guardians"]) for f in roster.list_families(db)}
    assert guardians == {"D001": ["王奶奶", "王爸爸"], "D002": ["李妈妈"], "D003": ["张爷爷"]}
    assert [str(w) for w in report.warnings] == [
        "三年级家长通讯录.csv:5: grade blank: taken from line 4 above (merged cells)",
        "三年级家长通讯录.csv:5: class blank: taken from line 4 above (merged cells)"]


def test_an_excel_workbook_with_numbers_a_title_and_a_named_sheet(db, tmp_path):
    from openpyxl import Workbook
    book = Workbook()
    book.active.title = "说明"
    book.active.append(["请在下一页填写"])  # an instructions sheet first: no header there
    sheet = book.create_sheet("三年级")
    sheet.append(["三年级一班家长通讯录"])
    sheet.append(["学号", "学生姓名", "班级", "家长姓名", "联系电话"])
    sheet.append([20260001, "王小明", "3A", "王奶奶", 13800138001])  # Excel keeps ids and phones as numbers
    sheet.append(["20260002", "李华", None, "李妈妈", "13800138002"])
    path = tmp_path / "通讯录.xlsx"
    book.save(path)
    report = roster.import_roster(db, path)
    assert report.exit_code == 0, report.rejected
    assert report.format == "Excel (sheet 三年级, header on row 2)"
    assert _students(db) == [("20260001", "王小明", "3A"), ("20260002", "李华", "3A")]
    phones = sorted(g["phone"] for f in roster.list_families(db) for g in f["guardians"])
    assert phones == ["+8613800138001", "+8613800138002"]
    with pytest.raises(ImportFailed, match="no sheet '四年级'; its sheets: 说明, 三年级"):
        roster.import_roster(db, path, sheet="四年级")


@pytest.mark.parametrize("content, message", [
    (b"not a zip at all", "not an Excel workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "not an Excel workbook"),  # an old .xls
])
def test_what_is_not_a_workbook_says_so(db, tmp_path, content, message):
    path = tmp_path / "r.xlsx"
    path.write_bytes(content)
    with pytest.raises(ImportFailed, match=message):
        roster.import_roster(db, path)


def test_an_xlsx_zip_bomb_is_refused(db, tmp_path):
    import zipfile
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<" * (80 * 1024 * 1024))
    with pytest.raises(ImportFailed, match="zip bomb"):
        roster.import_roster(db, path)


def test_the_same_student_id_in_other_letters_is_one_student(db, tmp_path):
    roster.import_roster(db, write_roster(tmp_path / "a.csv", [row("D005", "王小明", "3A")]))
    report = roster.import_roster(db, write_roster(tmp_path / "b.csv", [row("d005", "王小明", "3A"),
                                                                       row("E1", "李华", "3A", phone="13800138002"),
                                                                       row("e1", "李华", "3A", phone="13800138002")]))
    assert report.exit_code == 0 and report.students_deactivated == 0
    assert _students(db) == [("D005", "王小明", "3A"), ("E1", "李华", "3A")]
    assert [str(w) for w in report.warnings] == ["b.csv:2: student id d005 taken as D005 (the same id in other letters)",
                                                 "b.csv:4: student id e1 taken as E1 (the same id in other letters)"]


SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "oneroster"  # public exports; see SOURCE.txt there


def test_public_oneroster_sample_moodle_full_homeroom_and_only_real_guardians(db):
    report = roster.import_roster(db, SAMPLES / "moodle_v1p1_full")
    # its homeroom is marked tobedeleted, so the physics section; the teacher who is the student's
    # agent is not made a guardian
    assert _students(db) == [("mmichel.jones", "mmichel Jones", "Phys 100 - 1")]
    assert [g for f in roster.list_families(db) for g in f["guardians"]] == []
    assert sorted(p.reason for p in report.rejected) == ["student usr-222-567891 has no class enrollment",
                                                         "student usr-222-66778899 has no class enrollment"]


def test_public_oneroster_sample_moodle_minimal_homeroom_before_the_section_listed_first(db):
    roster.import_roster(db, SAMPLES / "moodle_v1p1_minimal")
    assert [(name, cls) for _, name, cls in _students(db)] == [("mmichel Jones", "History - 2")]


def test_public_oneroster_sample_with_v1_0_column_names(db):
    report = roster.import_roster(db, SAMPLES / "oat_v1p1_base")
    assert report.exit_code == 0
    assert _students(db) == [("user identifier", "ionut padurariu", "Class 1 title"),
                             ("user identifier 2", "ionut2 padurariu", "Class 3 title")]


def test_a_oneroster_1_2_export_says_what_it_is(db):
    with pytest.raises(ImportFailed, match="is a OneRoster 1.2 export; PaperBridge reads OneRoster 1.1"):
        roster.import_roster(db, SAMPLES / "moodle_v1p2_full")


def test_a_big5_file_with_a_title_row_and_tabs_is_read_as_big5(db, tmp_path):
    path = tmp_path / "r.txt"
    path.write_bytes("三年級家長通訊錄\n學號\t學生姓名\t班級\t家長姓名\t聯絡電話\nS1\t陳美玲\t三年級1班\t陳婆婆\t13800138001\n"
                     .encode("big5"))
    report = roster.import_roster(db, path)
    assert report.exit_code == 0 and report.format.startswith("CSV (big5hkscs, tabs")
    assert _students(db) == [("S1", "陳美玲", "三年級1班")]

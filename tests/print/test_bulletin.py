import json
import re

import pytest

from print import batch as batches
from print import bulletin, fonts
from print.layout import CURRENT
from server import clock, settings, tokens
from server import db as database
from server.errors import PaperBridgeError
from tests.builders import make_notice
from tests.print.conftest import page_images, page_texts, qr_codes


def this_week(db) -> str:
    """This week as the school counts it (its own time zone), which is the week a notice published now is in."""
    return clock.iso_week(clock.now(), settings.zone(db))


@pytest.fixture(scope="module")
def printed(demo_db, tmp_path_factory):
    """The demo school's whole week, printed once and rasterised at 200 dpi."""
    folder = tmp_path_factory.mktemp("batch")
    db = database.connect(demo_db)
    week = clock.iso_week(clock.now(), settings.zone(db))
    summary = bulletin.print_bulletins(db, week, out=folder / "week.pdf")
    yield {"db": db, "summary": summary, "texts": page_texts(summary.out),
           "images": page_images(summary.out, folder)}
    db.close()


def test_every_qr_on_every_page_decodes_to_the_family_on_that_page(printed):
    db, summary = printed["db"], printed["summary"]
    keys, school = settings.slip_keys(db), settings.get(db, "school_id")
    seen = []
    for text, image in zip(printed["texts"], printed["images"], strict=False):
        codes = qr_codes(image)
        if "Class pack" in text or "班通知包" in text:
            assert codes == []
            continue
        assert len(codes) == 1, image
        slip = tokens.verify_slip(codes[0].data.decode(), keys, school)
        record = bulletin.slip_record(db, slip.serial)
        family = db["families"].get(record["family_id"])
        assert family["code"] == slip.family_code and slip.week == summary.week
        assert family["code"] in text and family["display_name"] in text
        assert codes[0].rect.width / 29 >= 6  # >= 6 px per module at 200 dpi (version 3: 29 modules)
        seen.append(family["code"])
    assert len(seen) == len(set(seen)) == summary.families == summary.slips == 90


def test_families_come_in_class_then_student_order_with_a_pack_sheet_per_class(printed):
    texts = printed["texts"]
    packs = [i for i, t in enumerate(texts) if "班通知包" in t]
    assert len(packs) == 3 and packs[0] == 0
    covers = [re.findall(r"\b(\d{6})\b", texts[i]) for i in packs]
    family_pages = [re.search(r"\b(\d{6})\b", t).group(1) for t in texts if "班通知包" not in t]
    assert family_pages == [code for cover in covers for code in cover]


def test_each_language_reads_its_own_version(printed):
    db, texts = printed["db"], printed["texts"]
    for language, title in [("zh-Hans", "秋季植物园研学"), ("zh-Hant", "家長開放日"), ("en", "Parents' open day")]:
        code = db.execute("SELECT code FROM families WHERE language = ? AND active = 1 LIMIT 1", [language]).fetchone()[0]
        page = next(t for t in texts if code in t and "班通知包" not in t)
        assert title in page, language


def test_private_notices_are_never_printed_but_announced(printed):
    texts = "\n".join(printed["texts"])
    assert "流感疫苗" not in texts and "Flu vaccination" not in texts
    assert "保密信息" in texts and "private message" in texts


def test_missing_language_version_gets_a_note(printed):
    db, texts = printed["db"], printed["texts"]
    code = db.execute("SELECT f.code FROM families f JOIN students s ON s.family_id = f.id "
                      "WHERE f.language = 'zh-Hant' AND s.class_id = '4A' LIMIT 1").fetchone()[0]
    page = next(t for t in texts if code in t and "班通知包" not in t)
    assert "四年級數學競賽報名" in page and "由簡體中文版本自動轉換" in page  # converted, and says so
    assert "四年级数学竞赛报名" not in page


def test_sent_records_delivered_once(printed):
    db = printed["db"]
    first = bulletin.mark_sent(db, printed["summary"].week)
    assert first.recorded > 0 and bulletin.mark_sent(db, printed["summary"].week).recorded == 0
    assert db.execute("SELECT count(*) FROM events WHERE kind = 'delivered' AND channel = 'paper'").fetchone()[0] == first.recorded


# ---- small schools, edge cases -------------------------------------------------------------------

@pytest.mark.clock
def test_long_weeks_flow_and_the_slip_stays_whole_on_the_last_page(db, school, tmp_path):
    body = "\n".join(["这是一段很长的通知内容，用来检查分页是否正常。" * 12] * 14)
    for i in range(8):
        make_notice(db, texts={"zh-Hans": (f"通知{i}", body if i == 0 else "短")}, reply_options=[])
    summary = bulletin.print_bulletins(db, this_week(db), out=tmp_path / "b.pdf", family_code=db["families"].get(school["S1"])["code"])
    images = page_images(summary.out, tmp_path)
    assert summary.slips == 2  # 8 notices, 6 rows per slip
    with_qr = [i for i, image in enumerate(images) if qr_codes(image)]
    assert len(with_qr) == 2 and with_qr[-1] == len(images) - 1
    assert summary.pages >= 4
    rows = [json.loads(r[0]) for r in db.execute("SELECT notice_ids FROM slips ORDER BY id")]
    assert [len(r) for r in rows] == [6, 2]


@pytest.mark.clock
def test_large_print_uses_at_least_14_point_body_text(db, school, tmp_path):
    make_notice(db, texts={"en": ("Trip", "Friday at the garden, bring water")})
    import subprocess
    out = bulletin.print_bulletins(db, this_week(db), out=tmp_path / "big.pdf", large_print=True).out
    html = subprocess.run(["pdftotext", "-bbox", str(out), "-"], capture_output=True, text=True, check=True).stdout
    heights = [float(m[1]) - float(m[0]) for m in re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">water<', html)]
    assert heights and min(heights) >= 14


@pytest.mark.clock
def test_bad_input_is_explained(db, school, tmp_path):
    with pytest.raises(ValueError, match="not an ISO week"):
        bulletin.print_bulletins(db, "week 48", out=tmp_path / "x.pdf")
    with pytest.raises(batches.NothingToPrint, match="No notices"):
        bulletin.print_bulletins(db, "2030-W01", out=tmp_path / "x.pdf")
    make_notice(db)
    with pytest.raises(PaperBridgeError, match="Unknown class 9Z"):
        bulletin.print_bulletins(db, this_week(db), out=tmp_path / "x.pdf", classes=["9Z"])
    with pytest.raises(PaperBridgeError, match="No current family has the code 999"):
        bulletin.print_bulletins(db, this_week(db), out=tmp_path / "x.pdf", family_code="999")
    with pytest.raises(batches.NothingToPrint, match="None of the chosen families"):
        bulletin.print_bulletins(db, this_week(db), out=tmp_path / "x.pdf", classes=["3B"])  # the notice is for 3A
    with pytest.raises(PaperBridgeError, match="No bulletins have been printed"):
        bulletin.mark_sent(db, "2030-W01")
    assert not list(tmp_path.glob("*.pdf")) and not list(tmp_path.glob(".*.tmp"))


@pytest.mark.clock
def test_families_without_notices_get_no_page_but_are_counted(db, school, tmp_path):
    make_notice(db, classes=["3B"])
    summary = bulletin.print_bulletins(db, this_week(db), out=tmp_path / "b.pdf")
    assert (summary.families, summary.without_notices) == (1, 2)


@pytest.mark.clock
def test_a_failed_render_leaves_no_file_and_no_slips(db, school, tmp_path, monkeypatch):
    make_notice(db)
    (tmp_path / "b.pdf").write_bytes(b"last week's good file")
    def broken(*_args, **_kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(bulletin, "render", broken)
    with pytest.raises(OSError):
        bulletin.print_bulletins(db, this_week(db), out=tmp_path / "b.pdf")
    assert (tmp_path / "b.pdf").read_bytes() == b"last week's good file"
    assert db.execute("SELECT count(*) FROM slips").fetchone()[0] == 0
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_missing_font_names_what_to_install(tmp_path):
    with pytest.raises(fonts.FontMissing, match="apt-get install fonts-wqy-microhei"):
        fonts.find_font([tmp_path / "nothing.ttc"])
    not_a_font = tmp_path / "fake.ttf"
    not_a_font.write_bytes(b"not a font")
    with pytest.raises(fonts.FontMissing):
        fonts.find_font([not_a_font])


def test_layout_is_consistent():
    lay = CURRENT
    boxes = [lay.read_box(r) for r in range(lay.max_rows)] + \
            [lay.reply_box(r, o) for r in range(lay.max_rows) for o in range(len(lay.reply_x))] + [lay.call_me]
    for box in boxes:
        assert 0 < box.x and box.x + box.w < lay.width and 0 < box.y and box.y + box.h < lay.height
    assert lay.qr.x - lay.marker / 2 > 0  # markers stay outside the QR's quiet zone
    with pytest.raises(ValueError):
        lay.row_y(lay.max_rows)


@pytest.mark.clock
def test_names_with_markup_are_printed_literally(db, school, tmp_path):
    db.execute("UPDATE families SET display_name = '<b>Lee & Sons</b>' WHERE id = ?", [school["S3"]])
    make_notice(db, classes=["3B"], texts={"en": ("A <i>trip</i>", "Body & more")})
    out = bulletin.print_bulletins(db, this_week(db), out=tmp_path / "b.pdf").out
    text = "\n".join(page_texts(out))
    assert "<b>Lee & Sons</b>" in text and "A <i>trip</i>" in text


@pytest.mark.clock
def test_print_cutoff_leaves_out_later_notices(db, school, tmp_path):
    import datetime as dt

    early = clock.iso(clock.now() - dt.timedelta(hours=3))
    make_notice(db, publish_at=early, texts={"en": ("Early notice", "x")})
    make_notice(db, publish_at=clock.iso(clock.now() - dt.timedelta(minutes=5)), texts={"en": ("Late notice", "x")})
    cutoff = clock.iso(clock.now() - dt.timedelta(hours=1))
    out = bulletin.print_bulletins(db, clock.iso_week(clock.parse(early), dt.timezone(dt.timedelta(hours=8))),
                                   out=tmp_path / "b.pdf", cutoff=cutoff).out
    text = "\n".join(page_texts(out))
    assert "Early notice" in text and "Late notice" not in text


@pytest.mark.clock
def test_the_phone_pin_is_printed_only_in_the_familys_own_bulletin(db, school, tmp_path):
    from server import pins

    make_notice(db, classes=None)
    out = bulletin.print_bulletins(db, this_week(db), out=tmp_path / "b.pdf").out
    texts = page_texts(out)
    for student, family in school.items():
        pin = pins.pin_for(db, family)
        holding = [t for t in texts if pin in t.replace(" ", "")]
        assert len(holding) == 1, student
        code = db["families"].get(family)["code"]
        assert code in holding[0] and "Class pack" not in holding[0] and "班通知包" not in holding[0]

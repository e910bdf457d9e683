"""Names in any script print: rare Han characters, a Uyghur (Arabic script) and a Nepali
(Devanagari) name, accented Latin and a symbol; what no font has prints as its code, never blank."""

import re
import subprocess

import numpy as np
import pytest
from PIL import Image
from reportlab.pdfgen import canvas

from print import bulletin, fonts, text_runs
from server import clock, roster, settings
from tests.builders import make_notice, row, write_roster
from tests.print.conftest import page_texts

UYGHUR, NEPALI = "ئەركىن ئابدۇللا", "सुनिता श्रेष्ठ"
NAMES = ["𠮷田花子", "王𡈽", "李𬌗", UYGHUR, NEPALI, "Zoë Ó'Brien", "陳✗"]
ADLAM = "\U0001E900\U0001E923"  # a Fula name's Adlam letters: no installed font has them


def logical(text: str) -> str:
    """pdftotext writes right-to-left runs in visual order between RLE and PDF marks: read them back."""
    return re.sub("\u202b(.*?)\u202c", lambda m: m[1][::-1], text)


@pytest.fixture(scope="module")
def primary():
    return fonts.register()


def test_each_script_is_printed_by_a_font_that_has_it(primary):
    for name in NAMES:
        assert text_runs.unprintable(name, primary) == "", name
        assert all(run.face for run in text_runs.runs(name, primary))
    faces = {run.face.name for name in NAMES for run in text_runs.runs(name, primary)}
    assert {"PaperBridgeHanB", "PaperBridgeArabic", "PaperBridgeDevanagari", "PaperBridgeLatin"} <= faces
    assert text_runs.unprintable(f"Amadou {ADLAM}", primary) == ADLAM
    assert text_runs.code_form(ADLAM) == "[U+1E900][U+1E923]"


def test_every_name_has_ink_where_it_is_drawn_and_its_words_in_the_text_layer(primary, tmp_path):
    pdf, size = tmp_path / "names.pdf", 20
    page = canvas.Canvas(str(pdf), pagesize=(600, 60 * (len(NAMES) + 1)))
    boxes = []
    for n, name in enumerate([*NAMES, ADLAM]):
        y = 60 * (len(NAMES) + 1) - 60 * (n + 1)
        drawn = text_runs.draw(page, 20, y, name, size, primary)
        boxes.append((name, y, drawn))
    page.save()
    text = logical(subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True,
                                  check=True).stdout)
    for name in NAMES:
        assert name in text, name
    assert ADLAM in text  # copied or searched, the name as written; on paper, its code (ink checked below)
    assert boxes[-1][2] > text_runs.width("[U+1E900]", size, primary)
    subprocess.run(["pdftoppm", "-r", "100", "-gray", "-png", "-singlefile", str(pdf), str(tmp_path / "names")],
                   check=True)
    pixels = np.asarray(Image.open(tmp_path / "names.png"))
    scale = 100 / 72
    height = pixels.shape[0]
    for name, y, drawn in boxes:
        top, bottom = int(height - (y + size) * scale), int(height - (y - size * 0.3) * scale)
        crop = pixels[top:bottom, int(20 * scale):int((20 + drawn) * scale)]
        ink = (crop < 128).sum() / max(len(name.replace(" ", "")), 1)
        assert drawn > size * 0.6 * len(name.replace(" ", "")) * 0.4 and ink > 25, (name, drawn, ink)


def test_a_roster_of_such_names_prints_each_and_warns_only_about_what_no_font_has(db, tmp_path):
    path = write_roster(tmp_path / "names.csv", [
        row(f"S{n}", name, "3A", f"家长{n}", f"1380013{8000 + n}") for n, name in enumerate([*NAMES, f"Amadou {ADLAM}"])])
    report = roster.import_roster(db, path, unprintable=text_runs.name_check())
    warnings = [str(w) for w in report.warnings]
    assert len(warnings) == 1 and "names.csv:9" in warnings[0] and "U+1E900 U+1E923" in warnings[0]
    make_notice(db, reply_options=[], texts={"zh-Hans": ("运动会", "周五开运动会。")})
    summary = bulletin.print_bulletins(db, clock.iso_week(clock.now(), settings.zone(db)), out=tmp_path / "week.pdf")
    text = logical("\n".join(page_texts(summary.out)))
    for name in NAMES:
        assert name in text, name
    assert f"Amadou {ADLAM}" in text

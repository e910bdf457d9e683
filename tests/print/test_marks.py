"""Folds, stains and shadows are not ticks: slips that met a family's home are never read as marked
where nobody marked them; what is neither clearly a mark nor clearly empty goes to a person."""

import random

import cv2
import numpy as np
import pytest

from bench.scan_corpus import Marker, fold_and_stain, hostile, office, phone, slips_by_page
from print import qr_decode, slip_reader
from print.layout import CURRENT
from print.render import slip_origin_mm
from print.scan import scan_paths
from tests.print.conftest import page_images

BOXES = [CURRENT.read_box(row) for row in range(3)] + [CURRENT.reply_box(0, 0), CURRENT.call_me]


@pytest.fixture(scope="module")
def clean_pages(demo_db, tmp_path_factory):
    """Class 4A's printed slips, as clean 200 dpi page images (no marks)."""
    from print.bulletin import print_bulletins
    from server import clock, settings
    from server import db as database

    folder = tmp_path_factory.mktemp("marks")
    db = database.connect(demo_db)
    pdf = print_bulletins(db, clock.iso_week(clock.now(), settings.zone(db)), out=folder / "4A.pdf",
                          classes=["4A"]).out
    on_page = slips_by_page(db, pdf)
    db.close()
    images = page_images(pdf, folder)
    return [cv2.imread(str(images[i]), cv2.IMREAD_GRAYSCALE) for i in sorted(on_page)][:6]


def read(image: np.ndarray) -> list[str]:
    code = qr_decode.find_codes(image)[0]
    aligned = slip_reader.align(image, code.corners, code.text, CURRENT)
    slip = cv2.medianBlur(aligned.slip, 3)
    return [slip_reader.read_box(slip, box).state for box in BOXES]


@pytest.mark.parametrize("artifact", ["fold_centre", "fold_column", "coffee", "shadow"])
@pytest.mark.parametrize("profile", [office, phone])
def test_an_unmarked_slip_that_met_home_has_no_mark(clean_pages, artifact, profile):
    r, n = random.Random(artifact), np.random.default_rng(7)
    for page in clean_pages:
        image = page.copy()
        fold_and_stain(image, 200, CURRENT, artifact, r)
        assert "filled" not in read(profile(image, r, n)), artifact


@pytest.mark.parametrize("style", ["tick", "cross", "fill", "pencil_2h", "pencil", "pencil_2b", "tick_border"])
def test_every_kind_of_mark_is_read_on_a_clean_slip(clean_pages, style):
    r, n = random.Random(style), np.random.default_rng(3)
    for page in clean_pages[:3]:
        image = page.copy()
        Marker(image, 200, slip_origin_mm("a4", CURRENT), r).mark(CURRENT.read_box(0), style)
        assert read(office(image, r, n))[0] == "filled", style


@pytest.mark.parametrize("style", ["tick", "pencil", "fill"])
def test_a_mark_on_a_fold_is_never_read_as_something_else_unasked(clean_pages, style):
    """A tick that crosses a fold may go to a person; the empty boxes around it stay empty."""
    r, n = random.Random(style), np.random.default_rng(5)
    for page in clean_pages[:3]:
        image = page.copy()
        Marker(image, 200, slip_origin_mm("a4", CURRENT), r).mark(CURRENT.read_box(0), style)
        fold_and_stain(image, 200, CURRENT, "fold_centre", r)
        states = read(phone(image, r, n))
        assert "filled" not in states[1:]


@pytest.mark.parametrize("style", ["tick", "cross", "fill"])
def test_a_noisy_washed_out_copy_is_still_read_not_all_sent_to_review(clean_pages, style):
    """Contrast halved, heavy noise, blur, strong JPEG: plain paper is not faint ink everywhere
    (which made every box unclear), and a mark is still a mark."""
    r, n = random.Random(style), np.random.default_rng(11)
    for page in clean_pages[:3]:
        image = page.copy()
        Marker(image, 200, slip_origin_mm("a4", CURRENT), r).mark(CURRENT.read_box(0), style)
        states = read(hostile(image, r, n))
        assert states[0] == "filled" and states[1:] == ["empty"] * (len(BOXES) - 1), states


def test_a_creased_unmarked_batch_records_no_confirmation(school_copy, clean_pages, tmp_path):
    """End to end: the issue's 11-of-30 case, now 0: creased slips with nothing ticked confirm nothing."""
    r, n = random.Random(30), np.random.default_rng(30)
    paths = []
    for index, page in enumerate(clean_pages):
        image = page.copy()
        fold_and_stain(image, 200, CURRENT, "fold_centre", r)
        path = tmp_path / f"creased-{index}.png"
        cv2.imwrite(str(path), office(image, r, n))
        paths.append(path)
    report = scan_paths(school_copy, paths)
    assert report.summary()["slips"] == len(paths)
    kinds = {r[0] for r in school_copy.execute("SELECT DISTINCT kind FROM events WHERE source LIKE ?",
                                                [f"scan:{report.batch_id}:%"])}
    assert kinds <= {"read"}  # the slip came back (read); nothing confirmed, nothing answered


def test_a_page_with_slip_markers_but_a_torn_qr_goes_to_review(school_copy, clean_pages, tmp_path):
    image = clean_pages[0].copy()
    origin = slip_origin_mm("a4", CURRENT)
    scale = 200 / 25.4
    x, y = int((origin[0] + CURRENT.qr.x) * scale), int((origin[1] + CURRENT.qr.y) * scale)
    cv2.rectangle(image, (x + 40, y + 40), (x + 200, y + 200), 255, -1)  # torn away
    path = tmp_path / "torn.png"
    cv2.imwrite(str(path), image)
    [outcome] = scan_paths(school_copy, [path]).outcomes
    assert outcome.outcome == "review" and "cannot be read" in outcome.reason
    assert school_copy.execute("SELECT page_image FROM review_items").fetchone()[0]

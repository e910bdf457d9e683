"""Scanning returned slips: real PDFs and images through the real scanner into a real ledger."""

import io
import json

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from bench.scan_corpus import office, phone, samples, slips_by_page
from print import scan_input, slip_reader
from print.layout import CURRENT
from print.scan import scan_paths
from server import tokens
from tests.print.conftest import save_tiff


def events(db, kind=None):
    """Receipts recorded from scanned slips (the demo school has older paper receipts too)."""
    sql = "SELECT * FROM events WHERE dedupe_key LIKE 'slip:%'" + (" AND kind = ?" if kind else "")
    return list(db.query(sql, [kind] if kind else []))


def test_clean_slips_are_read_and_a_rescan_records_nothing(school_copy, printed_4a):
    report = scan_paths(school_copy, [printed_4a])
    summary = report.summary()
    covers = sum(o.outcome == "no_slip" for o in report.outcomes)
    assert summary["slips"] == summary["pages"] - covers == 40  # class 4A's families
    assert summary["review"] == 0 and summary["errors"] == 0
    reads = events(school_copy, "read")
    assert len(reads) == summary["recorded"] and not events(school_copy, "confirmed")  # nothing ticked
    assert all(json.loads(e["payload"])["slip"] for e in reads)
    again = scan_paths(school_copy, [printed_4a]).summary()
    assert (again["recorded"], again["duplicates"]) == (0, summary["recorded"])


def test_marks_become_confirmations_and_answers(school_copy, printed_4a, tmp_path):
    pages = slips_by_page(school_copy, printed_4a)
    marked = list(samples(printed_4a, pages, CURRENT, "office", seed=11))
    tiff = save_tiff([s.image for s in marked], tmp_path / "scan.tif")
    report = scan_paths(school_copy, [tiff])
    assert report.summary()["review"] == 0
    for sample in marked:
        if sample.truth is None:
            continue
        record = next(r for r in pages.values() if r["id"] == sample.truth.serial)
        for row, notice in zip(sample.truth.rows, record["notices"], strict=False):
            found = {e["kind"]: json.loads(e["payload"]) for e in school_copy.query(
                "SELECT kind, payload FROM events WHERE dedupe_key LIKE ?", [f"slip:{record['id']}:{notice['id']}:%"])}
            assert "read" in found and ("confirmed" in found) == (row["read"] == "filled")
            chosen = [o["key"] for o, box in zip(notice["reply_options"], row["replies"], strict=False) if box == "filled"]
            assert found.get("reply", {}).get("choice") == (chosen[0] if chosen else None)
    ticked = sum(1 for s in marked if s.truth and s.truth.call_me == "filled")
    assert school_copy.execute("SELECT count(*) FROM concerns WHERE source NOT LIKE 'demo:%'").fetchone()[0] == ticked


def test_phone_photos_in_any_orientation(school_copy, printed_4a, tmp_path):
    pages = slips_by_page(school_copy, printed_4a)
    photos = [s for s in samples(printed_4a, pages, CURRENT, "phone", seed=5) if s.truth][:6]
    paths = []
    for i, sample in enumerate(photos):
        path = tmp_path / f"photo{i}.jpg"
        cv2.imwrite(str(path), sample.image, [cv2.IMWRITE_JPEG_QUALITY, 80])
        paths.append(path)
    outcomes = scan_paths(school_copy, paths).outcomes
    assert {o.family_code for o in outcomes} == {s.truth.family_code for s in photos}
    assert all(o.outcome in ("recorded", "review") for o in outcomes)


def test_exif_orientation_is_honoured(tmp_path):
    upright = np.full((300, 200), 255, np.uint8)
    upright[:20, :] = 0  # a dark band at the top
    stored = Image.fromarray(np.rot90(upright, 1).copy())  # the camera saved it sideways ...
    exif = stored.getexif()
    exif[0x0112] = 6  # ... and says: turn it 90 degrees clockwise to view
    path = tmp_path / "photo.jpg"
    stored.save(path, exif=exif)
    page = next(scan_input.pages(path))
    assert page.image.shape == (300, 200) and page.image[:10].mean() < 60


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_every_exif_orientation_turns_the_page_as_pil_does(tmp_path, orientation, suffix):
    rng = np.random.default_rng(orientation)
    stored = Image.fromarray((rng.random((40, 30)) > 0.5).astype(np.uint8) * 255)
    exif = stored.getexif()
    exif[0x0112] = orientation
    path = tmp_path / f"photo{suffix}"
    stored.save(path, exif=exif, **({"quality": 100} if suffix == ".jpg" else {}))
    with Image.open(path) as picture:
        expected = np.asarray(ImageOps.exif_transpose(picture).convert("L")).astype(int)
    page = next(scan_input.pages(path))
    assert page.image.shape == expected.shape
    assert np.abs(page.image.astype(int) - expected).mean() < 3


def test_a_photo_cut_off_in_transfer_is_an_error_not_half_a_page(tmp_path):
    whole = io.BytesIO()
    Image.fromarray(np.full((400, 300), 200, np.uint8)).save(whole, "JPEG")
    path = _file(tmp_path, "cut.jpg", whole.getvalue()[: len(whole.getvalue()) * 2 // 3])
    page = next(scan_input.pages(path))
    assert page.image is None and "damaged" in page.error


def _file(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_bad_files_get_a_clear_outcome_and_the_batch_goes_on(school_copy, printed_4a, tmp_path):
    pdf = printed_4a.read_bytes()
    png = io.BytesIO()
    Image.new("L", (10, 10)).save(png, "PNG")
    files = [
        _file(tmp_path, "empty.pdf", b""),
        _file(tmp_path, "notes.txt", b"hello, not a scan"),
        _file(tmp_path, "cut.pdf", pdf[: len(pdf) // 3]),
        _file(tmp_path, "broken.png", png.getvalue()[:30]),
        _file(tmp_path, "bomb.png", _huge_png_header()),
        printed_4a,
    ]
    report = scan_paths(school_copy, files)
    by_file = {}
    for outcome in report.outcomes:
        by_file.setdefault(outcome.file.rsplit("/", 1)[-1], []).append(outcome)
    assert by_file["empty.pdf"][0].reason == "the file is empty (0 bytes)"
    assert "not a PDF, TIFF, PNG or JPEG" in by_file["notes.txt"][0].reason
    assert by_file["cut.pdf"][0].outcome == "error" and "damaged" in by_file["cut.pdf"][0].reason
    assert by_file["broken.png"][0].outcome == "error"
    assert "too large" in by_file["bomb.png"][0].reason
    assert sum(o.outcome == "recorded" for o in by_file["4A.pdf"]) == 40


def _huge_png_header() -> bytes:
    """A tiny file claiming to be 100,000 x 100,000 pixels."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")


def _page_image(db, printed):
    """A clean scan of the first page that carries a slip."""
    index = min(slips_by_page(db, printed))
    return list(samples(printed, {}, CURRENT, "office", seed=1))[index].image


def test_blank_page_and_text_page(school_copy, tmp_path):
    blank = _file(tmp_path, "blank.png", _png(np.full((2000, 1400), 250, np.uint8)))
    text = np.full((2000, 1400), 255, np.uint8)
    cv2.putText(text, "Just a letter, no slip here", (100, 300), cv2.FONT_HERSHEY_SIMPLEX, 2, 0, 4)
    letter = _file(tmp_path, "letter.png", _png(text))
    outcomes = scan_paths(school_copy, [blank, letter]).outcomes
    assert [(o.outcome, o.reason) for o in outcomes] == [("no_slip", "blank page"), ("no_slip", "no slip on this page")]


def _png(image: np.ndarray) -> bytes:
    return cv2.imencode(".png", image)[1].tobytes()


def test_destroyed_qr_goes_to_review(school_copy, printed_4a, tmp_path):
    image = _page_image(school_copy, printed_4a)  # a coffee stain over the QR
    from print.qr_decode import find_codes
    corners = find_codes(image)[0].corners.astype(int)
    x0, y0 = corners.min(axis=0) - 5
    x1, y1 = corners.max(axis=0) + 5
    image[y0:y1, x0:x1] = cv2.GaussianBlur(image[y0:y1, x0:x1], (0, 0), 12)
    outcome = scan_paths(school_copy, [_file(tmp_path, "stain.png", _png(image))]).outcomes[0]
    assert outcome.outcome == "review" and "cannot be read" in outcome.reason
    assert school_copy.execute("SELECT count(*) FROM review_items").fetchone()[0] == 1
    assert not events(school_copy)


def test_forged_and_foreign_qr_codes_go_to_review(school_copy, printed_4a, tmp_path):
    image = _page_image(school_copy, printed_4a)
    from print.qr_decode import find_codes
    genuine = find_codes(image)[0]
    slip = tokens.verify_slip(genuine.text, {"A": _secret(school_copy)}, "DEMO")
    results = []
    for name, text in [("forged", tokens.sign_slip(slip, b"guessed secret")),
                       ("foreign", tokens.sign_slip(tokens.SlipId("OTHER", slip.week, slip.family_code, 1), _secret(school_copy)))]:
        page = _replace_qr(image.copy(), genuine.corners, text)
        results.append(scan_paths(school_copy, [_file(tmp_path, f"{name}.png", _png(page))]).outcomes[0])
    assert [r.outcome for r in results] == ["review", "review"]
    assert "does not verify" in results[0].reason and "another school" in results[1].reason
    assert not events(school_copy)


def _secret(db):
    from server import settings
    return settings.school_secret(db)


def _replace_qr(image, corners, text):
    from print.qr_symbol import qr_matrix
    matrix = np.array(qr_matrix(text), np.uint8)
    x0, y0 = corners.min(axis=0).astype(int)
    size = int(corners.max(axis=0)[0] - x0)
    symbol = cv2.resize((1 - matrix) * 255, (size, size), interpolation=cv2.INTER_NEAREST)
    image[y0:y0 + size, x0:x0 + size] = symbol
    return image


def test_photocopy_with_other_marks_is_not_believed(school_copy, printed_4a, tmp_path):
    pages = slips_by_page(school_copy, printed_4a)
    first = [s for s in samples(printed_4a, pages, CURRENT, "office", seed=2) if s.truth][0]
    again = [s for s in samples(printed_4a, pages, CURRENT, "office", seed=3) if s.truth][0]
    assert first.truth.serial == again.truth.serial
    one = scan_paths(school_copy, [_file(tmp_path, "a.png", _png(first.image))]).outcomes[0]
    same = scan_paths(school_copy, [_file(tmp_path, "b.png", _png(first.image))]).outcomes[0]
    assert one.outcome == "recorded" and same.outcome == "duplicate"
    if first.truth.states() != again.truth.states():
        other = scan_paths(school_copy, [_file(tmp_path, "c.png", _png(again.image))]).outcomes[0]
        assert other.outcome == "review" and "scanned before with different marks" in other.reason


def test_two_slips_on_one_page(school_copy, printed_4a, tmp_path):
    from bench.scan_corpus import rasterise

    pages = slips_by_page(school_copy, printed_4a)
    first, second = sorted(pages)[:2]
    images = list(rasterise(printed_4a, 200))
    halves = [images[i][images[i].shape[0] // 2:, :] for i in (first, second)]
    width = max(h.shape[1] for h in halves)
    sheet = np.full((sum(h.shape[0] for h in halves), width), 255, np.uint8)
    sheet[:halves[0].shape[0], :halves[0].shape[1]] = halves[0]
    sheet[halves[0].shape[0]:, :halves[1].shape[1]] = halves[1]
    outcomes = scan_paths(school_copy, [_file(tmp_path, "two.png", _png(sheet))]).outcomes
    assert sorted(o.family_code for o in outcomes) == sorted(pages[i]["family_code"] for i in (first, second))
    assert [o.outcome for o in outcomes] == ["recorded", "recorded"]


def test_scribbles_and_double_answers_go_to_review(school_copy, printed_4a, tmp_path):
    import random

    from bench.scan_corpus import Marker
    from print.render import slip_origin_mm

    pages = slips_by_page(school_copy, printed_4a)
    index, record = next((i, r) for i, r in sorted(pages.items()) if r["notices"][0]["reply_options"])
    clean = list(samples(printed_4a, {}, CURRENT, "office", seed=1))[index].image
    scribbled, doubled = clean.copy(), clean.copy()
    Marker(scribbled, 200, slip_origin_mm("a4", CURRENT), random.Random(1)).mark(CURRENT.read_box(0), "scribble")
    both = Marker(doubled, 200, slip_origin_mm("a4", CURRENT), random.Random(2))
    both.mark(CURRENT.reply_box(0, 0), "cross")
    both.mark(CURRENT.reply_box(0, 1), "tick")
    outcomes = scan_paths(school_copy, [_file(tmp_path, "s.png", _png(scribbled)),
                                        _file(tmp_path, "d.png", _png(doubled))]).outcomes
    assert [o.outcome for o in outcomes] == ["review", "review"]
    assert "unclear" in outcomes[0].reason and "more than one answer" in outcomes[1].reason
    assert not events(school_copy)
    items = list(school_copy.query("SELECT * FROM review_items"))
    assert all(i["family_id"] == record["family_id"] and i["page_image"] and i["crop_image"] for i in items)


@pytest.mark.clock
def test_last_terms_slip_goes_to_review(school_copy, tmp_path):
    import datetime as dt

    from print.bulletin import print_bulletins
    from server import clock, notices, settings

    old = clock.now() - dt.timedelta(weeks=12)
    notices.add_notice(school_copy, texts={"en": ("Old news", "From last term")}, classes=["4A"],
                       publish_at=clock.iso(old))
    week = clock.iso_week(old, settings.zone(school_copy))
    pdf = print_bulletins(school_copy, week, out=tmp_path / "old.pdf", classes=["4A"]).out
    outcome = next(o for o in scan_paths(school_copy, [pdf]).outcomes if o.outcome != "no_slip")
    assert outcome.outcome == "review" and "more than 8 weeks ago" in outcome.reason


def test_box_classification_margins():
    assert slip_reader.classify(0.0, 0.0) == "empty"
    assert slip_reader.classify(0.3, 0.35) == "filled"      # a pen tick
    assert slip_reader.classify(0.0, 0.05) == "filled"      # a pencil tick
    assert slip_reader.classify(0.97, 0.99) == "filled"     # a filled square
    assert slip_reader.classify(0.75, 0.9) == "unclear"     # scribbled out
    assert slip_reader.classify(0.0, 0.02) == "unclear"     # a smudge, not a stroke
    assert slip_reader.classify(0.02, 0.05) == "filled"
    assert slip_reader.classify(0.97, 0.99, outside=0.2) == "unclear"  # crossed out over its edges
    assert slip_reader.classify(0.3, 0.4, outside=0.005) == "filled"   # a tick that overshoots a little
    assert slip_reader.classify(0.12, 0.7) == "unclear"     # a dense scribble, blurred: much faint ink, little dark
    assert slip_reader.classify(0.35, 0.8) == "filled"      # a bold tick on a blurred phone photo


def test_evidence_crop_is_small(school_copy, printed_4a):
    outcome = next(o for o in scan_paths(school_copy, [printed_4a]).outcomes if o.evidence)
    from print import evidence
    size = evidence.path_for(school_copy, outcome.evidence).stat().st_size
    assert size < 25_000
    assert evidence.path_for(school_copy, "../../etc/passwd") is None


def test_phone_profile_sample_still_decodes(school_copy, printed_4a):
    pages = slips_by_page(school_copy, printed_4a)
    sample = next(s for s in samples(printed_4a, pages, CURRENT, "phone", seed=9) if s.truth)
    assert sample.image.ndim == 2 and phone and office

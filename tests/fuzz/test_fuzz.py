"""Hostile input, generated: every parser answers with its own clear error, never a crash or a wrong family.

The suite runs a few hundred examples per target; `bench/fuzz.sh` runs the same
targets far longer (docs/operations.md records how long and what it found).
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import xml.etree.ElementTree as ET
import zipfile

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from ivr.simulator import Phone
from kiosk import store, sync
from print import scan_input
from print.scan import scan_paths
from server import devices, roster, tokens
from server.errors import BadCode, BadSignature, ImportFailed
from tests.builders import HEADER, make_notice

SCALE = int(os.environ.get("PAPERBRIDGE_FUZZ_SCALE", "1"))  # bench/fuzz.sh raises it for long runs
FIXTURES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
                    deadline=None, max_examples=100 * SCALE)
KEYS = {"A": b"k" * 32, "B": b"j" * 32}
GOOD = tokens.sign_slip(tokens.SlipId("SCH", "2026-W48", tokens.family_code(4821), 77, key_id="B"), KEYS["B"])
PRINTABLE = st.characters(codec="utf-8", exclude_categories=("Cs",))


# ---- slip QR text -------------------------------------------------------------------------

@FIXTURES
@given(st.text(PRINTABLE, max_size=80))
def test_any_qr_text_verifies_or_is_refused(text):
    try:
        found = tokens.verify_slip(text, KEYS, "SCH")
    except BadSignature:
        return
    assert text.strip() == GOOD and found.serial == 77


@FIXTURES
@given(st.integers(0, len(GOOD) - 1), st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567.0123456789"))
def test_no_one_character_change_forges_a_slip(position, char):
    forged = GOOD[:position] + char + GOOD[position + 1:]
    assume(forged != GOOD)
    with pytest.raises(BadSignature):
        tokens.verify_slip(forged, KEYS, "SCH")


# ---- human family codes -------------------------------------------------------------------

@FIXTURES
@given(st.text(PRINTABLE, max_size=20))
@example("²")  # found: superscript digits passed isdigit() and crashed int()
def test_any_typed_code_is_checked_or_refused(typed):
    try:
        code = tokens.check_family_code(typed)
    except BadCode:
        return
    assert code.isdigit() and tokens.damm_digit(code) == "0"


@FIXTURES
@given(st.integers(1, 10**8), st.data())
def test_every_single_slip_of_the_finger_is_caught(number, data):
    code = tokens.family_code(number)
    i = data.draw(st.integers(0, len(code) - 1))
    if data.draw(st.booleans()) and i < len(code) - 1 and code[i] != code[i + 1]:
        typo = code[:i] + code[i + 1] + code[i] + code[i + 2:]
    else:
        typo = code[:i] + data.draw(st.sampled_from([d for d in "0123456789" if d != code[i]])) + code[i + 1:]
    with pytest.raises(BadCode):
        tokens.check_family_code(typo)


# ---- roster files -------------------------------------------------------------------------

def _snapshot(db) -> tuple:
    return tuple(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("families", "students", "guardians"))


@FIXTURES
@given(st.binary(max_size=600))
def test_any_bytes_as_a_roster(db, school, tmp_path, data):
    path = tmp_path / "roster.csv"
    path.write_bytes(data)
    before = _snapshot(db)
    try:
        report = roster.import_roster(db, path)
    except ImportFailed as exc:
        assert str(exc) and _snapshot(db) == before
        return
    assert report.rows >= report.imported_rows


CELL = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)


@FIXTURES
@given(st.lists(st.lists(CELL, min_size=0, max_size=11), max_size=6))
def test_any_cells_under_a_real_header(db, school, tmp_path, cells):
    path = tmp_path / "roster.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([HEADER, *cells])
    before = _snapshot(db)
    try:
        report = roster.import_roster(db, path)
    except ImportFailed:
        assert _snapshot(db) == before
        return
    assert report.imported_rows + len({(p.file, p.line) for p in report.rejected}) >= len(
        [row for row in cells if any(cell.strip() for cell in row)]) - len(cells)  # every row is counted somewhere
    assert report.imported_rows <= len(cells)


@FIXTURES
@given(st.dictionaries(st.sampled_from(["users.csv", "classes.csv", "enrollments.csv", "orgs.csv"]),
                       st.binary(max_size=200), min_size=1))
@example({"users.csv": b"\r\x00", "classes.csv": b"", "enrollments.csv": b""})  # found: KeyError
def test_any_oneroster_zip(db, school, tmp_path, members):
    path = tmp_path / "oneroster.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    before = _snapshot(db)
    try:
        roster.import_roster(db, path)
    except ImportFailed:
        assert _snapshot(db) == before


# ---- scan input ---------------------------------------------------------------------------

MAGIC = st.sampled_from([b"%PDF-1.4\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"II*\x00", b"MM\x00*", b""])


@FIXTURES
@given(MAGIC, st.binary(max_size=2000))
@example(b"II*\x00", b"\x00\x00\x00\x01")  # found: "Corrupt EXIF data" warning escaped
def test_any_bytes_as_a_scan(tmp_path, magic, tail):
    path = tmp_path / "scan.bin"
    path.write_bytes(magic + tail)
    for page in scan_input.pages(path):
        assert (page.image is None) != (page.error == "")


@settings(FIXTURES, max_examples=25 * SCALE)
@given(st.integers(1, 4), st.integers(20, 400), st.integers(20, 400), st.integers(0, 2**32 - 1))
def test_noise_pages_never_make_a_receipt(db, school, tmp_path, frames, width, height, seed):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    images = [Image.fromarray(rng.integers(0, 256, (height, width), dtype=np.uint8)) for _ in range(frames)]
    path = tmp_path / "noise.tif"
    images[0].save(path, save_all=True, append_images=images[1:])
    report = scan_paths(db, [path]).summary()
    assert report["recorded"] == 0 and report["pages"] == frames


# ---- phone keys ---------------------------------------------------------------------------

@settings(FIXTURES, max_examples=60 * SCALE)
@given(st.sampled_from(["/ivr/voice/code", "/ivr/voice/key", "/ivr/voice/language", "/ivr/voice/all",
                        "/ivr/voice/next", "/ivr/voice/code?p=1", "/ivr/voice/key?n=abc", "/ivr/voice/end",
                        "/ivr/voice/dialled?n=-1", "/ivr/voice/next?at=abc", "/ivr/voice/language?r=9"]),
       st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30))
def test_any_keys_get_spoken_twiml(app, school, path, digits):
    phone = Phone(app, "+8613911112222", sid="CAfuzz")
    phone.post("/ivr/voice", {"CallSid": "CAfuzz", "From": phone.from_number, "To": "+1"})
    reply = phone.post(path, {"CallSid": "CAfuzz", "From": phone.from_number, "To": "+1", "Digits": digits})
    assert reply.status_code == 200
    assert ET.fromstring(reply.data).tag == "Response"


@settings(FIXTURES, max_examples=60 * SCALE)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60))
def test_any_text_reply_gets_an_answer_and_records_no_receipt_it_did_not_name(app, db, school, body):
    phone = Phone(app, "+8613800138001")
    reply = phone.post("/ivr/sms", {"MessageSid": "SMfuzz", "From": phone.from_number, "To": "+1", "Body": body})
    assert reply.status_code == 200 and ET.fromstring(reply.data).tag == "Response"
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 0  # no notice exists to be confirmed


# ---- sync payloads ------------------------------------------------------------------------

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                    max_leaves=20)
EVENT = st.fixed_dictionaries({}, optional={
    "id": st.text(max_size=40) | st.integers(), "notice_id": st.integers() | st.text(max_size=5),
    "family_id": st.integers() | st.none(), "kind": st.sampled_from(["read", "confirmed", "reply", "void", "x"]),
    "occurred_at": st.text(max_size=25) | st.just("2026-11-23T08:00:00Z"), "actor": JSON, "payload": JSON})


@pytest.fixture
def device_token(db, school):
    return devices.enrol(db, devices.new_code(db, "fuzz desk"))[1]


@settings(FIXTURES, max_examples=150 * SCALE)
@given(st.one_of(JSON.map(lambda v: json.dumps(v).encode()),
                 st.lists(EVENT, max_size=5).map(lambda e: json.dumps({"events": e}).encode()),
                 st.binary(max_size=200)),
       st.booleans())
@example(b'{"events":[{"kind":"read","id":"00000000","notice_id":9223372036854775808,"family_id":1}]}', False)  # found: ids past SQLite's range crashed the push
@example(b'{"events":[{"kind":"read","id":"00000000","notice_id":1.9,"family_id":true}]}', True)
def test_any_push_body(app, db, device_token, body, gzipped):
    app.extensions.pop("paperbridge_ratelimits", None)  # this test sends more than a kiosk's per-minute budget
    make_notice(db) if not db["notices"].count else None
    before = db.execute("SELECT count(*) FROM events").fetchone()[0]
    reply = app.test_client().post("/api/sync/push", data=gzip.compress(body) if gzipped else body, headers={
        "Authorization": f"Bearer {device_token}", **({"Content-Encoding": "gzip"} if gzipped else {})})
    answer = reply.get_json()
    assert reply.status_code in (200, 400, 413), reply.data
    if reply.status_code == 200:
        recorded = db.execute("SELECT count(*) FROM events").fetchone()[0] - before
        assert recorded <= len(answer["accepted"]) and all(isinstance(r["reason"], str) for r in answer["rejected"])
    else:
        assert set(answer["error"]) == {"code", "message"}


@FIXTURES
@given(JSON)
@example({"cursor": "1.0", "families": [{"id": 1}]})  # a page missing columns
@example([])
def test_any_pull_page_is_applied_whole_or_refused(tmp_path, page):
    kiosk = store.connect(tmp_path / "kiosk.db")
    try:
        store.put(kiosk, "cursor", "0.0")
        try:
            sync.apply_page(kiosk, page)
        except sync.Offline as exc:
            assert "not understood" in str(exc)
            assert store.get(kiosk, "cursor") == "0.0"
    finally:
        kiosk.close()

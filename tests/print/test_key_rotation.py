"""Rotating the school secret: slips and links made before still verify until their key is retired."""

import subprocess
import sys
from pathlib import Path

import pytest

from print.bulletin import print_bulletins
from print.scan import scan_paths
from server import clock, links, settings, tokens
from server.errors import BadSignature

PB = str(Path(sys.executable).parent / "paperbridge")


def _print_one(db, tmp_path, code: str, name: str) -> Path:
    week = clock.iso_week(clock.now(), settings.zone(db))
    return print_bulletins(db, week, out=tmp_path / name, family_code=code).out


def test_rotation_keeps_old_slips_and_links_until_retired(school_copy, tmp_path):
    db = school_copy
    first, second = [r[0] for r in db.execute(
        "SELECT f.code FROM families f JOIN students s ON s.family_id = f.id WHERE s.class_id = '4A'"
        " ORDER BY s.name LIMIT 2")]
    family_id = db.execute("SELECT id FROM families WHERE code = ?", [first]).fetchone()[0]
    old_pdf, old_link = _print_one(db, tmp_path, first, "old.pdf"), links.make_token(db, family_id)
    assert settings.current_key_id(db) == "A"

    assert settings.rotate_secret(db) == "B"
    assert settings.current_key_id(db) == "B" and set(settings.slip_keys(db)) == {"A", "B"}
    new_pdf = _print_one(db, tmp_path, second, "new.pdf")
    report = scan_paths(db, [old_pdf, new_pdf]).summary()
    assert report["slips"] == 2 and report["review"] == 0 and report["recorded"] > 0
    assert links.family_for_token(db, old_link) == family_id
    assert links.make_token(db, family_id) != old_link  # new links are signed with B

    settings.retire_key(db, "A")
    assert set(settings.slip_keys(db)) == {"B"} and settings.is_initialized(db)
    with pytest.raises(BadSignature):
        links.family_for_token(db, old_link)
    old_again = _print_one(db, tmp_path, first, "old-again.pdf")  # a reprint is signed with B and scans
    assert scan_paths(db, [old_again]).summary()["review"] == 0
    assert settings.rotate_secret(db) == "C"  # a retired id is never handed out again


def test_a_slip_under_a_retired_key_goes_to_review(school_copy, tmp_path):
    db = school_copy
    code = db.execute("SELECT code FROM families WHERE active = 1 ORDER BY id LIMIT 1").fetchone()[0]
    pdf = _print_one(db, tmp_path, code, "a.pdf")
    settings.rotate_secret(db)
    settings.retire_key(db, "A")
    report = scan_paths(db, [pdf]).summary()
    assert report["review"] == 1 and report["recorded"] == 0
    reason = db.execute("SELECT reason FROM review_items ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert "unknown key (A)" in reason


def test_the_key_in_use_cannot_be_retired(db, school):
    with pytest.raises(ValueError, match="rotate"):
        settings.retire_key(db, "A")
    with pytest.raises(ValueError, match="no trusted key"):
        settings.retire_key(db, "Q")
    for _ in range(25):
        settings.rotate_secret(db)
    with pytest.raises(ValueError, match="A-Z"):
        settings.rotate_secret(db)
    secret = settings.slip_keys(db)["Z"]
    text = tokens.sign_slip(tokens.SlipId("SCH", "2026-W48", tokens.family_code(1234), 7, key_id="Z"), secret)
    assert tokens.verify_slip(text, settings.slip_keys(db), "SCH").key_id == "Z"


def test_cli(db, db_path, school):
    def run(*args):
        return subprocess.run([PB, "--db", str(db_path), "secret", *args], capture_output=True, text=True, timeout=60)

    assert run("rotate").returncode == 0
    assert run("retire", "b").returncode == 1  # B is in use now
    assert run("retire", "a").returncode == 0
    listing = run("list").stdout
    assert "signing" in listing and "retired" in listing
    assert "school_secret" not in listing and settings.slip_keys(db)["B"].hex() not in listing

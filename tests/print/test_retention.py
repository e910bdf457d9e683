"""`paperbridge retention`: old slip images go, events and images a person still needs stay."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from print import evidence
from print.retention import delete_slip_images, parse_age
from server import db as database

PB = str(Path(sys.executable).parent / "paperbridge")


def _batch(db, batch_id: str, started_at: str, images: list[str]) -> None:
    db["scan_batches"].insert({"id": batch_id, "origin": "test", "started_at": started_at})
    for page, name in enumerate(images, 1):
        db["scan_pages"].insert({"batch_id": batch_id, "file": "x.pdf", "page": page, "outcome": "recorded",
                                 "evidence": name})


def _review(db, batch_id: str, image: str, status: str) -> None:
    db["review_items"].insert({"fingerprint": image + status, "batch_id": batch_id, "file": "x.pdf", "page": 9,
                               "reason": "test", "page_image": image, "status": status,
                               "created_at": "2025-01-10T09:00:00Z"})


@pytest.fixture
def aged(db, school):
    names = {key: evidence.store(db, key.encode() * 100, "webp") for key in ("old", "new", "shared", "open", "done")}
    _batch(db, "b-old", "2025-01-10T09:00:00Z", [names["old"], names["shared"], names["open"], names["done"]])
    _batch(db, "b-new", "2099-01-01T09:00:00Z", [names["new"], names["shared"]])
    _review(db, "b-old", names["open"], "open")
    _review(db, "b-old", names["done"], "resolved")
    (database.evidence_dir(db) / "notes.txt").write_text("not ours")
    return names


def test_old_images_go_and_needed_ones_stay(db, aged):
    events_before = db.execute("SELECT count(*) FROM events").fetchone()[0]
    folder = database.evidence_dir(db)
    result = delete_slip_images(db, parse_age("180d"))
    assert sorted(result.deleted) == sorted([aged["old"], aged["done"]])
    assert result.kept_open_review == 1 and result.kept_recent == 2
    left = {p.name for p in folder.iterdir()}
    assert left == {aged["new"], aged["shared"], aged["open"], "notes.txt"}
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == events_before
    assert delete_slip_images(db, parse_age("180d")).deleted == []  # a re-run has nothing left to do


def test_dry_run_deletes_nothing(db, aged):
    result = delete_slip_images(db, parse_age("26w"), dry_run=True)
    assert len(result.deleted) == 2 and result.bytes_freed > 0
    assert all((database.evidence_dir(db) / name).exists() for name in aged.values())


@pytest.mark.parametrize("text", ["", "0d", "-5d", "180x", "six months", "1.5d"])
def test_bad_ages_are_refused(text):
    with pytest.raises(ValueError, match="180d"):
        parse_age(text)


def test_cli_and_the_gone_image_page(db, db_path, staff, aged, client, login):
    result = subprocess.run([PB, "--db", str(db_path), "retention", "--slip-images-older-than", "180d",
                             "--format", "json"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["slip_images"]["deleted"] == 2
    bad = subprocess.run([PB, "--db", str(db_path), "retention", "--slip-images-older-than", "soon"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "180d" in bad.stderr
    login("office", "office-pass")
    gone = client.get(f"/evidence/{aged['old']}")
    assert gone.status_code == 410 and "保存期限" in gone.get_data(as_text=True)
    with client.get(f"/evidence/{aged['new']}") as kept:
        assert kept.status_code == 200
    assert client.get("/evidence/notes.txt").status_code == 404

"""Crashes, power cuts, locks and a full disk: after each, restart, retry, and count.

No receipt lost, none doubled, no half-imported roster. Processes are killed with
SIGKILL (nothing gets to clean up); the server's power cut happens after its
transaction committed and before its reply left (tests/faults/power_cut_server.py).
The scanner's kill -9 mid-batch lives in tests/print/test_scan_cli.py.
"""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from ivr import config
from kiosk import store, sync
from server import db as database
from server import devices, users
from tests.builders import make_notice, row, write_roster

ROOT = Path(__file__).resolve().parents[2]
PB = str(Path(sys.executable).parent / "paperbridge")
S1_PHONE = "+8613800138001"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """tests/faults/power_cut_server.py on a fixed port, so a restart is the same address."""

    def __init__(self, db_path: Path):
        self.db_path, self.port = db_path, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, *switches: str) -> "ServerProcess":
        self.process = subprocess.Popen([sys.executable, "-m", "tests.faults.power_cut_server", str(self.db_path),
                                         str(self.port), *switches], cwd=ROOT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/api/health", timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def died_by_sigkill(self) -> bool:
        return self.process.wait(timeout=30) == -signal.SIGKILL

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def server(db_path, db, school):
    process = ServerProcess(db_path)
    yield process
    process.stop()


def _count(db_path: Path, sql: str, args=()) -> int:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, args).fetchone()[0]
    finally:
        conn.close()


def _kill_when(process: subprocess.Popen, ready, timeout: float = 120) -> bool:
    """SIGKILL the process as soon as ``ready()``; False if it finished first."""
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        if ready():
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.02)
    return False


# ---- the server loses power between write and reply -----------------------------------------

def test_power_cut_during_a_kiosk_push(server, db, db_path, school, tmp_path):
    notice = make_notice(db, classes=None)  # the whole school: every family may confirm it at the desk
    users.add_user(db, "vol", "246813", "volunteer")
    server.start("--die-after", "/api/sync/push:2")
    kiosk = store.connect(tmp_path / "kiosk.db")
    sync.enrol(kiosk, server.url, devices.new_code(db, "desk"))
    sync.sync(kiosk)
    for family in school.values():
        for _ in range(150):
            store.record(kiosk, notice_id=notice, family_id=family, kind="read", actor="volunteer:vol")
    with pytest.raises(sync.Offline):
        sync.sync(kiosk)  # batch 1 lands, batch 2 is written but its reply never comes
    assert server.died_by_sigkill()
    on_server = "SELECT count(*) FROM events WHERE source LIKE 'kiosk:%'"
    unsent = "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND rejected IS NULL"
    assert _count(db_path, on_server) == 400 and kiosk.execute(unsent).fetchone()[0] == 250

    server.start()
    sync.sync(kiosk)
    assert store.waiting(kiosk) == 0
    assert _count(db_path, on_server) == 450
    assert _count(db_path, "SELECT count(DISTINCT id) FROM events WHERE source LIKE 'kiosk:%'") == 450


def _signed_post(server: ServerProcess, db, path: str, form: dict) -> bytes:
    conf = config.load(db)
    signature = RequestValidator(conf.auth_token).compute_signature(conf.url(path), form)
    request = urllib.request.Request(server.url + path, data=urllib.parse.urlencode(form).encode(),
                                     headers={"X-Twilio-Signature": signature})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return reply.read()


def test_power_cut_during_a_phone_confirmation(server, db, db_path, school):
    notice = make_notice(db, reply_options=[])
    server.start("--die-after", "/ivr/voice/key:1")
    form = {"CallSid": "CApowercut", "From": S1_PHONE, "To": "+1", "CallStatus": "in-progress"}
    path = "/ivr/voice"
    for _ in range(10):  # follow the line's redirects until it waits for a key
        answer = ET.fromstring(_signed_post(server, db, path, form))
        target = answer.find(".//Gather")
        target = target.get("action") if target is not None else answer.find("Redirect").text
        parts = urllib.parse.urlsplit(target)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if answer.find(".//Gather") is not None:
            break
    key_path = path
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        _signed_post(server, db, key_path, {**form, "Digits": "1"})
    assert server.died_by_sigkill()
    confirmed = ("SELECT count(*) FROM events WHERE kind = 'confirmed' AND channel = 'voice'"
                 " AND notice_id = ? AND family_id = ?")
    assert _count(db_path, confirmed, [notice, school["S1"]]) == 1  # written before the cut

    server.start()
    _signed_post(server, db, key_path, {**form, "Digits": "1"})  # Twilio (or the caller) tries again
    assert _count(db_path, confirmed, [notice, school["S1"]]) == 1


# ---- a client process is killed mid-way ---------------------------------------------------------

def _big_school(db, tmp_path: Path, families: int) -> None:
    rows = [row(f"B{i:05d}", f"学生{i}", "5A", f"家长{i}", f"139{i:08d}") for i in range(families)]
    from server import roster

    roster.import_roster(db, write_roster(tmp_path / "big.csv", rows))


def test_kiosk_killed_during_pull_and_push(server, db, db_path, school, tmp_path):
    _big_school(db, tmp_path, 1600)  # four pages to pull
    notice = make_notice(db, classes=None)
    users.add_user(db, "vol", "246813", "volunteer")
    kiosk_path = tmp_path / "kiosk.db"
    server.start("--slow", "/api/sync/:0.4")
    kiosk = store.connect(kiosk_path)
    sync.enrol(kiosk, server.url, devices.new_code(db, "desk"))
    kiosk.close()
    run = [PB, "kiosk", "sync", "--kiosk-db", str(kiosk_path)]

    def cursor() -> str:
        conn = sqlite3.connect(kiosk_path)
        try:
            found = conn.execute("SELECT value FROM config WHERE key = 'cursor'").fetchone()
            return found[0] if found else "0.0"
        finally:
            conn.close()

    puller = subprocess.Popen(run, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert _kill_when(puller, lambda: cursor() != "0.0")
    kiosk = store.connect(kiosk_path)
    pulled = kiosk.execute("SELECT count(*) FROM families").fetchone()[0]
    assert 0 < pulled < 1603  # killed part-way: some pages applied, each whole with its cursor
    assert kiosk.execute("SELECT quick_check FROM pragma_quick_check").fetchone()[0] == "ok"
    assert subprocess.run(run, capture_output=True, timeout=120).returncode == 0
    active = _count(db_path, "SELECT count(*) FROM families WHERE active = 1")
    assert kiosk.execute("SELECT count(*) FROM families WHERE active = 1").fetchone()[0] == active

    families = [r[0] for r in kiosk.execute("SELECT id FROM families WHERE active = 1 ORDER BY id LIMIT 1000")]
    for family in families:
        store.record(kiosk, notice_id=notice, family_id=family, kind="confirmed", actor="volunteer:vol")
    kiosk.close()
    on_server = "SELECT count(*) FROM events WHERE source LIKE 'kiosk:%'"
    pusher = subprocess.Popen(run, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert _kill_when(pusher, lambda: _count(db_path, on_server) >= 200)
    assert subprocess.run(run, capture_output=True, timeout=120).returncode == 0
    assert _count(db_path, on_server) == 1000
    assert _count(db_path, "SELECT count(DISTINCT family_id) FROM events WHERE source LIKE 'kiosk:%'") == 1000


def test_roster_import_killed_mid_transaction_then_rerun(db, db_path, school, tmp_path):
    rows = [row(f"R{i:05d}", f"学生{i}", "6B", f"家长{i}", f"137{i:08d}") for i in range(20000)]
    csv_path = write_roster(tmp_path / "district.csv", rows)
    students = "SELECT count(*) FROM students"
    before = _count(db_path, students)
    wal = Path(f"{db_path}-wal")
    importer = subprocess.Popen([PB, "--db", str(db_path), "roster", "import", str(csv_path)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert _kill_when(importer, lambda: wal.exists() and wal.stat().st_size > 1_000_000)
    assert _count(db_path, students) == before  # all or nothing
    assert _count(db_path, "SELECT count(*) FROM families") == len(school)
    rerun = subprocess.run([PB, "--db", str(db_path), "roster", "import", str(csv_path)], capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode in (0, 1), rerun.stderr  # 1: the small school's students are now 'left'
    assert _count(db_path, students) == before + 20000

    target = tmp_path / "usb" / "backup.db"
    backup = subprocess.Popen([PB, "--db", str(db_path), "backup", str(target)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_when(backup, lambda: any(p.suffix == ".tmp" for p in target.parent.glob("*")) if target.parent.exists()
               else False)
    assert not target.exists() or _count(target, students) == before + 20000  # never a partial backup
    assert subprocess.run([PB, "--db", str(db_path), "backup", str(target)], timeout=300).returncode == 0
    assert _count(target, students) == before + 20000 and not list(target.parent.glob("*.tmp"))
    assert _count(db_path, "SELECT count(*) FROM pragma_quick_check WHERE quick_check = 'ok'") == 1


# ---- a long reader, a long writer ---------------------------------------------------------------

def test_a_long_reader_never_blocks_receipts_and_a_long_writer_gets_a_clear_busy(db, db_path, school):
    from server.app import create_app

    notice = make_notice(db)
    token = users.add_integration(db, "class app")
    code = db["families"].get(school["S1"])["code"]
    app = create_app({"DATABASE": str(db_path), "BUSY_SECONDS": 0.5})
    client = app.test_client()
    body = {"receipts": [{"notice": str(notice), "family_code": code}]}
    headers = {"Authorization": f"Bearer {token}"}

    reader = sqlite3.connect(db_path)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM events").fetchone()  # a report that takes its time
    assert client.post("/api/receipts", json=body, headers=headers).get_json()["recorded"] == 1
    reader.rollback()

    writer = sqlite3.connect(db_path)
    writer.execute("BEGIN IMMEDIATE")  # e.g. a huge import holding the write lock
    body["receipts"][0]["family_code"] = db["families"].get(school["S2"])["code"]
    busy = client.post("/api/receipts", json=body, headers=headers)
    assert busy.status_code == 503 and busy.get_json()["error"]["code"] == "busy" and busy.headers["Retry-After"]
    writer.rollback()
    assert client.post("/api/receipts", json=body, headers=headers).get_json()["recorded"] == 1
    assert _count(db_path, "SELECT count(*) FROM events WHERE source LIKE 'api:%'") == 2
    writer.close()
    reader.close()


# ---- the disk fills up ------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB tmpfs (needs root, as on the project's machines and CI)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_saves_nothing_half_and_says_so(small_disk, tmp_path):
    path = small_disk / "school.db"
    subprocess.run([PB, "--db", str(path), "init"], check=True, capture_output=True)
    first = write_roster(tmp_path / "first.csv", [row("S1", "王小明", "3A", "王大明", "13800138001")])
    subprocess.run([PB, "--db", str(path), "roster", "import", str(first)], check=True, capture_output=True)
    db = database.connect(path)
    notice = make_notice(db)
    token = users.add_integration(db, "class app")
    code = db.execute("SELECT code FROM families").fetchone()[0]
    db.close()
    from server.app import create_app

    client = create_app({"DATABASE": str(path)}).test_client()  # the server was up when the disk filled
    filler = _fill(small_disk)

    big = write_roster(tmp_path / "big.csv", [row(f"X{i:05d}", f"学生{i}", "4C", f"家长{i}", f"136{i:08d}")
                                              for i in range(8000)])
    result = subprocess.run([PB, "--db", str(path), "roster", "import", str(big)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1 and "disk holding the database is full" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr

    body = {"receipts": [{"notice": str(notice), "family_code": code}]}
    full = client.post("/api/receipts", json=body, headers={"Authorization": f"Bearer {token}"})
    assert full.status_code == 507 and full.get_json()["error"]["code"] == "storage"
    filler.unlink()  # (counting needs a little room too)
    assert _count(path, "SELECT count(*) FROM events") == 0
    assert _count(path, "SELECT count(*) FROM students") == 1  # not one row of the big roster

    again = client.post("/api/receipts", json=body, headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 200 and _count(path, "SELECT count(*) FROM events") == 1
    assert _count(path, "SELECT count(*) FROM pragma_quick_check WHERE quick_check = 'ok'") == 1

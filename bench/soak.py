"""Soak: receipts keep arriving while the server is killed (SIGKILL) and restarted, again and again.

Usage: .venv/bin/python -m bench.soak [--seconds 120] [--families 500]

A real `paperbridge serve` process on loopback; two API clients post batches of receipts
and retry each batch until it is answered; a kiosk records confirmations and syncs (it
keeps them while the server is down). Every few seconds the server is killed with
SIGKILL and started again. At the end it counts: every receipt a client sent is in the
ledger exactly once, every kiosk confirmation arrived once, and the database checks ok.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from kiosk import store, sync
from server import db as database
from server import devices, notices, roster, settings, users

PB = str(Path(sys.executable).parent / "paperbridge")


class Server:
    def __init__(self, path: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.path, self.url, self.process, self.kills = path, f"http://127.0.0.1:{self.port}", None, 0

    def start(self) -> None:
        self.process = subprocess.Popen([PB, "--db", str(self.path), "serve", "--port", str(self.port),
                                         "--no-reminders"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                urllib.request.urlopen(self.url + "/api/health", timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the server did not start")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.kills += 1


def setup(folder: Path, families: int) -> tuple[Path, int, str, list[str]]:
    path = folder / "soak.db"
    db = database.connect(path)
    settings.initialize(db, school_id="SOAK")
    csv_path = folder / "roster.csv"
    csv_path.write_text("student id,student name,class,guardian name,guardian phone\n" + "".join(
        f"K{i:05d},学生{i},1A,家长{i},+86138{i:08d}\n" for i in range(families)), encoding="utf-8")
    roster.import_roster(db, csv_path)
    notice = notices.add_notice(db, texts={"zh-Hans": ("浸泡测试", "内容")}, classes=None, reply_options=[])
    token = users.add_integration(db, "soak")
    codes = [r[0] for r in db.execute("SELECT code FROM families ORDER BY id")]
    db.close()
    return path, notice, token, codes


def api_client(server: Server, notice: int, token: str, codes: list[str], stop: threading.Event,
               sent: list, seed: int) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        batch = [{"notice": str(notice), "family_code": rng.choice(codes), "kind": "read",
                  "read_at": f"2026-11-23T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z"}
                 for _ in range(rng.randrange(1, 50))]
        body = json.dumps({"receipts": batch}).encode()
        while True:  # retry the same batch until the server answers it
            request = urllib.request.Request(server.url + "/api/receipts", data=body, method="POST", headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=5) as reply:
                    json.load(reply)
                break
            except (urllib.error.URLError, http.client.HTTPException, OSError):  # killed mid-reply
                time.sleep(0.2)
        sent.extend((r["family_code"], r["read_at"]) for r in batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--families", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path, notice, token, codes = setup(folder, args.families)
        server = Server(path)
        server.start()
        db = database.connect(path)
        kiosk = store.connect(folder / "kiosk.db")
        sync.enrol(kiosk, server.url, devices.new_code(db, "soak desk"))
        sync.sync(kiosk)
        family_ids = [r[0] for r in kiosk.execute("SELECT id FROM families")]
        stop, sent, rng = threading.Event(), [], random.Random(3)
        clients = [threading.Thread(target=api_client, args=(server, notice, token, codes, stop, sent, seed))
                   for seed in (1, 2)]
        for client in clients:
            client.start()
        deadline, kiosk_events, next_kill = time.time() + args.seconds, 0, time.time() + rng.uniform(1, 4)
        while time.time() < deadline:
            store.record(kiosk, notice_id=notice, family_id=rng.choice(family_ids), kind="confirmed",
                         actor="volunteer:soak")
            kiosk_events += 1
            if kiosk_events % 25 == 0:
                try:
                    sync.sync(kiosk)
                except sync.Offline:
                    pass
            if time.time() > next_kill:
                server.kill()
                time.sleep(rng.uniform(0, 0.5))
                server.start()
                next_kill = time.time() + rng.uniform(1, 4)
            time.sleep(0.01)
        stop.set()
        for client in clients:
            client.join()
        sync.sync(kiosk)
        server.kill()

        unique = set(sent)
        recorded = db.execute("SELECT count(*), count(DISTINCT dedupe_key) FROM events WHERE source = 'api:soak'"
                              ).fetchone()
        from_kiosk = db.execute("SELECT count(*), count(DISTINCT id) FROM events WHERE source LIKE 'kiosk:%'"
                                ).fetchone()
        check = db.execute("PRAGMA integrity_check").fetchone()[0]
        print(f"{args.seconds:.0f} s, server killed {server.kills} times")
        print(f"API receipts: {len(sent):,} sent ({len(unique):,} distinct), {recorded[0]:,} in the ledger, "
              f"lost {len(unique) - recorded[1]}, doubled {recorded[0] - recorded[1]}")
        print(f"kiosk confirmations: {kiosk_events:,} made, {from_kiosk[0]:,} on the server, "
              f"lost {kiosk_events - from_kiosk[1]}, doubled {from_kiosk[0] - from_kiosk[1]}, "
              f"waiting at the kiosk {store.waiting(kiosk)}")
        print(f"integrity check: {check}")
        ok = recorded[1] == len(unique) and recorded[0] == recorded[1] and from_kiosk[0] == from_kiosk[1] == kiosk_events
        sys.exit(0 if ok and check == "ok" else 1)


if __name__ == "__main__":
    main()

"""Three schools and a district, with what goes wrong between them: the district killed -9 in the
middle of a push, a school's push killed -9 in the middle, a link that loses requests and
answers, pushes replayed. Afterwards every event is at the district exactly once and every
status there is the school's own."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from server import ledger
from server.district import forward, link, schema
from server.district import ledger as district_ledger
from tests.district.nodes import counted, linked_school
from tests.district.proxy import LOSE_ANSWER, LOSE_REQUEST, PASS, FlakyLink

PB = str(Path(sys.executable).parent / "paperbridge")


class DistrictProcess:
    """`paperbridge district serve` in its own process on a fixed port (a restart is the same address)."""

    def __init__(self, database_url: str):
        self.database_url = database_url
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> DistrictProcess:
        self.process = subprocess.Popen([PB, "district", "serve", "--database", self.database_url,
                                         "--port", str(self.port)], stdout=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the district did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def events_at_district(database_url: str, school: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM events e JOIN schools s ON s.id = e.school_id WHERE s.name = %s",
                            [school]).fetchone()[0]


def push_process(path: Path, batch: int) -> subprocess.Popen:
    return subprocess.Popen([PB, "--db", str(path), "district", "push", "--batch", str(batch)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def when(condition, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.02)


def assert_exactly_once(database_url: str, name: str, node) -> None:
    counted(database_url)  # by the district server's own worker (restarted after its kill -9)
    with psycopg.connect(database_url) as conn:
        school_id = conn.execute("SELECT id FROM schools WHERE name = %s", [name]).fetchone()[0]
        there = [r[0] for r in conn.execute("SELECT id FROM events WHERE school_id = %s", [school_id])]
        here = [r[0] for r in node.execute("SELECT id FROM events")]
        assert sorted(there) == sorted(here) and len(set(there)) == len(there)
        received = conn.execute("SELECT events_received FROM schools WHERE id = %s", [school_id]).fetchone()[0]
        assert received == len(here)  # counted once too, whatever was replayed
        key = forward.family_key(node)
        for row in node.query("SELECT notice_id, family_id FROM receipt_status"):
            assert district_ledger.status_of(conn, school_id, row["notice_id"], forward.family_ref(
                key, row["family_id"])) == ledger.status_of(node, row["notice_id"], row["family_id"])


def test_three_schools_through_kills_a_lossy_link_and_replays_arrive_exactly_once(district_url, tmp_path):
    with psycopg.connect(district_url, autocommit=True) as conn:
        schema.migrate(conn)
    district = DistrictProcess(district_url).start()
    try:
        nodes = {name: linked_school(tmp_path, (district.url, district_url), name, seed)
                 for name, seed in (("Lossy", 3), ("Killed", 5), ("Stranded", 9))}

        # A link that loses every third request on the way up and every fourth answer on the way down.
        lossy = FlakyLink(district.port, lambda n: LOSE_REQUEST if n % 3 == 0 else LOSE_ANSWER if n % 4 == 0 else PASS)
        nodes["Lossy"].execute("UPDATE district_link SET server = ?", [lossy.url])
        nodes["Lossy"].conn.commit()
        failures = 0
        for _ in range(200):
            try:
                link.push(nodes["Lossy"], batch_size=40)
                break
            except link.DistrictUnreachable as exc:
                assert "will be sent next time" in str(exc)
                failures += 1
        assert failures and lossy.lost[LOSE_REQUEST] and lossy.lost[LOSE_ANSWER]
        lossy.close()

        # A school's push killed -9 half way: the next push goes on from the last answered batch.
        pushing = push_process(tmp_path / "Killed.db", batch=2)
        when(lambda: events_at_district(district_url, "Killed") >= 20)
        pushing.send_signal(signal.SIGKILL)
        pushing.communicate()
        assert pushing.returncode == -signal.SIGKILL
        assert events_at_district(district_url, "Killed") < nodes["Killed"].execute(
            "SELECT count(*) FROM events").fetchone()[0]
        assert subprocess.run([PB, "--db", str(tmp_path / "Killed.db"), "district", "push"]).returncode == 0

        # The district killed -9 under a school's push: it says so, keeps everything, and finishes later.
        pushing = push_process(tmp_path / "Stranded.db", batch=2)
        when(lambda: events_at_district(district_url, "Stranded") >= 20)
        district.kill()
        out, err = pushing.communicate(timeout=120)
        assert pushing.returncode == 1 and "cannot be reached" in err and "will be sent next time" in err, (out, err)
        district.start()
        again = subprocess.run([PB, "--db", str(tmp_path / "Stranded.db"), "district", "push"], capture_output=True,
                               text=True)
        assert again.returncode == 0, again.stderr

        # Every answer lost at once: the whole ledger sent again adds nothing.
        nodes["Lossy"].execute("UPDATE district_link SET forwarded_seq = 0, changes_seq = 0, server = ?", [district.url])
        nodes["Lossy"].conn.commit()
        replay = link.push(nodes["Lossy"])
        assert replay.recorded == 0 and replay.duplicates == replay.sent > 0

        for name, node in nodes.items():
            assert_exactly_once(district_url, name, node)
    finally:
        district.kill()

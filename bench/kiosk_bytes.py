"""Bytes on the wire for the help-desk kiosk: first load, each action, a 1,000-event sync push, and
the notices' audio (pulled apart from events, each clip once).

Usage: .venv/bin/python -m bench.kiosk_bytes
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

from kiosk import store, sync
from kiosk.app import create_kiosk_app
from server import db as database
from server import demo, devices
from server.app import create_app
from server.serving import BackgroundServer


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        demo.build(folder / "school.db")
        server = BackgroundServer(create_app({"DATABASE": str(folder / "school.db")}))
        db = database.connect(folder / "school.db")
        kiosk = store.connect(folder / "kiosk.db")
        sync.enrol(kiosk, server.url, devices.new_code(db, "bench"))
        first_sync = sync.SyncResult()
        sync.pull(kiosk, first_sync)
        client = create_kiosk_app(folder / "kiosk.db").test_client()
        first = [client.get(u) for u in ("/login", "/static/kiosk.css", "/static/kiosk.js")]
        print(f"first load (page + css + js): {sum(len(r.data) for r in first):>7,} bytes (budget 50,000)")
        token = re.search(r'name="csrf_token" value="([^"]+)"', first[0].get_data(as_text=True)).group(1)
        client.post("/login", data={"username": "volunteer", "pin": "246813", "csrf_token": token})
        family_id, code = db.execute("SELECT id, code FROM families ORDER BY id LIMIT 1").fetchone()
        for label, url in (("search page", "/"), ("search by code", f"/?q={code}"), ("family page", f"/family/{family_id}")):
            print(f"{label:<28}: {len(client.get(url).data):>7,} bytes (budget 5,000)")
        notice_id = db.execute("SELECT id FROM notices ORDER BY id LIMIT 1").fetchone()[0]
        for _ in range(1000):
            store.record(kiosk, notice_id=notice_id, family_id=family_id, kind="confirmed", actor="volunteer:volunteer")
        result = sync.SyncResult()
        sync.push(kiosk, result)
        print(f"push of {result.pushed} events       : {result.bytes_sent:>7,} bytes up, "
              f"{result.bytes_received:,} down (budget 60,000)")
        print(f"first full pull (90 families): {first_sync.bytes_received:>7,} bytes down")
        audio = sync.SyncResult()
        started = time.perf_counter()
        sync.pull_audio(kiosk, audio)  # the server renders the clips the first time it is asked
        seconds = time.perf_counter() - started
        clips = list(kiosk.query("SELECT notice_id, voice, kind, bytes FROM audio ORDER BY notice_id, voice"))
        notices = len({c["notice_id"] for c in clips})
        print(f"audio: {audio.audio_files} clips for {notices} notices, {audio.audio_bytes:,} bytes "
              f"({audio.audio_bytes // max(notices, 1):,} per notice), list {audio.bytes_received - audio.audio_bytes:,}"
              f" bytes; first pull {seconds:.1f} s (rendering included)")
        for clip in clips:
            print(f"  notice {clip['notice_id']} {clip['voice']:<3} {clip['kind']:<9} {clip['bytes']:>6,} bytes")
        again = sync.SyncResult()
        sync.pull_audio(kiosk, again)
        print(f"audio, next sync: {again.audio_files} clips, {again.bytes_received:,} bytes (the list only)")
        for r in first:
            r.close()
        server.close()


if __name__ == "__main__":
    main()

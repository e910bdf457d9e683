"""Bytes on the wire for the help-desk kiosk: first load, each action, a 1,000-event sync push.

Usage: .venv/bin/python -m bench.kiosk_bytes
"""

from __future__ import annotations

import re
import tempfile
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
            store.record(kiosk, notice_id=notice_id, family_id=family_id, kind="confirmed", actor="volunteer:bench")
        result = sync.SyncResult()
        sync.push(kiosk, result)
        print(f"push of {result.pushed} events       : {result.bytes_sent:>7,} bytes up, "
              f"{result.bytes_received:,} down (budget 60,000)")
        print(f"first full pull (90 families): {first_sync.bytes_received:>7,} bytes down")
        for r in first:
            r.close()
        server.close()


if __name__ == "__main__":
    main()

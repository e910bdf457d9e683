"""Quick experiment: false marks on unmarked slips with artifacts."""
import random
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.scan_corpus import PROFILES, fold_and_stain, rasterise, slips_by_page
from print.bulletin import print_bulletins
from print.layout import CURRENT
from print.scan import Scanner
from print.scan_input import Page
from server import clock, demo, settings
from server import db as database

tmp = Path(tempfile.mkdtemp())
demo.build(tmp / "s.db")
db = database.connect(tmp / "s.db")
week = clock.iso_week(clock.now(), settings.zone(db))
pdf = print_bulletins(db, week, out=tmp / "b.pdf", classes=["4A", "3A"]).out
by_page = slips_by_page(db, pdf)
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
pages = list(rasterise(pdf, 200))
print(len(pages), "pages", len(by_page), "slips")
for profile in sys.argv[1].split(","):
    for artifact in sys.argv[2].split(","):
        r, n = random.Random(3), np.random.default_rng(3)
        shutil.copy(tmp / "s.db", tmp / "c.db")
        [p.unlink() for p in tmp.glob("c.db-*")]
        cdb = database.connect(tmp / "c.db")
        sc = Scanner(cdb, clock.uuid7()); cdb["scan_batches"].insert({"id": sc.batch_id, "origin": "x", "started_at": clock.now_iso()})
        boxes = false = unclear = review = recorded_false = 0
        for idx, record in by_page.items():
            img = pages[idx].copy()
            fold_and_stain(img, 200, CURRENT, artifact, r)
            img = PROFILES[profile](img, r, n)
            outs = sc.scan_page(Page("x", idx + 1, img))
            o = next((o for o in outs if o.marks), outs[0])
            if not o.marks: review += 1; continue
            flat = [b for row in o.marks["rows"] for b in [row["read"]] + row["replies"]] + [o.marks["call_me"]]
            boxes += len(flat); false += flat.count("filled"); unclear += flat.count("unclear")
            review += o.outcome == "review"
            recorded_false += o.outcome == "recorded" and "filled" in flat
        cdb.close()
        print(f"{profile:7} {artifact:12} boxes {boxes:4} false {false:3} unclear {unclear:3} review {review:3}/{len(by_page)} recorded-with-false {recorded_false}")

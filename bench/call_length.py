"""How long the phone line keeps a caller: the demo week walked as Twilio plays it.

Usage: .venv/bin/python -m bench.call_length [--show]

Builds a small school with the demo school's notices (three public ones for class 3A, one
private), and calls from a guardian's number (caller ID) in each language, pressing the
answer for every notice as soon as its choices have been said, and staying silent at the
end. Prints the estimated call length at the app's own SSML rate (``ivr.call_time``: 4.5
syllables or 2.6 English words a second at 100 %), the number of prompts and menus, and, as
a cross-check, the same prompts rendered by espeak-ng at that rate (when installed). Also
walks a caller the roster does not know (language menu, family code, PIN) and one who stays
silent everywhere (no prompt may loop). --show prints each step of the Mandarin call.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

from ivr.call_time import Walker
from ivr.simulator import ESPEAK_VOICES, Phone, Spoken
from server import clock, notices, pins, roster, settings
from server import db as database
from server.app import create_app
from server.demo import NOTICES

CALLERS = {"zh-Hans": "+8613800138001", "yue-Hant": "+8613800138002", "en": "+8613800138003",
           "zh-Hant": "+8613800138004"}


def build_week(folder: Path) -> Path:
    """A 3A family per language, and the demo notices published an hour ago."""
    path = folder / "week.db"
    db = database.connect(path)
    settings.initialize(db, school_name="示范小学", school_name_en="Demo Primary School", school_id="DEMO",
                        phone_line="+862088880000", timezone="Asia/Shanghai")
    roster_csv = folder / "roster.csv"
    with roster_csv.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["student id", "student name", "class", "guardian name", "guardian phone", "language"])
        for n, (language, phone) in enumerate(CALLERS.items(), 1):
            writer.writerow([f"S{n}", f"学生{n}", "3A", f"家长{n}", phone, language])
        writer.writerow(["S8", "学生8", "3B", "家长8", "+8613800138008", "zh-Hans"])  # the classes the notices name
        writer.writerow(["S9", "学生9", "4A", "家长9", "+8613800138009", "zh-Hans"])
    roster.import_roster(db, roster_csv)
    published = clock.iso(clock.now() - dt.timedelta(hours=1))
    today = clock.now().astimezone(settings.zone(db)).date()
    for spec in NOTICES:
        due = spec.get("due_offset")
        values = {k: v for k, v in spec.items() if k != "due_offset"}
        notices.add_notice(db, **values, publish_at=published,
                           due_date=(today + dt.timedelta(days=due)).isoformat() if due else None)
    db.close()
    return path


def answer_each(turn) -> str | None:
    """Press the notice's answer (1) at every notice; hang up at the goodbye."""
    if turn.action and "/voice/end" in turn.action:
        return None
    return "1" if turn.action and "/voice/key" in turn.action else ""


def espeak_seconds(spoken: list[Spoken], folder: Path) -> float | None:
    espeak = shutil.which("espeak-ng")
    if not espeak:
        return None
    total = 0.0
    for n, say in enumerate(spoken):
        out = folder / f"say{n}.wav"
        speed = round(175 * int(say.rate.rstrip("%")) / 100)
        subprocess.run([espeak, "-v", ESPEAK_VOICES.get(say.language, "en-us"), "-s", str(speed), "-w", str(out),
                        say.text], check=True, capture_output=True)
        with wave.open(str(out)) as audio:
            total += audio.getnframes() / audio.getframerate()
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="print each step of the Mandarin call")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        app = create_app({"DATABASE": str(build_week(folder))})
        print(f"{'caller':<28} {'seconds':>8} {'prompts':>8} {'menus':>6} {'espeak-ng s':>12}")
        for language, number in CALLERS.items():
            phone = Phone(app, number)
            walk = Walker(phone).call(answer_each)
            heard = [s for turn in phone.log for s in turn.spoken]
            espeak = espeak_seconds(heard, folder)
            print(f"{'caller ID, ' + language:<28} {walk.seconds:8.1f} {walk.prompts:8d} {walk.menus:6d} "
                  f"{espeak if espeak is None else round(espeak, 1)!s:>12}")
            if args.show:
                print(walk.report())
        db = database.connect(folder / "week.db")
        family = roster.family_by_code(db, db.execute("SELECT code FROM families WHERE id = 1").fetchone()[0])
        code, pin = family["code"], pins.pin_for(db, family["id"])
        db.close()
        keys = iter(["1", code + "#", pin + "#"])
        stranger = Walker(Phone(app, "+8613911112222")).call(lambda turn: next(keys, None) or answer_each(turn))
        print(f"{'unknown number, code + PIN':<28} {stranger.seconds:8.1f} {stranger.prompts:8d} {stranger.menus:6d}")
        silent = Walker(Phone(app, "+8613911113333")).call(lambda turn: "")
        print(f"{'unknown number, silent':<28} {silent.seconds:8.1f} {silent.prompts:8d} {silent.menus:6d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

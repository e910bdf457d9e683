"""Refresh the translation catalogues: extract messages, merge into each .po, compile .mo.

Two domains: ``messages`` (the UI, printed and texted words: zh_Hans, zh_Hant) and ``spoken``
(the phone line's prompts as Cantonese speakers say them: yue; other messages fall back to
written Traditional Chinese).

Usage: .venv/bin/python scripts/translations.py
Prints the messages still untranslated; fill them in server/translations/*/LC_MESSAGES/messages.po
and run it again (tests/test_project.py fails while any is missing).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = ROOT / "server" / "translations"


def pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


KEYWORDS = ("-k", "_", "-k", "gettext", "-k", "ngettext:1,2", "-k", "n_:1,2", "-k", "Setting:3")
SPOKEN = ("ivr/voice.py",)  # the phone line's prompts: domain 'spoken', said in Cantonese (locale yue)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        template, spoken = str(Path(tmp) / "messages.pot"), str(Path(tmp) / "spoken.pot")
        pybabel("extract", "-F", "babel.cfg", *KEYWORDS, "--no-location", "--sort-output", "-o", template, ".")
        pybabel("update", "-i", template, "-d", str(CATALOGUES), "--no-fuzzy-matching", "--ignore-obsolete")
        pybabel("extract", *KEYWORDS, "--no-location", "--sort-output", "-o", spoken, *SPOKEN)
        pybabel("update", "-D", "spoken", "-i", spoken, "-d", str(CATALOGUES), "--no-fuzzy-matching",
                "--ignore-obsolete")
    pybabel("compile", "-D", "messages spoken", "-d", str(CATALOGUES))
    missing = 0
    for po in sorted(CATALOGUES.glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as f:
            for message in read_po(f):
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                if message.id and not all(strings):
                    missing += 1
                    print(f"{po.parent.parent.name}: {message.id}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())

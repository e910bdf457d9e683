"""Names in any script on paper: a chain of fonts, each character printed by the first that has it.

WenQuanYi Micro Hei (the primary font, print/fonts.py) has Simplified and Traditional Chinese
and Latin; rare characters (𠮷, 𡈽, 𬌗: CJK Extension B and later) come from HanaMin, Arabic
script (a Uyghur name) from Noto Naskh Arabic, Devanagari (a Nepali name) from Noto Sans
Devanagari, accented Latin and symbols (✗) from DejaVu Sans. Arabic and Devanagari are
shaped by HarfBuzz (joined letters, conjuncts, vowel signs in place), Arabic laid right to
left; every fallback run carries its words as PDF ActualText, so copying or searching the
PDF finds the name as written. A character no font has is printed as its code, [U+2A6D6],
never as a blank.

Example::

    draw(canvas, x, y, "艾尔肯 ئەركىن · सुनिता", 10, primary)
    unprintable("𠮷田", primary)  # '' once HanaMin is installed
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from reportlab.lib.abag import ABag
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont, shapeFragWord
from reportlab.platypus import Flowable

from print import fonts

# (ReportLab name, files to try, shaped by HarfBuzz, right to left); installed by ./run.sh
CHAIN = (
    ("PaperBridgeHanB", ("/usr/share/fonts/truetype/hanazono/HanaMinB.ttf",), False, False),
    ("PaperBridgeArabic", ("/usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf",
                           "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf"), True, True),
    ("PaperBridgeDevanagari", ("/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf",), True, False),
    ("PaperBridgeLatin", ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",), False, False),
    ("PaperBridgeHanA", ("/usr/share/fonts/truetype/hanazono/HanaMinA.ttf",), False, False),  # rare BMP Han
)
_JOINERS = {"\u200c", "\u200d"}


@dataclass(frozen=True)
class Face:
    name: str
    chars: frozenset[int]
    shaped: bool = False
    rtl: bool = False


@dataclass(frozen=True)
class Run:
    face: Face | None  # None: no font has these characters
    text: str


@cache
def faces(primary: str) -> tuple[Face, ...]:
    """The primary font, then each fallback whose file is installed."""
    chain = [Face(primary, frozenset(pdfmetrics.getFont(primary).face.charToGlyph))]
    for name, paths, shaped, rtl in CHAIN:
        for path in paths:
            if not Path(path).exists():
                continue
            try:
                font = TTFont(name, path)
            except TTFError:
                continue
            pdfmetrics.registerFont(font)
            chain.append(Face(name, frozenset(font.face.charToGlyph), shaped, rtl))
            break
    return tuple(chain)


def runs(text: str, primary: str) -> list[Run]:
    """``text`` cut where the font changes; spaces, marks and joiners stay with the run they are in."""
    out: list[Run] = []
    for ch in text:
        face = out[-1].face if out and _follows(ch, out[-1].face) else _face_for(ch, primary)
        if out and out[-1].face == face:
            out[-1] = Run(face, out[-1].text + ch)
        else:
            out.append(Run(face, ch))
    return out


def _follows(ch: str, face: Face | None) -> bool:
    """A character that goes with the run before it when that run's font has it (a space, a
    combining mark, a joiner): Arabic words stay one run, a vowel sign stays on its letter."""
    return face is not None and ord(ch) in face.chars and (
        ch.isspace() or ch in _JOINERS or unicodedata.category(ch).startswith("M"))


def _face_for(ch: str, primary: str) -> Face | None:
    return next((f for f in faces(primary) if ord(ch) in f.chars), None)


def unprintable(text: str, primary: str) -> str:
    """The characters of ``text`` that no installed font can print (controls ignored)."""
    return "".join(dict.fromkeys(ch for run in runs(text, primary) if run.face is None for ch in run.text
                                 if not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf")))


def name_check():
    """``unprintable`` for the fonts of this server (for the roster import's warnings), or None
    when there is no font to print with at all (printing then says so itself)."""
    try:
        primary = fonts.register()
    except fonts.FontMissing:
        return None
    return lambda text: unprintable(text, primary)


def code_form(text: str) -> str:
    """How characters no font has are printed: their code, which a person can look up."""
    return "".join(f"[U+{ord(ch):04X}]" for ch in text if not ch.isspace()) or text


def _pieces(text: str, primary: str, size: float) -> list[tuple[str, str, float, str]]:
    """(font, what to draw, its width, the words as written) for each run, in drawing order."""
    out = []
    for run in runs(text, primary):
        if run.face is None:
            shown = code_form(run.text)
            out.append((primary, shown, pdfmetrics.stringWidth(shown, primary, size), run.text))
        elif run.face.shaped:
            words = run.text.split(" ")
            ordered = " ".join(reversed(words)) if run.face.rtl else run.text  # HarfBuzz orders the letters
            shaped = shapeFragWord([pdfmetrics.stringWidth(ordered, run.face.name, size),
                                    (ABag(fontName=run.face.name, fontSize=size), ordered)])
            out.append((run.face.name, "".join(piece for _frag, piece in shaped[1:]), shaped[0], run.text))
        else:
            out.append((run.face.name, run.text, pdfmetrics.stringWidth(run.text, run.face.name, size), run.text))
    return out


def width(text: str, size: float, primary: str) -> float:
    return sum(piece[2] for piece in _pieces(text, primary, size))


def draw(canvas, x: float, y: float, text: str, size: float, primary: str) -> float:
    """Draw ``text`` from (x, y) with the font chain; returns the width drawn."""
    start = x
    for font, shown, advance, written in _pieces(text, primary, size):
        tagged = font != primary or shown != written
        if tagged:  # what a reader copying or searching the PDF gets: the words as written
            canvas.addLiteral(f"/Span <</ActualText <FEFF{written.encode('utf-16-be').hex().upper()}>>> BDC")
        line = canvas.beginText(x, y)
        line.setFont(font, size)
        line.textOut(shown)
        canvas.drawText(line)
        if tagged:
            canvas.addLiteral("EMC")
        x += advance
    return x - start


class Line(Flowable):
    """Text drawn with the font chain, wrapped at spaces and list marks to the frame's width."""

    def __init__(self, text: str, primary: str, size: float, leading: float | None = None):
        super().__init__()
        self.text, self.primary, self.size, self.leading = text, primary, size, leading or size * 1.35
        self.lines: list[str] = [text]

    def wrap(self, available_width: float, _available_height: float):
        self.lines, current = [], ""
        for word in re.findall(r"[^ 、,，·]+[ 、,，·]*", self.text) or [self.text]:
            if current and width(current + word.rstrip(), self.size, self.primary) > available_width:
                self.lines.append(current.rstrip())
                current = ""
            current += word
        self.lines.append(current.rstrip())
        self.width = available_width
        self.height = self.leading * len(self.lines)
        return self.width, self.height

    def draw(self) -> None:
        for n, line in enumerate(self.lines):
            draw(self.canv, 0, self.height - self.leading * (n + 1) + (self.leading - self.size) / 2 + self.size * 0.15,
                 line, self.size, self.primary)

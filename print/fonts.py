"""Finding and registering a CJK font that ReportLab can embed (TrueType outlines).

ReportLab embeds a subset of TrueType (glyf) fonts only; Noto CJK's CFF outlines will not
do. WenQuanYi Micro Hei covers Simplified and Traditional Chinese and Latin.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from server.errors import PaperBridgeError

FONT_NAME = "PaperBridgeCJK"
ENV_VAR = "PAPERBRIDGE_CJK_FONT"
CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simsun.ttc",
)
SAMPLE = "简体繁體學校家長English"


class FontMissing(PaperBridgeError):
    pass


def _candidates() -> list[Path]:
    chosen = os.environ.get(ENV_VAR)
    return [Path(chosen)] if chosen else [Path(p) for p in CANDIDATES]


@cache
def register() -> str:
    """Register the first usable font and return its ReportLab name; FontMissing otherwise."""
    pdfmetrics.registerFont(find_font(_candidates()))
    return FONT_NAME


def find_font(candidates: list[Path]) -> TTFont:
    """The first file that loads and has Simplified, Traditional and Latin glyphs."""
    for path in candidates:
        if not path.exists():
            continue
        try:
            font = TTFont(FONT_NAME, str(path), subfontIndex=0)
        except TTFError:
            continue
        if all(ord(ch) in font.face.charToGlyph for ch in SAMPLE):
            return font
    raise FontMissing(
        "No Chinese font that can be embedded in a PDF was found. Install one with "
        "`sudo apt-get install fonts-wqy-microhei`, or set PAPERBRIDGE_CJK_FONT to a TrueType .ttf/.ttc file "
        "with Chinese characters (for example msyh.ttc on Windows).")

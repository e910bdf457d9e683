"""Lines of a legacy-encoded file that were written in another encoding.

A Big5 roster with one line pasted from a GBK file decodes without an error: GBK bytes are
valid Big5 too, they just spell nonsense (王小明 becomes 卼苤隴). What tells them apart is
how *common* the characters are: a real line is made of the everyday characters of its
standard (GB2312 for Simplified, Big5's frequent level for Traditional), while a line read
in the wrong encoding is full of rare characters, kana and symbols. A line is foreign when
the other reading is (nearly) all common characters and this one clearly is not.

Example::

    text, encoding, foreign = read_lines(data, tiebreak=lambda readings: "gb18030")
    # encoding "big5hkscs", foreign {7: "GBK (Simplified Chinese)"}
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

LEGACY = ("gb18030", "big5hkscs")
NAMES = {"gb18030": "GBK (Simplified Chinese)", "big5hkscs": "Big5 (Traditional Chinese)", "utf-8": "UTF-8"}
_PUNCTUATION = set("，。、；：？！“”‘’（）《》【】—…·　")
_BIG5_FREQUENT = (0xA440, 0xC67E)  # Big5 level 1: the 5,401 frequent characters
MIN_LETTERS = 2  # fewer non-ASCII characters say nothing
CLEARLY = 0.9  # the other reading is (nearly) all common characters
MARGIN = 0.25  # and this reading is clearly less so


def read_lines(data: bytes, tiebreak: Callable[[dict[str, str]], str]) -> tuple[str, str, dict[int, str]]:
    """Decode a file that is not UTF-8, line by line: (text, the file's encoding, {line number:
    the encoding that line is really in} for lines written in another one).

    The file's encoding is the one most lines clearly read as; when no line decides (all of
    them read as well either way), ``tiebreak`` picks from the whole-file readings. Raises
    ValueError when no line is GBK or Big5 at all.
    """
    lines = data.split(b"\n")
    votes = [_vote(line) for line in lines]
    counts = Counter(v for v in votes if v in LEGACY)
    if counts and (len(counts) == 1 or counts.most_common(2)[0][1] > counts.most_common(2)[1][1]):
        encoding = counts.most_common(1)[0][0]
    else:
        whole = {enc: text for enc in LEGACY if (text := _decoded(data, enc)) is not None}
        if not whole:
            raise ValueError("neither GBK nor Big5")
        encoding = tiebreak(whole) if len(whole) > 1 else next(iter(whole))
    texts, foreign = [], {}
    for number, (line, vote) in enumerate(zip(lines, votes, strict=True), 1):
        text = _decoded(line, encoding)
        if vote not in (None, encoding) or text is None:
            foreign[number] = NAMES.get(vote or "", "an encoding that is neither GBK nor Big5")
            text = line.decode(vote or encoding, errors="replace")
        texts.append(text)
    return "\n".join(texts), encoding, foreign


def _decoded(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _vote(line: bytes) -> str | None:
    """The encoding a line is clearly written in, or None when it cannot tell (ASCII, or both
    readings equally plausible)."""
    if line.isascii():
        return None
    text = _decoded(line, "utf-8")
    if text is not None and sum(not ch.isascii() for ch in text) >= MIN_LETTERS:
        return "utf-8"
    readings = {enc: text for enc in LEGACY if (text := _decoded(line, enc)) is not None}
    if len(readings) == 1:
        return next(iter(readings))
    shares = {enc: share for enc, text in readings.items() if (share := _common_share(text, enc)) is not None}
    if len(shares) < len(LEGACY):
        return None
    best = max(shares, key=lambda enc: shares[enc])
    other = min(shares, key=lambda enc: shares[enc])
    return best if shares[best] >= CLEARLY and shares[other] <= shares[best] - MARGIN else None


def _common_share(text: str, encoding: str) -> float | None:
    letters = [ch for ch in text if not ch.isascii() and not ch.isspace()]
    if len(letters) < MIN_LETTERS:
        return None
    return sum(_common(ch, encoding) for ch in letters) / len(letters)


def _common(ch: str, encoding: str) -> bool:
    if ch in _PUNCTUATION:
        return True
    if not ("\u4e00" <= ch <= "\u9fff"):
        return False  # kana, Greek, box drawing, rare extensions: what a wrong reading produces
    try:
        if encoding == "gb18030":
            ch.encode("gb2312")
            return True
        code = int.from_bytes(ch.encode("big5"), "big")
    except UnicodeEncodeError:
        return False
    return _BIG5_FREQUENT[0] <= code <= _BIG5_FREQUENT[1]

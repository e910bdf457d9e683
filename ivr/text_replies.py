"""What a text reply says, in the words families use: "1 12", "收到", "好的，收到了", "OK", "👍",
"参加", "不參加", a lone "2", or "STOP".

Only the shape is read here; which notice it answers is decided by ``ivr.sms`` from the
family's open notices. Nothing is guessed: a reply that is not plainly one of these shapes
is ``unclear`` and goes to a person.

Example::

    understand("好的，收到了").kind == "ack"
    understand("１ １２").numbers == ("1", "12")
    understand("收到，不参加").words == "不参加"
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from server.chinese import fold

STOP_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "退订", "取消"}
START_WORDS = {"start", "unstop", "订阅"}
# Acknowledgements, folded (Simplified, lower case): a reply made only of these says "I got it".
_ACK = ("好的", "好", "收到了", "收到啦", "收到", "已收到", "知道了", "知道啦", "知道", "明白了", "明白", "了解",
        "已阅", "已读", "已看", "看了", "看到了", "是的", "是", "嗯嗯", "嗯", "哦", "噢", "ok", "okay", "okey", "yes", "y",
        "yep", "yeah", "got it", "received", "noted", "thanks", "thank you", "thx", "谢谢老师", "谢谢", "多谢",
        "感谢", "👍", "👌", "🙏", "✅", "✔", "☑", "🆗")
_TOKENS = sorted(_ACK, key=len, reverse=True)
_SEPARATORS = " \t\r\n,.!~、，。！～:;：；…-—"
_EMOJI_MODIFIERS = re.compile("[\ufe0f\u200d\U0001f3fb-\U0001f3ff]")


@dataclass(frozen=True)
class Reply:
    """``kind``: stop | start | numbers (one or more numbers) | ack (only acknowledgements) |
    words (other words, perhaps a reply option's, after any acknowledgement) | empty."""

    kind: str
    numbers: tuple[str, ...] = ()  # as typed: a PIN may start with 0
    words: str = ""  # folded: Simplified, lower case, no acknowledgements around it
    whole: str = ""  # the whole reply, folded


def understand(body: str) -> Reply:
    whole = _EMOJI_MODIFIERS.sub("", fold(body)).strip(_SEPARATORS)
    if not whole:
        return Reply("empty")
    if whole in STOP_WORDS:
        return Reply("stop", whole=whole)
    if whole in START_WORDS:
        return Reply("start", whole=whole)
    rest = _without_acks(whole)
    if re.fullmatch(r"[\d\s#,，.]*\d[\d\s#,，.]*", rest):
        return Reply("numbers", numbers=tuple(re.findall(r"\d+", rest)), whole=whole)
    if not rest:
        return Reply("ack", whole=whole)
    return Reply("words", words=rest, whole=whole)


def _without_acks(text: str) -> str:
    """Strip acknowledgements (and separators) from both ends: '好的，收到了，不参加' -> '不参加'."""
    changed = True
    while changed and text:
        changed = False
        for token in _TOKENS:
            if text.startswith(token) and not _joined(token[-1], text[len(token):len(token) + 1]):
                text, changed = text[len(token):].strip(_SEPARATORS), True
                break
            if text.endswith(token) and not _joined(text[-len(token) - 1:-len(token)], token[0]):
                text, changed = text[:-len(token)].strip(_SEPARATORS), True
                break
    return text


def _joined(left: str, right: str) -> bool:
    """True if these two characters are inside one Latin word ('y' of 'yet', 'ok' of 'okra')."""
    return all(c and c.isascii() and c.isalnum() for c in (left, right))

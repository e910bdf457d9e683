"""How long a call takes a caller: the phone line walked as Twilio plays it, every <Say> timed.

A spoken prompt's length is estimated from its words at its SSML rate: Mandarin and
Cantonese at 4.5 syllables (characters) a second, English at 2.6 words a second (about
160 a minute), digits one syllable each, a pause after each sentence (0.35 s) and comma
(0.15 s), all divided by the rate (85 % -> 1/0.85 as long). A caller presses a key one
second after the prompt that tells which key to press (keys work while the line speaks), or
after the whole turn when no prompt names the key, or lets a Gather time out in silence.

Example::

    walk = Walker(Phone(app, "+8613800138001"))
    walk.call(answer=lambda turn: "1")
    walk.seconds, walk.prompts, walk.menus
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ivr.simulator import Phone, Spoken, Turn

SYLLABLES_PER_SECOND = 4.5  # Mandarin and Cantonese, one character one syllable
WORDS_PER_SECOND = 2.6  # English
SENTENCE_PAUSE, COMMA_PAUSE = 0.35, 0.15
REACTION = 1.0  # seconds from the end of a prompt to the caller's key
_CJK = re.compile(r"[\u3400-\u9fff\U00020000-\U0003134f]")
_SENTENCE = re.compile(r"[。！？!?.;；]")
_COMMA = re.compile(r"[，、,：:]")


def speaking_seconds(spoken: Spoken) -> float:
    """How long one <Say> takes at its rate."""
    text = spoken.text
    syllables = len(_CJK.findall(text)) + len(re.findall(r"\d", text))
    latin = re.sub(r"[\d\u3400-\u9fff]", " ", text)
    words = len(re.findall(r"[A-Za-z]+(?:'[a-z]+)?", latin))
    seconds = syllables / SYLLABLES_PER_SECOND + words / WORDS_PER_SECOND
    seconds += SENTENCE_PAUSE * max(1, len(_SENTENCE.findall(text))) + COMMA_PAUSE * len(_COMMA.findall(text))
    rate = int(spoken.rate.rstrip("%") or 100) / 100
    return seconds / rate


def _heard_before_key(spoken: list[Spoken], keys: str) -> list[Spoken]:
    """What the caller hears before pressing: up to the interruptible prompt that says which key
    to press ("参加请按1", "press 1"), since keys work while the line speaks; else all of it."""
    if len(keys) == 1:
        says_key = re.compile(rf"(按|撳|press ){re.escape(keys)}(?!\d)")
        for n, say in enumerate(spoken):
            if say.interruptible and says_key.search(say.text):
                return spoken[:n + 1]
    return spoken


@dataclass
class Step:
    """One turn of the call: what was said, how long it took, what the caller did."""

    said: list[str]
    seconds: float
    keys: str | None  # None: hung up; '': silence


@dataclass
class Walker:
    phone: Phone
    steps: list[Step] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    @property
    def prompts(self) -> int:
        return sum(len(s.said) for s in self.steps)

    @property
    def menus(self) -> int:
        return sum(1 for s in self.steps if s.keys is not None)

    def call(self, answer: Callable[[Turn], str | None], limit: int = 40) -> Walker:
        """Dial, then give each Gather ``answer(turn)``'s keys ('' silence, None hang up)."""
        turn = self.phone.dial()
        for _ in range(limit):
            talk = sum(speaking_seconds(s) for s in turn.spoken)
            if turn.action is None:
                self.steps.append(Step(turn.said, talk, None))
                return self
            keys = answer(turn)
            if keys is None:
                self.steps.append(Step(turn.said, talk, None))
                return self
            heard = _heard_before_key(turn.spoken, keys)
            talk = sum(speaking_seconds(s) for s in heard)
            wait = turn.timeout if keys == "" else REACTION + 0.3 * (len(keys) - 1)
            self.steps.append(Step([s.text for s in heard], talk + wait, keys))
            turn = self.phone.press(keys)
        raise RuntimeError(f"the call did not end in {limit} turns: a prompt loops")

    def report(self) -> str:
        lines = []
        at = 0.0
        for step in self.steps:
            keys = "hangs up" if step.keys is None else "(silence)" if step.keys == "" else f"presses {step.keys}"
            lines.append(f"{at:6.1f}s  {' / '.join(step.said)}  -> {keys}")
            at += step.seconds
        lines.append(f"{at:6.1f}s  end: {self.prompts} prompts, {self.menus} menus")
        return "\n".join(lines)

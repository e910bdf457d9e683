"""Sliding-window rate limits for guessable things: passwords, PINs, family codes, device tokens.

In memory, per process (one waitress process serves a school); a restart forgets,
which is fine for slowing down guessing. The phone line keeps its own per-number
count in the database (ivr/calls.py) because calls arrive as separate webhooks.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Limit:
    name: str
    attempts: int
    seconds: float


LOGIN = Limit("login", 20, 600)  # sign-in attempts per address, over every account
PIN = Limit("pin", 8, 600)  # kiosk PIN attempts per address (PINs are short)
FAMILY_CODE = Limit("family_code", 10, 600)  # wrong family codes typed at one kiosk
BAD_LINK = Limit("bad_link", 30, 600)  # invalid family links or API tokens per address
ENROL = Limit("enrol", 10, 600)  # kiosk enrolment attempts per address
SYNC = Limit("sync", 120, 60)  # sync requests per kiosk device


class RateLimiter:
    """``hit(key)`` counts one attempt; it and ``blocked_for`` say how many seconds to wait (0: go ahead)."""

    MAX_KEYS = 10_000

    def __init__(self, limit: Limit, now: Callable[[], float] = time.monotonic) -> None:
        self.limit, self._now = limit, now
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> int:
        now = self._now()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.limit.seconds:
                hits.popleft()
            if len(hits) >= self.limit.attempts:
                return max(1, int(hits[0] + self.limit.seconds - now + 0.999))
            hits.append(now)
            if len(self._hits) > self.MAX_KEYS:
                self._forget_idle(now)
            return 0

    def give_back(self, key: str) -> None:
        """Return an attempt taken with ``hit`` that turned out right (a good password): take
        first, give back on success, so a burst in parallel cannot slip past the count."""
        with self._lock:
            hits = self._hits.get(key)
            if hits:
                hits.pop()

    def blocked_for(self, key: str) -> int:
        """Seconds to wait, without counting an attempt (check first, count failures only)."""
        now = self._now()
        with self._lock:
            hits = [t for t in self._hits.get(key, ()) if t > now - self.limit.seconds]
            return max(1, int(hits[0] + self.limit.seconds - now + 0.999)) if len(hits) >= self.limit.attempts else 0

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.limit.seconds]:
            del self._hits[key]


def token_key(header: str) -> str:
    """A short stable key for a bearer token (the token itself is never kept)."""
    return hashlib.sha256(header.encode()).hexdigest()[:16]


def minutes(seconds: int) -> int:
    return max(1, (seconds + 59) // 60)


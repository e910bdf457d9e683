"""Background loops that never die: a failed step is logged and the loop goes on."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable


def every(seconds: float, step: Callable[[], object], *, log: logging.Logger, what: str,
          stop: threading.Event | None = None) -> None:
    """Run ``step`` now and then every ``seconds`` until ``stop`` is set.

    Any exception in a step (a locked database, a full disk, a bug) is logged with its
    traceback and the next step runs as planned: a kiosk or a reminder loop that stops for
    good without a word is worse than one that keeps trying and says why it failed.
    """
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            step()
        except Exception:  # noqa: BLE001 - any failure: log it, keep the loop alive
            log.exception("%s failed; trying again in %s s", what, int(seconds))
        stop.wait(seconds)

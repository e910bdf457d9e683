"""The district server's status worker: derives the queued pushes' status (server/district/ledger.py
derive_queued) on a connection of its own, woken by every push that lands and every few seconds
for pushes queued while it was away (a restart, another process that took them)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager

import psycopg
from psycopg_pool import PoolClosed

from server.district import ledger

log = logging.getLogger("paperbridge.district")


class StatusWorker:
    """``connection()`` lends a connection (a pool's); the worker stops with :meth:`stop` or when
    the pool is closed."""

    def __init__(self, connection: Callable[[], AbstractContextManager[psycopg.Connection]], seconds: float = 5.0):
        self._connection = connection
        self._seconds = seconds
        self._woken = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="district-status", daemon=True)

    def start(self) -> StatusWorker:
        self._thread.start()
        return self

    def wake(self) -> None:
        """A push landed: derive it now."""
        self._woken.set()

    def stop(self) -> None:
        self._stopped.set()
        self._woken.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stopped.is_set():
            self._woken.clear()
            try:
                with self._connection() as conn:
                    while not self._stopped.is_set() and ledger.derive_queued(conn):
                        pass
            except PoolClosed:
                return
            except Exception:  # noqa: BLE001 - any failure (the database restarting): log it, try again
                log.exception("deriving the status of queued pushes failed; trying again in %s s", self._seconds)
            self._woken.wait(self._seconds)

"""Serve a WSGI app on loopback in a background thread and stop it cleanly.

Used by the tests, the benchmarks and the screenshot script. Waitress's own
``server.close()`` called from another thread races the event loop's
``select()`` (EBADF); here the loop thread itself closes every socket after it
sees the stop flag, so shutdown never touches a descriptor in use.
"""

from __future__ import annotations

import threading

from waitress import create_server, wasyncore

PROXY_HEADERS = {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port"}


def proxy_settings(hops: int, trusted: str) -> dict:
    """Waitress settings for ``hops`` reverse proxies in front, the nearest at address ``trusted``.

    Waitress removes X-Forwarded-* from every request it does not trust, so the app never
    sees them unless waitress itself is told which peer is the proxy: then it sets the
    client's address and scheme (https) from the headers, and from no other peer.
    """
    if hops <= 0:
        return {}
    return {"trusted_proxy": trusted, "trusted_proxy_count": hops, "trusted_proxy_headers": PROXY_HEADERS,
            "clear_untrusted_proxy_headers": True}


class BackgroundServer:
    """``with BackgroundServer(app) as server: requests.get(server.url)``."""

    def __init__(self, app, port: int = 0, threads: int = 4, **settings) -> None:
        self._server = create_server(app, host="127.0.0.1", port=port, threads=threads, **settings)
        self.port: int = self._server.effective_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"waitress:{self.port}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        socket_map = self._server._map
        try:
            while not self._stop.is_set():
                wasyncore.loop(timeout=0.05, map=socket_map, count=1)
        finally:
            wasyncore.close_all(socket_map)
            self._server.task_dispatcher.shutdown()

    def close(self) -> None:
        """Stop accepting, close every connection, wait for the workers."""
        self._stop.set()
        self._thread.join(timeout=10)

    def __enter__(self) -> "BackgroundServer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

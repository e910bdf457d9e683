"""A TCP proxy for one HTTP request per connection (how urllib talks) that loses some of them on
purpose, like a school's flaky uplink: the request never reaches the district, or the district
answers and the answer never reaches the school."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

PASS, LOSE_REQUEST, LOSE_ANSWER = "pass", "lose request", "lose answer"


class FlakyLink:
    """Listens on loopback; ``fate(n)`` decides what happens to the n-th request (from 1)."""

    def __init__(self, upstream_port: int, fate: Callable[[int], str]):
        self.upstream, self.fate = ("127.0.0.1", upstream_port), fate
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.count, self.lost = 0, {LOSE_REQUEST: 0, LOSE_ANSWER: 0}
        self._lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self.count += 1
                fate = self.fate(self.count)
            threading.Thread(target=self._one, args=(client, fate), daemon=True).start()

    def _one(self, client: socket.socket, fate: str) -> None:
        with client:
            request = _read_request(client)
            if fate == LOSE_REQUEST or request is None:
                self.lost[LOSE_REQUEST] += 1
                return  # the link dropped on the way up: the district never saw it
            with socket.create_connection(self.upstream) as upstream:
                upstream.sendall(request)
                answer = b"".join(iter(lambda: upstream.recv(65536), b""))
            if fate == LOSE_ANSWER:
                self.lost[LOSE_ANSWER] += 1
                return  # the district took it; the answer is lost on the way down
            client.sendall(answer)


def _read_request(sock: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n" + body

"""The school server in its own process, with a switch to cut its power at the worst moment.

Usage: python -m tests.faults.power_cut_server DB PORT [--die-after PATH:N] [--slow PATH:SECONDS]

--die-after /api/sync/push:2  the process kills itself (SIGKILL) after the app has answered the
                              2nd request to that path - the transaction is committed, the reply
                              never leaves: a power cut between write and reply.
--slow /api/sync/pull:0.3     each such request takes that much longer (to kill a client mid-way).
"""

from __future__ import annotations

import argparse
import os
import signal
import time

import waitress

from server.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("port", type=int)
    parser.add_argument("--die-after", default="")
    parser.add_argument("--slow", default="")
    args = parser.parse_args()
    app = create_app({"DATABASE": args.db})
    die_path, _, die_count = args.die_after.partition(":")
    slow_path, _, slow_seconds = args.slow.partition(":")
    seen = {"n": 0}

    def wsgi(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if slow_path and path.startswith(slow_path):
            time.sleep(float(slow_seconds))
        body = b"".join(app(environ, start_response))
        if die_path and path.startswith(die_path):
            seen["n"] += 1
            if seen["n"] == int(die_count):
                os.kill(os.getpid(), signal.SIGKILL)
        return [body]

    waitress.serve(wsgi, host="127.0.0.1", port=args.port, threads=2, _quiet=True)


if __name__ == "__main__":
    main()

"""Load on the phone line: concurrent simulated calls through the whole flow, over real HTTP.

Usage: .venv/bin/python -m bench.ivr_load [--families 2000] [--concurrency 50,200] [--calls 400] [--think 0]

Builds a 2,000-family school, serves it with `paperbridge serve` (waitress) in a second
process, and drives signed calls (dial, then 1 for every notice and answer) from threads in
this process. Prints p50 / p99 latency per webhook and requests per second. With --think 0
every caller presses the next key the instant a reply arrives (a stress test of throughput);
--think 2 lets each caller listen for about 2 s between keys, as people do.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from twilio.request_validator import RequestValidator

from bench.print_bench import build_school
from ivr import config
from server import db as database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Caller:
    def __init__(self, host: str, port: int, token: str, public: str):
        self.conn = http.client.HTTPConnection(host, port, timeout=30)
        self.validator, self.public = RequestValidator(token), public.rstrip("/")

    def post(self, url: str, form: dict, timings: dict) -> ET.Element:
        full = url if url.startswith("http") else self.public + url
        parts = urlsplit(full)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": self.validator.compute_signature(full, form)}
        start = time.perf_counter()
        self.conn.request("POST", path, urlencode(form), headers)
        response = self.conn.getresponse()
        body = response.read()
        timings[parts.path].append(time.perf_counter() - start)
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status}")
        return ET.fromstring(body)

    think = 0.0

    def call(self, number: str, timings: dict) -> None:
        form = {"CallSid": "CA" + uuid.uuid4().hex, "From": number, "To": "+10000000000"}
        root = self.post("/ivr/voice", form, timings)
        for _ in range(40):
            redirect = root.find("Redirect")
            gather = root.find("Gather")
            if redirect is not None:
                root = self.post(redirect.text, form, timings)
            elif gather is not None:
                if self.think:
                    time.sleep(random.uniform(0.5, 1.5) * self.think)
                root = self.post(gather.get("action"), {**form, "Digits": "1"}, timings)
            else:
                return


def run_level(host, port, token, public, numbers, concurrency: int, calls: int) -> tuple[dict, float]:
    timings: dict[str, list[float]] = defaultdict(list)
    lock, queue = threading.Lock(), list(numbers[:calls])

    def worker():
        if Caller.think:
            time.sleep(random.uniform(0, Caller.think))  # calls arrive spread out, not all at once
        caller, local = Caller(host, port, token, public), defaultdict(list)
        while True:
            with lock:
                if not queue:
                    break
                number = queue.pop()
            caller.call(number, local)
        with lock:
            for key, values in local.items():
                timings[key] += values

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return timings, time.perf_counter() - start


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=2000)
    parser.add_argument("--concurrency", default="50,200")
    parser.add_argument("--calls", type=int, default=400, help="calls per concurrency level")
    parser.add_argument("--think", type=float, default=0.0, help="seconds a caller listens between keys")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = build_school(Path(tmp), args.families, 5)
        db = database.connect(path)
        conf = config.load(db)
        Caller.think = args.think
        numbers = [r[0] for r in db.execute("SELECT phone FROM guardians WHERE phone_valid = 1 GROUP BY phone"
                                             " HAVING count(DISTINCT family_id) = 1")]
        db.close()
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
        server = subprocess.Popen([str(Path(sys.executable).parent / "paperbridge"), "--db", str(path), "serve",
                                   "--no-reminders", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            offset = 0
            for level in (int(c) for c in args.concurrency.split(",")):
                timings, seconds = run_level("127.0.0.1", port, conf.auth_token, conf.public_url,
                                             numbers[offset:], level, args.calls)
                offset += args.calls
                total = sum(len(v) for v in timings.values())
                print(f"concurrency {level}: {args.calls} calls, {total} requests in {seconds:.1f} s = "
                      f"{total / seconds:.0f} requests/s")
                for name, values in sorted(timings.items()):
                    print(f"  {name:<22} n={len(values):>5}  p50 {percentile(values, 50):6.1f} ms  "
                          f"p99 {percentile(values, 99):6.1f} ms")
                everything = [v for values in timings.values() for v in values]
                print(f"  {'all webhooks':<22} n={len(everything):>5}  p50 {percentile(everything, 50):6.1f} ms  "
                      f"p99 {percentile(everything, 99):6.1f} ms")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()

"""Load on the phone line over real HTTP, beside its floor: the same load on a bare Flask app
served by the same waitress settings, answering fixed TwiML.

Usage:
  .venv/bin/python -m bench.ivr_load                          # both modes, default sizes
  .venv/bin/python -m bench.ivr_load --mode closed --concurrency 50,200 --calls 400
  .venv/bin/python -m bench.ivr_load --mode open --rate 300,1000 --seconds 10

Builds a 2,000-family school (5 notices) and serves it with `paperbridge serve` (waitress, 8
threads) in a second process; the floor is `python -m bench.ivr_load --bare PORT` (Flask +
waitress, same threads, one fixed TwiML answer). The load comes from this process:

- closed: N callers at once, each pressing the next key the instant the answer arrives
  (throughput under stress);
- open: webhooks arrive at a fixed rate whatever the server does (a district-wide urgent
  notice: many callers at once). Calls are recorded once in-process (dial, 1 at every
  notice) and replayed with fresh CallSids, each step 1 s after the last; latency is timed
  from when a request was due, so queueing counts; a warm-up as long as one call comes first.

For each run: requests/s, p50/p99 latency, and the server process's CPU time per webhook
(from /proc), beside the same figures for the bare floor, and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from twilio.request_validator import RequestValidator

from bench.print_bench import build_school
from ivr import config
from ivr.simulator import Phone
from server import db as database

TICKS = os.sysconf("SC_CLK_TCK")
STEP_GAP = 1.0  # seconds between the webhooks of one call in the open-loop mode


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """user + system CPU of a process and its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Webhook:
    path: str  # path and query, as the server sees it
    body: bytes
    signature: str


class Server:
    """A server process on a free port: the app, or the bare floor."""

    def __init__(self, command):
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
        self.process = subprocess.Popen(command(self.port), env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def bare_app(port: int) -> None:
    """The floor: Flask + waitress answering every POST with one fixed TwiML document."""
    import waitress
    from flask import Flask, Response

    app = Flask("floor")
    answer = ('<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/ivr/voice/key?n=1" numDigits="1">'
              '<Say language="cmn-CN"><prosody rate="85%">秋季植物园研学。</prosody></Say></Gather></Response>')

    @app.post("/<path:anything>")
    def fixed(anything: str):
        return Response(answer, mimetype="text/xml")

    waitress.serve(app, host="127.0.0.1", port=port, threads=8, connection_limit=1000, _quiet=True)


# ---- closed loop -----------------------------------------------------------------------------

class Caller:
    def __init__(self, port: int, token: str, public: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.validator, self.public = RequestValidator(token), public.rstrip("/")

    def post(self, url: str, form: dict, timings: list[float]) -> ET.Element:
        full = url if url.startswith("http") else self.public + url
        parts = urlsplit(full)
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": self.validator.compute_signature(full, form)}
        start = time.perf_counter()
        self.conn.request("POST", parts.path + (f"?{parts.query}" if parts.query else ""), urlencode(form), headers)
        response = self.conn.getresponse()
        body = response.read()
        timings.append(time.perf_counter() - start)
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status}")
        return ET.fromstring(body)

    def call(self, number: str, timings: list[float]) -> None:
        form = {"CallSid": "CA" + uuid.uuid4().hex, "From": number, "To": "+10000000000"}
        root = self.post("/ivr/voice", form, timings)
        for _ in range(40):
            redirect, gather = root.find("Redirect"), root.find("Gather")
            if redirect is not None:
                root = self.post(redirect.text or "", form, timings)
            elif gather is not None and "/voice/key" in (gather.get("action") or ""):
                root = self.post(gather.get("action") or "", {**form, "Digits": "1"}, timings)
            else:
                return


def closed_level(port: int, token: str, public: str, numbers: list[str], concurrency: int, calls: int,
                 bare: bool) -> tuple[list[float], float]:
    timings: list[float] = []
    lock, queue = threading.Lock(), list(numbers[:calls])

    def worker():
        caller, local = Caller(port, token, public), []
        while True:
            with lock:
                if not queue:
                    break
                number = queue.pop()
            if bare:  # the floor has no flow to follow: the same number of webhooks a call makes
                for _ in range(7):
                    caller.post("/ivr/voice/next", {"CallSid": "CAx", "From": number}, local)
            else:
                caller.call(number, local)
        with lock:
            timings.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return timings, time.perf_counter() - start


# ---- open loop -------------------------------------------------------------------------------

def record_calls(path: Path, numbers: list[str]) -> list[list[tuple[str, dict]]]:
    """Each caller's webhooks as Twilio would send them (dial, 1 at every notice): full URL and
    form, recorded on a copy of the school so that the served one is untouched."""
    from server.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "copy.db"
        source = database.connect(path)
        source.execute(f"VACUUM INTO '{copy}'")
        source.close()
        app = create_app({"DATABASE": str(copy)})
        scripts = []
        for number in numbers:
            phone = Phone(app, number)
            turn = phone.dial()
            while turn.action and "/voice/key" in turn.action:
                turn = phone.press("1")
            scripts.append(phone.sent)
    return scripts


def schedule(scripts: list[list[tuple[str, dict]]], validator: RequestValidator, rate: float,
             seconds: float) -> tuple[list[tuple[float, Webhook]], float]:
    """(when, webhook) for ``rate`` webhooks a second, and the warm-up before the measured window:
    new calls start evenly, each with a fresh CallSid, its steps STEP_GAP apart. The first call's
    length is a warm-up (calls still ramping up); ``seconds`` of steady load follow it."""
    per_call = sum(len(s) for s in scripts) / len(scripts)
    warm = max(len(s) for s in scripts) * STEP_GAP
    call_rate = rate / per_call
    due, n = [], 0
    while n / call_rate < warm + seconds:
        start, sid = n / call_rate, f"CA{n:032x}"
        for step, (full, form) in enumerate(scripts[n % len(scripts)]):
            when = start + step * STEP_GAP
            if when < warm + seconds:
                form = {**form, "CallSid": sid}
                parts = urlsplit(full)
                due.append((when, Webhook(parts.path + (f"?{parts.query}" if parts.query else ""),
                                          urlencode(form).encode(), validator.compute_signature(full, form))))
        n += 1
    return sorted(due, key=lambda item: item[0]), warm


async def open_loop(port: int, due: list[tuple[float, Webhook]], window: tuple[float, float],
                    cpu) -> tuple[list[float], int, float]:
    """Send each webhook when due over a pool of keep-alive connections (more are opened when all are
    busy). Returns, for the webhooks due inside ``window``, latencies from the due time and errors;
    and the server's CPU seconds over the window (``cpu()`` read at its start and end)."""
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter() + 0.5
    marks: list[float] = []

    async def sample(at: float) -> None:
        await asyncio.sleep(max(0.0, start + at - time.perf_counter()))
        marks.append(cpu())

    async def send(when: float, hook: Webhook) -> None:
        nonlocal errors
        delay = start + when - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        counted = window[0] <= when < window[1]
        try:
            reader, writer = idle.pop() if idle else await asyncio.open_connection("127.0.0.1", port)
        except OSError:  # the server's listen queue is full: a caller Twilio could not put through
            errors += counted
            return
        try:
            writer.write(b"POST " + hook.path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: "
                         + hook.signature.encode() + b"\r\nContent-Length: " + str(len(hook.body)).encode()
                         + b"\r\n\r\n" + hook.body)
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            if counted:
                latencies.append(time.perf_counter() - (start + when))
                errors += b" 200 " not in status
            idle.append((reader, writer))
        except (OSError, asyncio.IncompleteReadError):
            errors += counted
            writer.close()

    await asyncio.gather(sample(window[0]), sample(window[1]), *(send(when, hook) for when, hook in due))
    for _reader, writer in idle:
        writer.close()
    return latencies, errors, marks[1] - marks[0]


# ---- report ----------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered else float("nan")


def line(label: str, timings: list[float], seconds: float, cpu: float, errors: int = 0) -> str:
    n = max(len(timings), 1)
    return (f"  {label:<6} {len(timings):>6} webhooks {len(timings) / seconds:7.0f}/s  p50 {percentile(timings, 50):7.1f} ms"
            f"  p99 {percentile(timings, 99):7.1f} ms  CPU {cpu / n * 1000:5.2f} ms/webhook"
            + (f"  errors {errors}" if errors else ""))


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--bare":
        bare_app(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=2000)
    parser.add_argument("--mode", choices=["closed", "open", "both"], default="both")
    parser.add_argument("--concurrency", default="50,200")
    parser.add_argument("--calls", type=int, default=300, help="calls per concurrency level (closed loop)")
    parser.add_argument("--rate", default="300,1000", help="webhooks per second (open loop)")
    parser.add_argument("--seconds", type=float, default=10, help="length of each open-loop run")
    parser.add_argument("--rounds", type=int, default=3, help="open loop: app and floor measured in turn this many "
                        "times (this machine's speed drifts between runs; the ratio of neighbours is steadier)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = build_school(Path(tmp), args.families, 5)
        db = database.connect(path)
        conf = config.load(db)
        numbers = [r[0] for r in db.execute("SELECT phone FROM guardians WHERE phone_valid = 1 GROUP BY phone"
                                             " HAVING count(DISTINCT family_id) = 1")]
        db.close()
        paperbridge = str(Path(sys.executable).parent / "paperbridge")
        servers = {"app": lambda port: [paperbridge, "--db", str(path), "serve", "--no-reminders", "--port", str(port)],
                   "floor": lambda port: [sys.executable, "-m", "bench.ivr_load", "--bare", str(port)]}
        # recorded first, on the untouched school (the closed loop confirms what its callers hear)
        scripts = record_calls(path, numbers[-300:]) if args.mode in ("open", "both") else []
        if args.mode in ("closed", "both"):
            print(f"closed loop: callers press keys the instant an answer arrives ({args.calls} calls per level)")
            offset = 0
            for level in (int(c) for c in args.concurrency.split(",")):
                cpu = {}
                for name, command in servers.items():
                    server = Server(command)
                    try:
                        before = server.cpu()
                        timings, seconds = closed_level(server.port, conf.auth_token, conf.public_url,
                                                        numbers[offset:], level, args.calls, name == "floor")
                        cpu[name] = (server.cpu() - before) / len(timings)
                        print(f" concurrency {level}" if name == "app" else "", end="\n" if name == "app" else "")
                        print(line(name, timings, seconds, cpu[name] * len(timings)))
                    finally:
                        server.stop()
                offset += args.calls
                print(f"  app / floor CPU per webhook: {cpu['app'] / cpu['floor']:.1f}x")
        if args.mode in ("open", "both"):
            steps = sum(len(s) for s in scripts) / len(scripts)
            print(f"open loop: webhooks arrive at a fixed rate for {args.seconds:.0f} s "
                  f"(calls of {steps:.1f} webhooks, {STEP_GAP:.0f} s apart)")
            for rate in (float(r) for r in args.rate.split(",")):
                due, warm = schedule(scripts, RequestValidator(conf.auth_token), rate, args.seconds)
                print(f" {rate:.0f} webhooks/s (after {warm:.0f} s of warm-up; app and floor in turn, "
                      f"{args.rounds} round{'s' if args.rounds > 1 else ''})")
                ratios = []
                for _round in range(args.rounds):
                    cpu = {}
                    for name, command in servers.items():
                        server = Server(command)
                        try:
                            latencies, errors, used = asyncio.run(open_loop(server.port, due, (warm, warm + args.seconds),
                                                                            server.cpu))
                            cpu[name] = used / max(len(latencies), 1)
                            print(line(name, latencies, args.seconds, used, errors))
                        finally:
                            server.stop()
                    ratios.append(cpu["app"] / cpu["floor"])
                    print(f"  app / floor CPU per webhook: {ratios[-1]:.1f}x")
                if len(ratios) > 1:
                    print(f"  median of {len(ratios)} rounds: {statistics.median(ratios):.1f}x "
                          f"(each round's app beside the floor measured right after it)")

if __name__ == "__main__":
    main()

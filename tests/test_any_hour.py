"""The suite passes at any hour of any day: the tests that depend on "now" (marked `clock`) run again
with the project's own clock seam (PAPERBRIDGE_NOW, server/clock.py) started at the instants that
broke it or could: the hours when UTC and the school (Asia/Shanghai) are in different ISO weeks, the
last day of a year, and 1 January of a year whose ISO week 53 it still belongs to.

The whole suite can be run the same way: `PAPERBRIDGE_NOW=2026-12-06T23:30:00Z ./run.sh test`.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server import clock

ROOT = Path(__file__).resolve().parent.parent
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
INSTANTS = {
    "sunday 23:30 UTC (Monday 07:30 at school)": dt.datetime(2026, 12, 6, 23, 30, tzinfo=dt.timezone.utc),
    "Monday 00:30 school time (still Sunday in UTC)": dt.datetime(2026, 12, 7, 0, 30, tzinfo=SHANGHAI),
    "31 December": dt.datetime(2026, 12, 31, 12, 0, tzinfo=SHANGHAI),
    "1 January 2027, a Friday in 2026-W53": dt.datetime(2027, 1, 1, 9, 0, tzinfo=SHANGHAI),
    "1 January 2026, a Thursday in 2026-W01": dt.datetime(2026, 1, 1, 0, 30, tzinfo=SHANGHAI),
    "4 January 2027 00:30 at school, 2027-W01 (UTC still in 2026-W53)": dt.datetime(2027, 1, 4, 0, 30, tzinfo=SHANGHAI),
}


def test_the_instants_are_the_awkward_ones():
    weeks = {name: (clock.iso_week(at, dt.timezone.utc), clock.iso_week(at, SHANGHAI)) for name, at in INSTANTS.items()}
    assert weeks["sunday 23:30 UTC (Monday 07:30 at school)"] == ("2026-W49", "2026-W50")
    assert weeks["Monday 00:30 school time (still Sunday in UTC)"] == ("2026-W49", "2026-W50")
    assert weeks["1 January 2027, a Friday in 2026-W53"][1] == "2026-W53"
    assert weeks["1 January 2026, a Thursday in 2026-W01"] == ("2026-W01", "2026-W01")
    assert weeks["4 January 2027 00:30 at school, 2027-W01 (UTC still in 2026-W53)"] == ("2026-W53", "2027-W01")


def test_the_clock_seam_starts_at_the_instant_and_runs_on():
    moment, before = INSTANTS["31 December"], clock.now()
    with clock.travelling(moment):
        first = clock.now()
        assert abs((first - moment).total_seconds()) < 5 and clock.now() >= first
    assert abs((clock.now() - before).total_seconds()) < 5


def _run_clock_tests(at: dt.datetime) -> subprocess.Popen:
    env = {**os.environ, clock.ENV_VAR: at.isoformat()}
    env.pop(clock.OFFSET_VAR, None)
    return subprocess.Popen([sys.executable, "-m", "pytest", "-m", "clock", "-q", "-x", "-p", "no:cacheprovider"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


@pytest.fixture(scope="module")
def runs():
    """Every instant's run, two at a time (the machine has two cores)."""
    results, names = {}, list(INSTANTS)
    for start in range(0, len(names), 2):
        started = {name: _run_clock_tests(INSTANTS[name]) for name in names[start:start + 2]}
        for name, process in started.items():
            output = process.communicate(timeout=900)[0]
            results[name] = (process.returncode, output)
    return results


@pytest.mark.parametrize("name", list(INSTANTS))
def test_date_dependent_tests_pass_at(runs, name):
    returncode, output = runs[name]
    assert returncode == 0, f"at {INSTANTS[name].isoformat()}:\n{output[-3000:]}"
    assert " passed" in output.splitlines()[-1]

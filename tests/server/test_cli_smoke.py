"""The installed `paperbridge` script in a real subprocess: a few smoke tests (the rest run in-process)."""

import json
import os
import shutil
import subprocess
import sys

PB = shutil.which("paperbridge") or os.path.join(os.path.dirname(sys.executable), "paperbridge")


def run(*args, env=None):
    return subprocess.run([PB, *map(str, args)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_help_and_version():
    assert "Example:" in run("--help").stdout
    assert run("--version").returncode == 0


def test_init_then_list_as_json_with_db_after_the_command(tmp_path):
    db = tmp_path / "school.db"
    assert run("init", "--school-id", "RSP", "--db", db).returncode == 0
    rows = json.loads(run("setting", "list", "--format", "json", "--db", db).stdout)
    assert {row["name"]: row["value"] for row in rows}["school_id"] == "RSP"


def test_not_initialised_is_one_sentence_and_exit_1(tmp_path):
    result = run("roster", "list", env={"PAPERBRIDGE_DB": str(tmp_path / "x.db")})
    assert result.returncode == 1 and "paperbridge init" in result.stderr and "Traceback" not in result.stderr

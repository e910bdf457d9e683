"""One convention for every command (server/cli/base.py): examples printed as written, help for every
option, --format on everything that lists or reports, --db before or after the command name."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from server.cli import cli

# Commands that list or report data: each takes --format table|csv|json.
DATA_COMMANDS = {"setting list", "roster import", "roster list", "notice add", "notice list", "status",
                 "receipts import", "scan", "retention", "followup run", "kiosk list", "secret list", "user list",
                 "integration list", "doctor", "concern list", "family export", "insight", "district schools",
                 "district notices", "district status", "district user list"}


def walk(group: click.Group, prefix: str = ""):
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}".strip()
        yield path, command
        if isinstance(command, click.Group):
            yield from walk(command, path)


COMMANDS = dict(walk(cli))


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_command_has_an_example_printed_as_written(path):
    help_text = CliRunner().invoke(cli, [*path.split(), "--help"], terminal_width=80).output
    assert "Example:\n    paperbridge " in help_text, f"`paperbridge {path} --help` shows no example"
    example = help_text.split("Example:\n", 1)[1].split("\n\n", 1)[0]
    assert all(line.startswith("    ") for line in example.splitlines()), "click re-wrapped the example: use \\b"


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_option_has_help(path):
    missing = [p.name for p in COMMANDS[path].params
               if isinstance(p, click.Option) and not p.help and p.name not in ("help", "version")]
    assert missing == []


@pytest.mark.parametrize("path", sorted(DATA_COMMANDS))
def test_data_commands_take_the_same_format_option(path):
    option = next(p for p in COMMANDS[path].params if p.name == "fmt")
    assert option.opts == ["--format"] and list(option.type.choices) == ["table", "csv", "json"]
    assert option.default == "table"


def test_commands_that_list_or_report_are_all_known():
    with_format = {path for path, command in COMMANDS.items() if any(p.name == "fmt" for p in command.params)}
    assert with_format == DATA_COMMANDS


def test_meta_test_catches_a_command_without_example_or_help():
    @click.command()
    @click.option("--colour")
    def bad(colour):
        """Does something."""
    probe = click.Group(commands={"bad": bad})
    assert "Example:" not in CliRunner().invoke(probe, ["bad", "--help"]).output
    assert [p.name for p in bad.params if isinstance(p, click.Option) and not p.help] == ["colour"]


def test_db_is_accepted_before_and_after_the_command(tmp_path):
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", str(first), "init", "--school-id", "AAA"]).exit_code == 0
    assert runner.invoke(cli, ["init", "--school-id", "BBB", "--db", str(second)]).exit_code == 0
    for path, school_id in ((first, "AAA"), (second, "BBB")):
        listed = runner.invoke(cli, ["setting", "list", "--format", "json", "--db", str(path)])
        values = {row["name"]: row["value"] for row in json.loads(listed.output)}
        assert values["school_id"] == school_id


def test_counts_use_plural_forms(tmp_path):
    runner = CliRunner()
    db = str(tmp_path / "s.db")
    runner.invoke(cli, ["init", "--db", db])
    roster = tmp_path / "one.csv"
    roster.write_text("student id,student name,class,guardian name,guardian phone\nS1,Li Ming,3A,Li Hua,13800138001\n",
                      encoding="utf-8")
    result = runner.invoke(cli, ["roster", "import", str(roster), "--db", db])
    assert "1 of 1 row imported; 1 new family, 1 new student" in result.output
    assert "1 rows" not in result.output and "1 families" not in result.output


@pytest.mark.parametrize("name, value, allowed", [
    ("default_language", "klingon", "zh-Hans, zh-Hant, yue-Hant, en"),
    ("default_region", "ZZ", "two-letter country code"),
    ("base_url", "not a url", "https://"),
    ("timezone", "Mars/Olympus", "Asia/Hong_Kong"),
    ("quiet_hours", "late", "08:00-17:00"),
])
def test_settings_the_school_cannot_use_are_refused(tmp_path, name, value, allowed):
    runner, db = CliRunner(), str(tmp_path / "s.db")
    runner.invoke(cli, ["init", "--db", db])
    before = json.loads(runner.invoke(cli, ["setting", "list", "--format", "json", "--db", db]).output)
    result = runner.invoke(cli, ["setting", "set", name, value, "--db", db])
    assert result.exit_code == 1 and allowed in result.stderr and "Traceback" not in result.output
    after = json.loads(runner.invoke(cli, ["setting", "list", "--format", "json", "--db", db]).output)
    assert after == before


def test_good_settings_are_cleaned(tmp_path):
    runner, db = CliRunner(), str(tmp_path / "s.db")
    runner.invoke(cli, ["init", "--db", db])
    assert runner.invoke(cli, ["setting", "set", "default_region", "hk", "--db", db]).output == "default_region = HK\n"
    assert runner.invoke(cli, ["setting", "set", "base_url", "https://school.example.org/", "--db", db]).output \
        == "base_url = https://school.example.org\n"

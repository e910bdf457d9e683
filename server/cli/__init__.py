"""The `paperbridge` command: one click group, kebab-case subcommands, wired from the modules beside it.

Every command finds the database from --db (before or after the command name),
$PAPERBRIDGE_DB, or the instance folder. Conventions: server/cli/base.py.
"""

from __future__ import annotations

import click

from server import db as database
from server import logs, private
from server.cli import (
    concerns,
    district,
    doctor,
    insight,
    kiosk,
    notices,
    operations,
    paper,
    people,
    phone,
    school,
    staff,
)
from server.cli.base import DB_HELP, Context, Group


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="paperbridge")
@click.option("--db", "db_path", envvar=database.ENV_VAR, type=click.Path(dir_okay=False), help=DB_HELP)
@click.pass_context
def cli(ctx: click.Context, db_path: str | None) -> None:
    """PaperBridge: paper, phone and help-desk channels for school notices, in one read ledger.

    \b
    Example:
      paperbridge init --school-name "Riverside Primary" --school-id RSP --region HK
      paperbridge roster import roster.csv
      paperbridge serve
    """
    logs.configure()
    private.owner_only()
    ctx.obj = Context(db_path)


COMMANDS = (
    school.init, school.setting_group, school.demo, school.serve,
    people.roster_group, people.family_group, staff.user_group, staff.integration_group,
    notices.notice_group, notices.status_cmd, notices.receipts_group, notices.void_cmd,
    operations.backup, operations.restore, operations.secret_group, doctor.doctor,
    paper.bulletin_group, paper.scan, paper.retention,
    phone.ivr_group, phone.followup_group,
    kiosk.kiosk_group, concerns.concern_group, insight.insight_cmd, district.district_group,
)
for command in COMMANDS:
    cli.add_command(command)


def main() -> None:
    cli(prog_name="paperbridge")

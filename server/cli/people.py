"""Families: roster import and list, family links and phone PINs."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from server import family_record, files, links, output, phones, pins, roster
from server.cli.base import Context, emit, fail, format_option, plural, with_db
from server.errors import PaperBridgeError


@click.group("roster")
def roster_group() -> None:
    """Import and list families, students and guardians.

    \b
    Example:
      paperbridge roster import 2026秋季名单.csv
    """


@roster_group.command("import")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--region", help="Phone region for numbers without a country code (default: the school setting).")
@click.option("--full", is_flag=True,
              help="The file is the whole school: students of any class missing from it are marked as left.")
@click.option("--dry-run", is_flag=True, help="Say what would change (new, updated, left) and write nothing.")
@click.option("--sheet", help="The worksheet of an .xlsx file (default: the first with a header row).")
@format_option
@with_db
def roster_import(ctx: Context, source: Path, region: str | None, full: bool, dry_run: bool, sheet: str | None,
                  fmt: str) -> None:
    """Import a roster: Excel (.xlsx), CSV or Excel's Unicode Text (UTF-8, UTF-16, GBK or Big5;
    commas, semicolons or tabs; Chinese or English headers), or a OneRoster 1.1 folder/zip.

    Students missing from the file are marked as left only in the classes the file lists;
    with --full, in every class. Exit status: 0 all rows imported, 1 some rows rejected,
    2 nothing imported. With --format csv or json the problems are printed for a spreadsheet.

    \b
    Example:
      paperbridge roster import 3A.csv --dry-run
      paperbridge roster import 2026秋季全校名单.csv --full
      paperbridge roster import 家长通讯录.xlsx --sheet 三年级
    """
    from print import text_runs  # start-up speed: the fonts load only for an import

    try:
        report = roster.import_roster(ctx.db(), source, region=region, full=full, dry_run=dry_run, sheet=sheet,
                                      unprintable=text_runs.name_check())
    except PaperBridgeError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    problems = [{"problem": kind, **dataclasses.asdict(p)}
                for kind, found in (("rejected", report.rejected), ("warning", report.warnings)) for p in found]
    if fmt == "json":
        summary = {k: v for k, v in dataclasses.asdict(report).items() if k not in ("rejected", "warnings")}
        click.echo(output.to_json({**summary, "problems": problems, "exit_code": report.exit_code}))
    elif fmt == "csv":
        emit(problems, ["problem", "file", "line", "reason"], "csv")
    else:
        _print_import(report)
    sys.exit(report.exit_code)


def _print_import(report: roster.ImportReport) -> None:
    if report.dry_run:
        click.echo("Dry run: nothing was written. This is what the import would do:")
    scope = "in any class (--full)" if report.full else "in the classes of this file"
    click.echo(f"{report.source} ({report.format}): {report.imported_rows} of "
               + plural("%(n)s row", "%(n)s rows", report.rows) + " imported; "
               + plural("%(n)s new family", "%(n)s new families", report.families_created) + ", "
               + plural("%(n)s new student", "%(n)s new students", report.students_added)
               + f", {report.students_updated} updated, {report.students_deactivated} marked as left {scope}.")
    for student in report.left[:50]:
        click.echo(f"  left: {student}")
    if len(report.left) > 50:
        click.echo(f"  ... and {len(report.left) - 50} more (--format json lists them all)")
    for problem in report.warnings:
        click.echo(f"  warning {problem}", err=True)
    for problem in report.rejected:
        click.echo(f"  rejected {problem}", err=True)
    if report.exit_code == 2:
        click.echo("Nothing was imported; the database is unchanged.", err=True)


@roster_group.command("list")
@format_option
@click.option("--show-phones", is_flag=True, help="Show full phone numbers (masked by default).")
@click.option("--class", "class_id", help="Only families with a student in this class.")
@with_db
def roster_list(ctx: Context, fmt: str, show_phones: bool, class_id: str | None) -> None:
    """Families with their students, guardians, language and family code.

    \b
    Example:
      paperbridge roster list --class 3A --format csv > 3A.csv
    """
    families = roster.list_families(ctx.db())
    if class_id:
        families = [f for f in families if any(s["class_id"] == class_id for s in f["students"])]
    rows = [{
        "code": f["code"], "family": f["display_name"], "language": f["language"],
        "channel": f["preferred_channel"],
        "students": [f"{s['name']} ({s['class_id']})" for s in f["students"]],
        "guardians": [f"{g['name']} {g['phone'] if show_phones else phones.mask(g['phone'])}".strip()
                      + ("" if g["phone_valid"] or not g["phone"] else " [invalid number]") for g in f["guardians"]],
    } for f in families]
    emit(rows, ["code", "family", "students", "guardians", "language", "channel"], fmt)


@click.group("family")
def family_group() -> None:
    """A family's personal link, phone PIN and own record.

    \b
    Example:
      paperbridge family link 100017
      paperbridge family export 100017
    """


@family_group.command("link")
@click.argument("code")
@click.option("--revoke", is_flag=True, help="Withdraw the current link and print a new one.")
@with_db
def family_link(ctx: Context, code: str, revoke: bool) -> None:
    """Print the family's personal link.

    \b
    Example:
      paperbridge family link 100017
      paperbridge family link 100017 --revoke
    """
    db = ctx.db()
    family = roster.family_by_code(db, code.strip())
    if family is None:
        raise click.ClickException(f"no family has the code {code}")
    if revoke:
        links.revoke(db, family["id"])
    click.echo(links.url(db, family["id"]))


@family_group.command("pin")
@click.argument("code")
@click.option("--new", "renew", is_flag=True, help="Make a new PIN (the old one stops working at once).")
@with_db
def family_pin(ctx: Context, code: str, renew: bool) -> None:
    """Print the family's secret phone PIN (asked for private messages and answers from unknown phones).

    It is printed inside the family's own bulletin and shown on its link; give a new one if it leaked.

    \b
    Example:
      paperbridge family pin 100017
      paperbridge family pin 100017 --new
    """
    db = ctx.db()
    family = roster.family_by_code(db, code.strip())
    if family is None:
        raise click.ClickException(f"no family has the code {code}")
    click.echo(pins.renew(db, family["id"]) if renew else pins.pin_for(db, family["id"]))


@family_group.command("export")
@click.argument("code")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder for <code>-record.pdf and <code>-record.json.")
@format_option
@with_db
def family_export(ctx: Context, code: str, out_dir: Path, fmt: str) -> None:
    """Everything the school holds on one family, for a parent who asks: a readable PDF and JSON.

    Roster data, guardians' phones with consent and opt-outs, every receipt with its evidence,
    questions and answers, reminders and calls. The phone PIN is not included (it is a password).

    \b
    Example:
      paperbridge family export 100017 --out ~/requests
    """
    from print.family_record import pdf_bytes  # start-up speed: ReportLab loads only for this command

    try:
        record = family_record.gather(ctx.db(), code)
    except PaperBridgeError as exc:
        raise fail(exc) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"pdf": out_dir / f"{record['family']['code']}-record.pdf",
               "json": out_dir / f"{record['family']['code']}-record.json"}
    files.write_whole(written["pdf"], pdf_bytes(record))
    files.write_whole(written["json"], output.to_json(record).encode())
    if fmt == "table":
        click.echo(f"Wrote {written['pdf']} and {written['json']}: {len(record['receipts'])} receipts, "
                   f"{len(record['concerns'])} concerns, {len(record['guardians'])} guardians.")
    else:
        emit([{"code": record["family"]["code"], "pdf": str(written["pdf"]), "json": str(written["json"]),
               "receipts": len(record["receipts"]), "concerns": len(record["concerns"])}],
             ["code", "pdf", "json", "receipts", "concerns"], fmt)

"""Reading-time insight from the command line: the same figures as the web page."""

from __future__ import annotations

from pathlib import Path

import click

from server import exports, files, insight, output, settings
from server.cli.base import Context, emit, format_option, with_db

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@click.command("insight")
@click.option("--grade", help="One grade (e.g. 3): its classes, one row each.")
@click.option("--class", "class_id", help="One class (e.g. 3A): its families, one row each.")
@click.option("--weeks", default=insight.WEEKS, show_default=True, type=click.IntRange(1, 52),
              help="The period: this many weeks up to now.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report to this .pdf or .xlsx file.")
@format_option
@with_db
def insight_cmd(ctx: Context, grade: str | None, class_id: str | None, weeks: int, out: Path | None,
                fmt: str) -> None:
    """When families read and confirm: the school (rows per grade), a grade (per class) or a class
    (per family), with the share confirmed within 24 and 72 hours, the median hours to confirm,
    and a suggested sending time.

    \b
    Example:
      paperbridge insight
      paperbridge insight --class 3A --weeks 4 --out 3A-reading.pdf
    """
    if grade and class_id:
        raise click.UsageError("give --grade or --class, not both")
    db = ctx.db()
    level, key = ("class", class_id) if class_id else ("grade", grade) if grade else ("school", "")
    classes = None if level == "school" else [key] if level == "class" else insight.grade_classes(db, key)
    if classes == [] or classes is not None and not set(classes) <= set(insight.all_classes(db)):
        raise click.ClickException(f"no {level} {key!r}; classes: {', '.join(insight.all_classes(db))}")
    name = {"school": "Whole school", "grade": f"Grade {key}", "class": f"Class {key}"}[level]
    report = insight.report(db, classes, weeks=weeks, name=name)
    rows = insight.rollup(db, level, key, weeks=weeks)
    if out is not None:
        _write(out, report, rows, db)
    if fmt == "json":
        click.echo(output.to_json({**report, "rows": rows}))
        return
    emit([{**report["total"], "name": name}] + rows, [k for k, _ in insight.COLUMNS], fmt)
    if fmt == "table":
        hour = report["suggested_hour"]
        click.echo(f"Suggested sending time: {hour:02d}:00" if hour is not None else "No reads yet in this period.")


def _write(out: Path, report: dict, rows: list[dict], db) -> None:
    from print.insight_pdf import pdf_bytes  # start-up speed: ReportLab loads only for a PDF


    if out.suffix.lower() == ".pdf":
        data = pdf_bytes(report, rows, settings.get(db, "school_name"), WEEKDAYS)
    elif out.suffix.lower() == ".xlsx":
        data = exports.xlsx_sheets(insight.sheets(report, rows, WEEKDAYS))
    else:
        raise click.BadParameter("write a .pdf or an .xlsx file", param_hint="--out")
    files.write_whole(out, data)
    click.echo(f"Wrote {out}", err=True)

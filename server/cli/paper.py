"""Paper: printing the week's bulletins, recording them as handed out, scanning the slips that come back."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlite_utils import Database

from server import clock, output, roster, settings
from server.cli.base import Context, emit, fail, format_option, plural, with_db
from server.errors import PaperBridgeError

PAGE_COLUMNS = ["file", "page", "outcome", "reason", "family_code", "slip_serial", "recorded", "duplicates"]


@click.group("bulletin")
def bulletin_group() -> None:
    """Weekly printed bulletins with return slips.

    \b
    Example:
      paperbridge bulletin print --week 2026-W48 --out w48.pdf
    """


@bulletin_group.command("print")
@click.option("--week", required=True, help="ISO week, e.g. 2026-W48 (this week: `date +%G-W%V`).")
@click.option("--class", "classes", multiple=True, help="Only these classes (repeat).")
@click.option("--family", "family_code", help="Reprint for one family (its family code).")
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True, help="Paper size.")
@click.option("--large-print", is_flag=True, help="Larger type (14 pt and up) for elderly readers.")
@click.option("--cutoff", help="Take notices published up to this time (YYYY-MM-DD HH:MM, school time). Default: now.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PDF file to write.")
@with_db
def bulletin_print(ctx: Context, week, classes, family_code, paper, large_print, cutoff, out) -> None:
    """Print the week's bulletins: class packs, one section per family, a signed slip at the bottom.

    \b
    Example:
      paperbridge bulletin print --week 2026-W48 --class 3A --out 3A-w48.pdf
    """
    from print.bulletin import print_bulletins  # start-up speed: ReportLab loads only when printing

    db = ctx.db()
    try:
        with click.progressbar(length=_count_families(db, classes, family_code), label="Laying out bulletins",
                               file=sys.stderr) as bar:
            summary = print_bulletins(db, week, out=out, classes=list(classes) or None, family_code=family_code,
                                      paper=paper, large_print=large_print, progress=lambda: bar.update(1),
                                      cutoff=clock.normalize(cutoff, settings.zone(db)) if cutoff else None)
    except (ValueError, PaperBridgeError) as exc:
        raise fail(exc) from None
    click.echo(f"{summary.out}: " + plural("%(n)s family", "%(n)s families", summary.families) + ", "
               + plural("%(n)s page", "%(n)s pages", summary.pages) + ", "
               + plural("%(n)s slip", "%(n)s slips", summary.slips) + f" for {summary.week}.")
    if summary.without_notices:
        click.echo(plural("%(n)s family has no notice this week and gets no bulletin.",
                          "%(n)s families have no notice this week and get no bulletin.", summary.without_notices))
    if summary.private_only:
        click.echo(plural("%(n)s family has only private notices: a page says how to hear them.",
                          "%(n)s families have only private notices: a page says how to hear them.",
                          summary.private_only))


def _count_families(db: Database, classes, family_code) -> int:
    if family_code:
        return 1
    return len(roster.families_in_classes(db, list(classes) if classes else None))


@bulletin_group.command("sent")
@click.option("--week", required=True, help="ISO week of the printed batch.")
@click.option("--class", "classes", multiple=True, help="Only these classes (repeat).")
@with_db
def bulletin_sent(ctx: Context, week, classes) -> None:
    """Record that the week's printed bulletins were handed out (paper `delivered`). Safe to repeat.

    \b
    Example:
      paperbridge bulletin sent --week 2026-W48 --class 3A
    """
    from print.bulletin import mark_sent  # start-up speed: ReportLab loads only when printing

    try:
        result = mark_sent(ctx.db(), week, list(classes) or None)
    except (ValueError, PaperBridgeError) as exc:
        raise fail(exc) from None
    click.echo(f"{result.recorded} family-notices recorded as delivered on paper ({result.duplicates} already were).")


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@format_option
@click.option("--json", "as_json", is_flag=True, help="The same as --format json: the summary and an entry per page.")
@click.option("--watch", "watch_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep scanning files that a network scanner drops into this folder.")
@click.option("--interval", default=3.0, show_default=True, help="Seconds between looks at the --watch folder.")
@with_db
def scan(ctx: Context, paths, fmt: str, as_json: bool, watch_dir: Path | None, interval: float) -> None:
    """Scan returned slips (PDF, TIFF, PNG, JPEG files or folders) into the ledger.

    Clear slips are recorded; anything uncertain goes to the review queue in the web UI.
    Rescanning records nothing twice. --format csv prints one line per page.

    \b
    Example:
      paperbridge scan ~/Scans/2026-11-24.pdf
      paperbridge scan --watch /srv/scanner-inbox
    """
    from print import scan as scanning  # start-up speed: OpenCV loads only when scanning
    from print import watch  # start-up speed: OpenCV loads only when scanning
    from print.scan_input import count_pages, expand  # start-up speed: OpenCV loads only when scanning

    if bool(paths) == bool(watch_dir):
        raise click.UsageError("give files or folders to scan, or --watch FOLDER (not both)")
    db = ctx.db()
    if watch_dir:
        watch.run(db, watch_dir, interval=interval, echo=click.echo, stop=watch.stop_on_signals())
        return
    files = expand(list(paths))
    with click.progressbar(length=sum(count_pages(f) for f in files), label="Scanning pages", file=sys.stderr,
                           show_pos=True) as bar:
        report = scanning.scan_paths(db, files, progress=lambda: bar.update(1))
    summary = report.summary()
    pages = [o.as_dict() for o in report.outcomes]
    fmt = "json" if as_json else fmt
    if fmt == "json":
        click.echo(output.to_json({**summary, "pages_detail": pages}))
    elif fmt == "csv":
        emit(pages, PAGE_COLUMNS, "csv")
    else:
        for outcome in report.outcomes:
            if outcome.outcome in ("review", "error"):
                click.echo(f"  {outcome.outcome:<6} {Path(outcome.file).name} page {outcome.page}: {outcome.reason}")
        click.echo(_scan_summary(summary))
    if summary["errors"] and summary["slips"] == 0:
        sys.exit(1)


def _scan_summary(summary: dict) -> str:
    return (plural("%(n)s page", "%(n)s pages", summary["pages"]) + ", "
            + plural("%(n)s slip", "%(n)s slips", summary["slips"]) + ": "
            + plural("%(n)s receipt recorded", "%(n)s receipts recorded", summary["recorded"])
            + f", {summary['duplicates']} already known, {summary['review']} sent to review, "
            + plural("%(n)s error", "%(n)s errors", summary["errors"]) + ".")


@click.command()
@click.option("--slip-images-older-than", "age", metavar="AGE",
              help="Delete scanned slip and page images older than this (180d, 26w); default: the school's "
                   "keep_slip_images_days.")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@format_option
@with_db
def retention(ctx: Context, age: str | None, dry_run: bool, fmt: str) -> None:
    """Apply the school's retention rules now (the server also applies them on its own).

    Slip images after keep_slip_images_days (images an open review item needs are kept), voice
    messages after keep_recordings_days, and families that left more than keep_ledger_years
    school years ago anonymised (names, phones, PIN and links removed; receipts and counts kept).
    Change the rules with `paperbridge setting set keep_recordings_days 30`.
    --format csv lists the image files deleted (or that would be).

    \b
    Example:
      paperbridge retention --dry-run
      paperbridge retention --slip-images-older-than 180d
    """
    from print.retention import apply_rules, parse_age  # start-up speed: OpenCV loads only for images


    try:
        older_than = parse_age(age) if age is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--slip-images-older-than") from None
    result = apply_rules(ctx.db(), dry_run=dry_run, slip_age=older_than)
    if fmt == "json":
        click.echo(output.to_json(result))
    elif fmt == "csv":
        emit([{"image": name, "dry_run": dry_run} for name in result["slip_image_files"]], ["image", "dry_run"], "csv")
    else:
        slips, voice, families = result["slip_images"], result["voice_messages"], result["families_anonymised"]
        verb = "Would delete" if dry_run else "Deleted"
        click.echo(f"{verb} " + plural("%(n)s slip image", "%(n)s slip images", slips["deleted"])
                   + f" ({slips['bytes_freed'] / 1e6:.1f} MB) from before {slips['cutoff'][:10]}; kept "
                   f"{slips['kept_recent']} newer and {slips['kept_open_review']} still in the review queue.")
        click.echo(f"{verb} " + plural("%(n)s voice message", "%(n)s voice messages", voice["files"])
                   + f" from before {voice['cutoff'][:10]}.")
        click.echo(("Would anonymise " if dry_run else "Anonymised ")
                   + plural("%(n)s family", "%(n)s families", families["families"])
                   + f" that left before {families['cutoff'][:10]}. Ledger events are kept.")

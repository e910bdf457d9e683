"""The `paperbridge` command: one click group, kebab-case subcommands.

Every command finds the database from --db, $PAPERBRIDGE_DB, or the instance folder.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import click
from sqlite_utils import Database

from server import clock, ledger, links, logs, notices, output, phones, receipts, roster, settings, status, users
from server import db as database
from server import demo as demo_school
from server.errors import PaperBridgeError


class Context:
    def __init__(self, path: str | None):
        self.explicit = bool(path)
        self.path = database.resolve_path(path)
        self._db: Database | None = None

    def db(self, *, require_init: bool = True) -> Database:
        if self._db is None:
            self._db = database.connect(self.path)
        if require_init and not settings.is_initialized(self._db):
            raise click.ClickException(f"{self.path} has no school yet. Run `paperbridge init` first "
                                       "(or `paperbridge demo` for the demo school).")
        return self._db


pass_ctx = click.make_pass_decorator(Context)


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


class _Group(click.Group):
    """Turns a locked database or a full disk into one plain sentence and exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (sqlite3.OperationalError, OSError) as exc:
            message = database.explain(exc, getattr(ctx.obj, "path", None))
            if message is None:
                raise
            raise click.ClickException(message) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="paperbridge")
@click.option("--db", "db_path", envvar=database.ENV_VAR, type=click.Path(dir_okay=False),
              help="Database file (default: $PAPERBRIDGE_DB, else instance/paperbridge.db).")
@click.pass_context
def cli(ctx: click.Context, db_path: str | None) -> None:
    """PaperBridge: paper, phone and help-desk channels for school notices, in one read ledger."""
    logs.configure()
    ctx.obj = Context(db_path)


@cli.command()
@click.option("--school-name", help="The school's name.")
@click.option("--school-id", help="Short code (letters/digits, up to 8) used in QR codes.")
@click.option("--region", help="Default phone region, e.g. CN, HK, US.")
@click.option("--timezone", help="Time zone, e.g. Asia/Hong_Kong.")
@pass_ctx
def init(ctx: Context, school_name, school_id, region, timezone) -> None:
    """Create the database and the school secret.

    Example: paperbridge init --school-name "Riverside Primary" --school-id RSP --region HK
    """
    overrides = {k: v for k, v in {"school_name": school_name, "school_id": school_id,
                                   "default_region": region, "timezone": timezone}.items() if v}
    try:
        created = settings.initialize(ctx.db(require_init=False), **overrides)
    except ValueError as exc:
        raise _fail(exc)
    click.echo(f"{'Created' if created else 'Already set up'}: {ctx.path}")


@cli.group()
def setting() -> None:
    """Show or change school settings."""


@setting.command("list")
@pass_ctx
def setting_list(ctx: Context) -> None:
    """Show every setting with its value and meaning."""
    db = ctx.db()
    rows = [{"name": s.name, "value": settings.get(db, s.name), "help": s.help} for s in settings.SETTINGS]
    click.echo(output.table(rows, ["name", "value", "help"]))


@setting.command("set")
@click.argument("name")
@click.argument("value")
@pass_ctx
def setting_set(ctx: Context, name: str, value: str) -> None:
    """Change a setting. Example: paperbridge setting set default_region HK"""
    try:
        settings.put(ctx.db(), name, value)
    except ValueError as exc:
        raise _fail(exc)
    click.echo(f"{name} = {settings.get(ctx.db(), name)}")


@cli.command()
@click.option("--build-only", is_flag=True, help="Build the demo database and exit without serving.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@pass_ctx
def demo(ctx: Context, build_only: bool, host: str, port: int) -> None:
    """Build the demo school in a fresh database and serve it.

    Example: paperbridge demo        (then open http://127.0.0.1:5000)
    """
    if not ctx.explicit:
        ctx.path = database.instance_dir() / "demo.db"  # never mixed with the school's own data
    click.echo(f"Building the demo school in {ctx.path} ...")
    try:
        summary = demo_school.build(ctx.path, base_url=f"http://{host}:{port}")
    except ValueError as exc:
        raise _fail(exc)
    click.echo(f"  {summary['families']} families, {summary['students']} students, "
               f"{summary['notices']} notices, {summary['events']} receipts so far")
    click.echo("  Staff sign-ins (user / password / role):")
    for username, password, role in summary["staff"]:
        click.echo(f"    {username:<10} {password:<13} {role}")
    click.echo(f"  A family's personal page: {summary['sample_link']}")
    if not build_only:
        _serve(ctx, host, port)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for the office network).")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--reminders/--no-reminders", default=True, show_default=True,
              help="Run reminder rounds (`followup run`) every 15 minutes while serving.")
@pass_ctx
def serve(ctx: Context, host: str, port: int, reminders: bool) -> None:
    """Serve the staff web, family pages, phone webhooks and API with waitress."""
    ctx.db()
    _serve(ctx, host, port, reminders)


def _serve(ctx: Context, host: str, port: int, reminders: bool = False) -> None:
    import threading

    import waitress

    from server.app import create_app

    app = create_app({"DATABASE": str(ctx.path)})
    if reminders:
        threading.Thread(target=_reminder_loop, args=(ctx.path,), daemon=True).start()
    click.echo(f"PaperBridge is running at http://{host}:{port}/  (Ctrl+C to stop)")
    waitress.serve(app, host=host, port=port, threads=8, connection_limit=1000, ident="PaperBridge")


def _reminder_loop(path: Path, every: float = 900) -> None:
    import logging
    import time

    from ivr import followup

    log = logging.getLogger("paperbridge.reminders")
    while True:
        try:
            db = database.connect(path)
            try:
                sent = followup.run(db)
            finally:
                db.close()
            if sent:
                log.info("reminder round: %s calls or texts", len(sent))
        except Exception:  # noqa: BLE001 - a failed round is retried at the next one
            log.exception("reminder round failed")
        time.sleep(every)


# ---- roster ----------------------------------------------------------------------------------

@cli.group("roster")
def roster_group() -> None:
    """Import and list families, students and guardians."""


@roster_group.command("import")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--region", help="Phone region for numbers without a country code (default: the school setting).")
@pass_ctx
def roster_import(ctx: Context, source: Path, region: str | None) -> None:
    """Import a roster CSV (UTF-8, GBK or Big5; Chinese or English headers) or a OneRoster 1.1 folder/zip.

    Exit status: 0 all rows imported, 1 some rows rejected, 2 nothing imported.

    Example: paperbridge roster import 2026秋季名单.csv
    """
    try:
        report = roster.import_roster(ctx.db(), source, region=region)
    except PaperBridgeError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"{report.source} ({report.format}): {report.imported_rows} of {report.rows} rows imported; "
               f"{report.families_created} new families, {report.students_added} new students, "
               f"{report.students_updated} updated, {report.students_deactivated} marked as left.")
    for problem in report.warnings:
        click.echo(f"  warning {problem}", err=True)
    for problem in report.rejected:
        click.echo(f"  rejected {problem}", err=True)
    if report.exit_code == 2:
        click.echo("Nothing was imported; the database is unchanged.", err=True)
    sys.exit(report.exit_code)


@roster_group.command("list")
@click.option("--format", "fmt", type=click.Choice(output.FORMATS), default="table", show_default=True)
@click.option("--show-phones", is_flag=True, help="Show full phone numbers (masked by default).")
@click.option("--class", "class_id", help="Only families with a student in this class.")
@pass_ctx
def roster_list(ctx: Context, fmt: str, show_phones: bool, class_id: str | None) -> None:
    """Families with their students, guardians, language and family code."""
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
    columns = ["code", "family", "students", "guardians", "language", "channel"]
    _print(rows, columns, fmt)


def _print(rows: list[dict], columns: list[str], fmt: str) -> None:
    if fmt == "json":
        click.echo(output.to_json(rows))
    elif fmt == "csv":
        click.echo(output.to_csv(rows, columns), nl=False)
    else:
        flat = [{k: ", ".join(v) if isinstance(v, list) else v for k, v in r.items()} for r in rows]
        click.echo(output.table(flat, columns))


# ---- notices ---------------------------------------------------------------------------------

@cli.group("notice")
def notice_group() -> None:
    """Write and list notices."""


@notice_group.command("add")
@click.option("--title", required=True, help="Title in the main language.")
@click.option("--body", required=True, help="Text in the main language.")
@click.option("--lang", default="zh-Hans", show_default=True, type=click.Choice(["zh-Hans", "zh-Hant", "en"]))
@click.option("--translation", nargs=3, multiple=True, metavar="LANG TITLE BODY", help="Another language version.")
@click.option("--class", "classes", multiple=True, help="Audience class (repeat); none means the whole school.")
@click.option("--reply", multiple=True, help="Reply option: yes, no, attend, absent, agree, disagree, or key:label.")
@click.option("--no-confirm", is_flag=True, help="Reading is enough; no confirmation asked.")
@click.option("--due", help="Answer-by date, YYYY-MM-DD.")
@click.option("--private", is_flag=True, help="Sensitive: never printed; read on the phone only after the family code.")
@click.option("--publish-at", help="Publish later (YYYY-MM-DD HH:MM, school time). Default: now.")
@click.option("--urgent", is_flag=True, help="Remind unconfirmed families sooner (setting urgent_delay_hours).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@pass_ctx
def notice_add(ctx: Context, title, body, lang, translation, classes, reply, no_confirm, due, private, publish_at,
               urgent, fmt):
    """Add a notice and print its id.

    Example: paperbridge notice add --title 秋游 --body 周五去植物园 --class 3A --reply attend --reply absent
             --translation en "Autumn trip" "Friday, botanical garden"
    """
    texts = {lang: (title, body)}
    for other, t, b in translation:
        texts[other] = (t, b)
    try:
        notice_id = notices.add_notice(ctx.db(), texts=texts, classes=list(classes) or None,
                                       requires_confirmation=not no_confirm, reply_options=list(reply),
                                       due_date=due, private=private, publish_at=publish_at, created_by="cli",
                                       urgent=urgent)
    except ValueError as exc:
        raise _fail(exc)
    click.echo(output.to_json({"id": notice_id}) if fmt == "json" else str(notice_id))


@notice_group.command("list")
@click.option("--week", help="Only this ISO week, e.g. 2026-W48.")
@click.option("--format", "fmt", type=click.Choice(output.FORMATS), default="table", show_default=True)
@pass_ctx
def notice_list(ctx: Context, week: str | None, fmt: str) -> None:
    """List notices, newest first."""
    rows = [{"id": n["id"], "week": n["week"], "title": notices.title_for(n, n["primary_language"]),
             "audience": "school" if n["whole_school"] else n["classes"],
             "languages": sorted(n["texts"]), "replies": [o["key"] for o in n["reply_options"]],
             "due": n["due_date"], "private": bool(n["private"]), "publish_at": n["publish_at"]}
            for n in notices.list_notices(ctx.db(), week=week)]
    _print(rows, ["id", "week", "title", "audience", "languages", "replies", "due", "private", "publish_at"], fmt)


@cli.command("status")
@click.option("--notice", "notice_id", required=True, type=int, help="Notice id (see `notice list`).")
@click.option("--class", "class_id", help="Only this class.")
@click.option("--format", "fmt", type=click.Choice(output.FORMATS), default="table", show_default=True)
@pass_ctx
def status_cmd(ctx: Context, notice_id: int, class_id: str | None, fmt: str) -> None:
    """Combined receipt status of a notice: per family, plus totals by channel."""
    try:
        report = status.notice_report(ctx.db(), notice_id, [class_id] if class_id else None)
    except PaperBridgeError as exc:
        raise _fail(exc)
    if fmt == "json":
        click.echo(output.to_json(report))
        return
    columns = ["code", "classes", "students", "state", "first_at", "channels", "reply"]
    if fmt == "csv":
        click.echo(output.to_csv(report["families"], columns), nl=False)
        return
    _print(report["families"], columns, "table")
    t = report["totals"]
    click.echo(f"\n{report['notice']['title']}: {t['confirmed']} confirmed, {t['read']} read, {t['unread']} unread "
               f"of {t['families']} families.")
    click.echo("By channel: " + (", ".join(f"{k} {v}" for k, v in report["by_channel"].items()) or "none yet"))


@cli.group("receipts")
def receipts_group() -> None:
    """Read receipts from other platforms."""


@receipts_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def receipts_import(ctx: Context, file: Path) -> None:
    """Import a read list (CSV: student id, family code or phone; notice id or title; read time).

    Re-importing the same file records nothing new. Exit status: 0 all matched, 1 some unmatched, 2 none matched.
    """
    try:
        report = receipts.import_file(ctx.db(), file)
    except (ValueError, PaperBridgeError) as exc:
        raise _fail(exc)
    click.echo(f"{report.recorded} receipts recorded, {report.duplicates} already known, {len(report.unmatched)} unmatched.")
    for line in report.unmatched:
        click.echo(f"  unmatched {line}", err=True)
    sys.exit(report.exit_code)


# ---- people and operations ---------------------------------------------------------------------

@cli.group("user")
def user_group() -> None:
    """Staff accounts."""


@user_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(users.ROLES), required=True)
@click.option("--name", "display_name", default="", help="Name shown in the interface.")
@click.option("--class", "classes", multiple=True, help="A teacher's class (repeat).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Password (volunteers: a PIN of 4+ digits). Asked for when not given.")
@pass_ctx
def user_add(ctx: Context, username, role, display_name, classes, password) -> None:
    """Create a staff account. Example: paperbridge user add chen --role teacher --class 3A"""
    try:
        users.add_user(ctx.db(), username, password, role, display_name=display_name, classes=list(classes))
    except ValueError as exc:
        raise _fail(exc)
    click.echo(f"Created {role} {username}.")


@cli.group("integration")
def integration_group() -> None:
    """Tokens for platforms that POST receipts to /api/receipts."""


@integration_group.command("add")
@click.argument("name")
@pass_ctx
def integration_add(ctx: Context, name: str) -> None:
    """Create a token (shown once). Example: paperbridge integration add wechat"""
    try:
        token = users.add_integration(ctx.db(), name)
    except (ValueError, sqlite3.IntegrityError) as exc:
        raise _fail(exc if isinstance(exc, ValueError) else ValueError(f"integration {name!r} already exists"))
    click.echo(token)


@cli.group("family")
def family_group() -> None:
    """A family's personal link."""


@family_group.command("link")
@click.argument("code")
@click.option("--revoke", is_flag=True, help="Withdraw the current link and print a new one.")
@pass_ctx
def family_link(ctx: Context, code: str, revoke: bool) -> None:
    """Print the family's personal link. Example: paperbridge family link 100017"""
    db = ctx.db()
    family = roster.family_by_code(db, code.strip())
    if family is None:
        raise click.ClickException(f"no family has the code {code}")
    if revoke:
        links.revoke(db, family["id"])
    click.echo(links.url(db, family["id"]))


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def backup(ctx: Context, file: Path) -> None:
    """Copy the database with SQLite's online backup (safe while the server runs).

    Copy the evidence folder beside the database as well if you keep slip images.
    Example: paperbridge backup /mnt/usb/paperbridge-2026-11-23.db
    """
    from server import backup as backups

    db = ctx.db()
    with click.progressbar(length=1, label="Backing up", file=sys.stderr) as bar:
        def step(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        try:
            backups.backup(db, file, progress=step)
        except PaperBridgeError as exc:
            raise _fail(exc) from None
    events = db.execute("SELECT count(*) FROM events").fetchone()[0]
    click.echo(f"Backed up {ctx.path} to {file} ({file.stat().st_size // 1024} KiB, {events} ledger events).")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace an existing database without asking.")
@pass_ctx
def restore(ctx: Context, file: Path, yes: bool) -> None:
    """Put a backup back in place (stop the server first).

    The backup is checked before anything changes; the database it replaces is kept
    beside it as NAME.before-restore-TIME.
    Example: paperbridge --db /var/lib/paperbridge/school.db restore /mnt/usb/paperbridge-2026-11-23.db
    """
    from server import backup as backups

    if ctx.path.exists() and not yes:
        click.confirm(f"Replace {ctx.path} with {file}? (the current one is kept beside it)", abort=True)
    try:
        kept = backups.restore(file, ctx.path)
    except PaperBridgeError as exc:
        raise _fail(exc) from None
    db = database.connect(ctx.path)
    events = db.execute("SELECT count(*) FROM events").fetchone()[0]
    click.echo(f"Restored {file} to {ctx.path} ({events} ledger events)."
               + (f" The previous database is kept as {kept}." if kept else ""))


@cli.group("secret")
def secret_group() -> None:
    """The school secret that signs slip QR codes and family links."""


@secret_group.command("list")
@pass_ctx
def secret_list(ctx: Context) -> None:
    """Show the key ids: the one signing now, the older ones still trusted, the retired ones."""
    db = ctx.db()
    current, trusted = settings.current_key_id(db), settings.slip_keys(db)
    retired = db.execute("SELECT substr(key, length(?) + 2), value FROM settings WHERE key LIKE ? ORDER BY key",
                         [settings.RETIRED_KEY, settings.RETIRED_KEY + ":%"]).fetchall()
    rows = [{"key": k, "state": "signing" if k == current else "trusted (old slips and links)"} for k in trusted]
    rows += [{"key": k, "state": f"retired {when}"} for k, when in retired]
    click.echo(output.table(sorted(rows, key=lambda r: r["key"]), ["key", "state"]))


@secret_group.command("rotate")
@pass_ctx
def secret_rotate(ctx: Context) -> None:
    """Sign new slips and links with a fresh secret; old ones keep verifying.

    Staff are signed out of the web pages once (their sessions were signed with the old key).
    """
    try:
        key_id = settings.rotate_secret(ctx.db())
    except ValueError as exc:
        raise _fail(exc) from None
    click.echo(f"New school secret {key_id} signs from now on. Slips and family links made under older keys "
               "still verify; retire a key with `paperbridge secret retire KEY` if it leaked.")


@secret_group.command("retire")
@click.argument("key_id")
@pass_ctx
def secret_retire(ctx: Context, key_id: str) -> None:
    """Stop trusting an old key: its slips go to the review queue and its family links stop working."""
    try:
        settings.retire_key(ctx.db(), key_id)
    except ValueError as exc:
        raise _fail(exc) from None
    click.echo(f"Key {key_id.upper()} retired. Slips signed with it now go to the review queue; "
               "send those families new links.")


@cli.command()
@click.option("--slip-images-older-than", "age", required=True, metavar="AGE",
              help="Delete scanned slip and page images older than this (180d, 26w).")
@click.option("--dry-run", is_flag=True, help="Only say what would be deleted.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_ctx
def retention(ctx: Context, age: str, dry_run: bool, fmt: str) -> None:
    """Delete old slip images; ledger events (the proof) are always kept.

    Images an open review item still needs are kept whatever their age.
    Example: paperbridge retention --slip-images-older-than 180d
    """
    from print.retention import delete_slip_images, parse_age

    try:
        older_than = parse_age(age)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--slip-images-older-than") from None
    result = delete_slip_images(ctx.db(), older_than, dry_run=dry_run)
    if fmt == "json":
        click.echo(output.to_json({**result.as_dict(), "dry_run": dry_run}))
        return
    verb = "Would delete" if dry_run else "Deleted"
    click.echo(f"{verb} {len(result.deleted)} slip images ({result.bytes_freed / 1e6:.1f} MB) from before "
               f"{result.cutoff}; kept {result.kept_recent} newer and {result.kept_open_review} still in the "
               "review queue. Ledger events are untouched.")


@cli.command("void")
@click.argument("event_id")
@click.option("--reason", required=True, help="Why this receipt is wrong.")
@click.option("--by", "actor", required=True, help="Who is correcting it.")
@pass_ctx
def void_cmd(ctx: Context, event_id: str, reason: str, actor: str) -> None:
    """Cancel a mistaken receipt (the ledger keeps both, marked)."""
    try:
        result = ledger.void(ctx.db(), event_id, actor=actor, reason=reason)
    except (ValueError, PaperBridgeError) as exc:
        raise _fail(exc)
    click.echo("Voided." if result.recorded else "Already voided.")


# ---- paper ---------------------------------------------------------------------------------------

@cli.group("bulletin")
def bulletin_group() -> None:
    """Weekly printed bulletins with return slips."""


@bulletin_group.command("print")
@click.option("--week", required=True, help="ISO week, e.g. 2026-W48 (this week: `date +%G-W%V`).")
@click.option("--class", "classes", multiple=True, help="Only these classes (repeat).")
@click.option("--family", "family_code", help="Reprint for one family (its family code).")
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True)
@click.option("--large-print", is_flag=True, help="Larger type (14 pt and up) for elderly readers.")
@click.option("--cutoff", help="Take notices published up to this time (YYYY-MM-DD HH:MM, school time). Default: now.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PDF file to write.")
@pass_ctx
def bulletin_print(ctx: Context, week, classes, family_code, paper, large_print, cutoff, out) -> None:
    """Print the week's bulletins: class packs, one section per family, a signed slip at the bottom.

    Example: paperbridge bulletin print --week 2026-W48 --class 3A --out 3A-w48.pdf
    """
    from print.bulletin import print_bulletins

    db = ctx.db()
    try:
        with click.progressbar(length=_count_families(db, classes, family_code), label="Laying out bulletins",
                               file=sys.stderr) as bar:
            summary = print_bulletins(db, week, out=out, classes=list(classes) or None, family_code=family_code,
                                      paper=paper, large_print=large_print, progress=lambda: bar.update(1),
                                      cutoff=clock.normalize(cutoff, settings.zone(db)) if cutoff else None)
    except (ValueError, PaperBridgeError) as exc:
        raise _fail(exc)
    click.echo(f"{summary.out}: {summary.families} families, {summary.pages} pages, {summary.slips} slips "
               f"for {summary.week}.")
    if summary.without_notices:
        click.echo(f"{summary.without_notices} families have no notice this week and get no bulletin.")
    if summary.private_only:
        click.echo(f"{summary.private_only} families have only private notices: a page says how to hear them.")


def _count_families(db: Database, classes, family_code) -> int:
    if family_code:
        return 1
    return len(roster.families_in_classes(db, list(classes) if classes else None))


@bulletin_group.command("sent")
@click.option("--week", required=True, help="ISO week of the printed batch.")
@click.option("--class", "classes", multiple=True, help="Only these classes (repeat).")
@pass_ctx
def bulletin_sent(ctx: Context, week, classes) -> None:
    """Record that the week's printed bulletins were handed out (paper `delivered`). Safe to repeat."""
    from print.bulletin import mark_sent

    try:
        result = mark_sent(ctx.db(), week, list(classes) or None)
    except (ValueError, PaperBridgeError) as exc:
        raise _fail(exc)
    click.echo(f"{result.recorded} family-notices recorded as delivered on paper ({result.duplicates} already were).")


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: the summary and an entry per page.")
@click.option("--watch", "watch_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep scanning files that a network scanner drops into this folder.")
@click.option("--interval", default=3.0, show_default=True, help="Seconds between looks at the --watch folder.")
@pass_ctx
def scan(ctx: Context, paths, as_json: bool, watch_dir: Path | None, interval: float) -> None:
    """Scan returned slips (PDF, TIFF, PNG, JPEG files or folders) into the ledger.

    Clear slips are recorded; anything uncertain goes to the review queue in the web UI.
    Rescanning records nothing twice.

    Example: paperbridge scan ~/Scans/2026-11-24.pdf
    """
    from print import scan as scanning
    from print import watch

    if bool(paths) == bool(watch_dir):
        raise click.UsageError("give files or folders to scan, or --watch FOLDER (not both)")
    db = ctx.db()
    if watch_dir:
        watch.run(db, watch_dir, interval=interval, echo=click.echo, stop=watch.stop_on_signals())
        return
    from print.scan_input import count_pages, expand

    files = expand(list(paths))
    with click.progressbar(length=sum(count_pages(f) for f in files), label="Scanning pages", file=sys.stderr,
                           show_pos=True) as bar:
        report = scanning.scan_paths(db, files, progress=lambda: bar.update(1))
    summary = report.summary()
    if as_json:
        click.echo(output.to_json({**summary, "pages_detail": [o.as_dict() for o in report.outcomes]}))
    else:
        for outcome in report.outcomes:
            if outcome.outcome in ("review", "error"):
                click.echo(f"  {outcome.outcome:<6} {Path(outcome.file).name} page {outcome.page}: {outcome.reason}")
        click.echo(_scan_summary(summary))
    if summary["errors"] and summary["slips"] == 0:
        sys.exit(1)


def _scan_summary(summary: dict) -> str:
    return (f"{summary['pages']} pages, {summary['slips']} slips: {summary['recorded']} receipts recorded, "
            f"{summary['duplicates']} already known, {summary['review']} sent to review, {summary['errors']} errors.")


# ---- phone -------------------------------------------------------------------------------------------

@cli.group("ivr")
def ivr_group() -> None:
    """The phone line: simulator and consent to calls."""


@ivr_group.command("simulate")
@click.option("--from", "from_number", default="+8613800000000", show_default=True,
              help="The caller's number (a guardian's number is recognised).")
@click.option("--speak/--no-speak", default=True, help="Speak prompts with espeak-ng when it is installed.")
@pass_ctx
def ivr_simulate(ctx: Context, from_number: str, speak: bool) -> None:
    """Call the phone line from the terminal: hear the prompts, type keys. No Twilio account needed.

    Example: paperbridge ivr simulate --from +8613812345678
    """
    from ivr.simulator import interactive
    from server.app import create_app

    ctx.db()
    interactive(create_app({"DATABASE": str(ctx.path)}), from_number, speak)


@ivr_group.command("consent")
@click.argument("phone")
@click.option("--yes/--no", "consent", required=True, help="Whether this number's owner agrees to reminder calls.")
@click.option("--note", default="", help="Who agreed and how, e.g. 'grandmother, by phone, 2026-11-20'.")
@pass_ctx
def ivr_consent(ctx: Context, phone: str, consent: bool, note: str) -> None:
    """Record consent to automated reminder calls for one number (given by that number's owner)."""
    from ivr import followup

    db = ctx.db()
    number = phones.normalize(phone, settings.get(db, "default_region"))
    if not number.valid:
        raise click.ClickException(f"{phone} is not a valid phone number")
    try:
        followup.set_consent(db, number.e164, consent, note)
    except ValueError as exc:
        raise _fail(exc)
    click.echo(f"{number.e164}: reminder calls {'allowed' if consent else 'not allowed'}.")


@cli.group("followup")
def followup_group() -> None:
    """Reminders for notices that stay unconfirmed."""


@followup_group.command("run")
@click.option("--format", "fmt", type=click.Choice(output.FORMATS), default="table", show_default=True)
@pass_ctx
def followup_run(ctx: Context, fmt: str) -> None:
    """One round of reminder calls and texts (dry run without Twilio credentials: logged, not sent)."""
    from ivr import config, followup

    db = ctx.db()
    sent = followup.run(db)
    rows = [{"family": a.family_code, "notice": a.notice_id, "phone": phones.mask(a.phone), "channel": a.channel,
             "sid": a.sid} for a in sent]
    _print(rows, ["family", "notice", "phone", "channel", "sid"], fmt)
    if fmt == "table":
        mode = "sent through Twilio" if config.load(db).live else "dry run: logged in the outbox, nothing sent"
        click.echo(f"{len(sent)} reminders ({mode}).")


# ---- kiosk -------------------------------------------------------------------------------------------

@cli.group("kiosk")
def kiosk_group() -> None:
    """The help-desk kiosk: enrol, serve its local UI, sync (and, on the server, codes and revocation)."""


def _kiosk_db(path: str | None):
    from kiosk import store

    return store.connect(store.resolve_path(path))


KIOSK_DB = click.option("--kiosk-db", envvar="PAPERBRIDGE_KIOSK_DB", type=click.Path(dir_okay=False),
                        help="The kiosk's own database (default: $PAPERBRIDGE_KIOSK_DB, else instance/kiosk.db).")


@kiosk_group.command("code")
@click.argument("name")
@pass_ctx
def kiosk_code(ctx: Context, name: str) -> None:
    """(Server) Make a one-time enrolment code for a kiosk. Example: paperbridge kiosk code 'Lobby desk'"""
    from server import devices

    try:
        code = devices.new_code(ctx.db(), name)
    except ValueError as exc:
        raise _fail(exc)
    click.echo(f"Enrolment code for {name}: {code} (valid 24 hours, once)")


@kiosk_group.command("revoke")
@click.argument("device_id")
@pass_ctx
def kiosk_revoke(ctx: Context, device_id: str) -> None:
    """(Server) Switch a kiosk off: its token stops working at once."""
    from server import devices

    try:
        devices.revoke(ctx.db(), device_id)
    except PaperBridgeError as exc:
        raise _fail(exc)
    click.echo(f"Kiosk {device_id} revoked.")


@kiosk_group.command("list")
@pass_ctx
def kiosk_list(ctx: Context) -> None:
    """(Server) Enrolled kiosks, last seen and whether revoked."""
    rows = list(ctx.db().query("SELECT id, name, enrolled_at, last_seen, revoked_at FROM devices ORDER BY enrolled_at"))
    click.echo(output.table(rows, ["id", "name", "enrolled_at", "last_seen", "revoked_at"]))


@kiosk_group.command("init")
@click.option("--server", required=True, help="The school server's address, e.g. http://192.168.1.10:5000")
@click.option("--enroll", "code", required=True, help="The one-time code from `paperbridge kiosk code` on the server.")
@KIOSK_DB
def kiosk_init(server: str, code: str, kiosk_db: str | None) -> None:
    """(Kiosk) Enrol this kiosk with the school server and fetch the roster and notices."""
    from kiosk import sync

    db = _kiosk_db(kiosk_db)
    try:
        name = sync.enrol(db, server, code)
        result = sync.sync(db)
    except (sync.Offline, sync.Refused, sync.Revoked) as exc:
        raise click.ClickException(f"Enrolment failed: {exc}")
    families = db.execute("SELECT count(*) FROM families WHERE active = 1").fetchone()[0]
    click.echo(f"Enrolled as '{name}'. {families} families and {result.pulled_pages} pages of changes fetched.")


@kiosk_group.command("sync")
@KIOSK_DB
def kiosk_sync(kiosk_db: str | None) -> None:
    """(Kiosk) Send waiting receipts and fetch changes now."""
    from kiosk import store, sync

    db = _kiosk_db(kiosk_db)
    try:
        result = sync.sync(db)
    except sync.Offline as exc:
        raise click.ClickException(f"The school server cannot be reached ({exc}); "
                                   f"{store.waiting(db)} receipts are kept here and sent later.")
    except (sync.Revoked, sync.Refused) as exc:
        raise click.ClickException(str(exc))
    click.echo(f"Sent {result.pushed} receipts ({result.rejected} refused), {result.pulled_pages} pages fetched; "
               f"{result.bytes_sent} bytes up, {result.bytes_received} bytes down.")


@kiosk_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5050, show_default=True, type=int)
@KIOSK_DB
def kiosk_serve(host: str, port: int, kiosk_db: str | None) -> None:
    """(Kiosk) The volunteers' web UI on this machine; syncs in the background when the server is reachable."""
    import waitress

    from kiosk import store
    from kiosk.app import create_kiosk_app

    path = store.resolve_path(kiosk_db)
    db = _kiosk_db(kiosk_db)
    if not store.get(db, "token"):
        raise click.ClickException("This kiosk is not enrolled: run `paperbridge kiosk init --server URL --enroll CODE`.")
    db.close()
    click.echo(f"Help desk at http://{host}:{port}/  (Ctrl+C to stop)")
    waitress.serve(create_kiosk_app(path, background_sync=True), host=host, port=port, threads=4)


def main() -> None:
    cli(prog_name="paperbridge")

"""Looking after the data: backup and restore, the school secret."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from server import backup as backups
from server import db as database
from server import settings
from server.cli.base import Context, emit, fail, format_option, with_db
from server.errors import PaperBridgeError


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_db
def backup(ctx: Context, file: Path) -> None:
    """Copy the database with SQLite's online backup (safe while the server runs).

    Copy the evidence folder beside the database as well if you keep slip images.

    \b
    Example:
      paperbridge backup /mnt/usb/paperbridge-2026-11-23.db
    """
    db = ctx.db()
    with click.progressbar(length=1, label="Backing up", file=sys.stderr) as bar:
        def step(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        try:
            backups.backup(db, file, progress=step)
        except PaperBridgeError as exc:
            raise fail(exc) from None
    events = db.execute("SELECT count(*) FROM events").fetchone()[0]
    click.echo(f"Backed up {ctx.path} to {file} ({file.stat().st_size // 1024} KiB, {events} ledger events).")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace an existing database without asking.")
@with_db
def restore(ctx: Context, file: Path, yes: bool) -> None:
    """Put a backup back in place (stop the server first).

    The backup is checked before anything changes; the database it replaces is kept
    beside it as NAME.before-restore-TIME.

    \b
    Example:
      paperbridge restore /mnt/usb/paperbridge-2026-11-23.db --db /var/lib/paperbridge/school.db
    """
    if ctx.path.exists() and not yes:
        click.confirm(f"Replace {ctx.path} with {file}? (the current one is kept beside it)", abort=True)
    try:
        kept = backups.restore(file, ctx.path)
    except PaperBridgeError as exc:
        raise fail(exc) from None
    db = database.connect(ctx.path)
    events = db.execute("SELECT count(*) FROM events").fetchone()[0]
    click.echo(f"Restored {file} to {ctx.path} ({events} ledger events)."
               + (f" The previous database is kept as {kept}." if kept else ""))


@click.group("secret")
def secret_group() -> None:
    """The school secret that signs slip QR codes and family links.

    \b
    Example:
      paperbridge secret list
    """


@secret_group.command("list")
@format_option
@with_db
def secret_list(ctx: Context, fmt: str) -> None:
    """Show the key ids: the one signing now, the older ones still trusted, the retired ones.

    \b
    Example:
      paperbridge secret list
    """
    db = ctx.db()
    current, trusted = settings.current_key_id(db), settings.slip_keys(db)
    retired = db.execute("SELECT substr(key, length(?) + 2), value FROM settings WHERE key LIKE ? ORDER BY key",
                         [settings.RETIRED_KEY, settings.RETIRED_KEY + ":%"]).fetchall()
    rows = [{"key": k, "state": "signing" if k == current else "trusted", "retired_at": None} for k in trusted]
    rows += [{"key": k, "state": "retired", "retired_at": when} for k, when in retired]
    emit(sorted(rows, key=lambda r: r["key"]), ["key", "state", "retired_at"], fmt)


@secret_group.command("rotate")
@with_db
def secret_rotate(ctx: Context) -> None:
    """Sign new slips and links with a fresh secret; old ones keep verifying.

    Staff are signed out of the web pages once (their sessions were signed with the old key).

    \b
    Example:
      paperbridge secret rotate
    """
    try:
        key_id = settings.rotate_secret(ctx.db())
    except ValueError as exc:
        raise fail(exc) from None
    click.echo(f"New school secret {key_id} signs from now on. Slips and family links made under older keys "
               "still verify; retire a key with `paperbridge secret retire KEY` if it leaked.")


@secret_group.command("retire")
@click.argument("key_id")
@with_db
def secret_retire(ctx: Context, key_id: str) -> None:
    """Stop trusting an old key: its slips go to the review queue and its family links stop working.

    \b
    Example:
      paperbridge secret retire A
    """
    try:
        settings.retire_key(ctx.db(), key_id)
    except ValueError as exc:
        raise fail(exc) from None
    click.echo(f"Key {key_id.upper()} retired. Slips signed with it now go to the review queue; "
               "send those families new links.")

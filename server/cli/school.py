"""Setting up a school: init, settings, the demo school, serving the web."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import click

from server import db as database
from server import demo as demo_school
from server import loops, settings
from server.cli.base import Context, emit, fail, format_option, with_db
from server.cli.housekeeping import scheduled_round

log = logging.getLogger("paperbridge.reminders")


@click.command()
@click.option("--school-name", help="The school's name.")
@click.option("--school-id", help="Short code (letters/digits, up to 8) used in QR codes.")
@click.option("--region", help="Default phone region, e.g. CN, HK, US.")
@click.option("--timezone", help="Time zone, e.g. Asia/Hong_Kong.")
@with_db
def init(ctx: Context, school_name, school_id, region, timezone) -> None:
    """Create the database and the school secret.

    \b
    Example:
      paperbridge init --school-name "Riverside Primary" --school-id RSP --region HK
    """
    overrides = {k: v for k, v in {"school_name": school_name, "school_id": school_id,
                                   "default_region": region, "timezone": timezone}.items() if v}
    try:
        created = settings.initialize(ctx.db(require_init=False), **overrides)
    except ValueError as exc:
        raise fail(exc) from None
    click.echo(f"{'Created' if created else 'Already set up'}: {ctx.path}")


@click.group("setting")
def setting_group() -> None:
    """Show or change school settings.

    \b
    Example:
      paperbridge setting list
    """


@setting_group.command("list")
@format_option
@with_db
def setting_list(ctx: Context, fmt: str) -> None:
    """Show every setting with its value and meaning.

    \b
    Example:
      paperbridge setting list --format json
    """
    db = ctx.db()
    rows = [{"name": s.name, "value": settings.get(db, s.name), "help": s.help} for s in settings.SETTINGS]
    emit(rows, ["name", "value", "help"], fmt)


@setting_group.command("set", context_settings={"ignore_unknown_options": True})  # "-5" is a value to refuse clearly
@click.argument("name")
@click.argument("value")
@with_db
def setting_set(ctx: Context, name: str, value: str) -> None:
    """Change a setting; a value the school cannot use is refused with the allowed ones.

    \b
    Example:
      paperbridge setting set default_region HK
    """
    try:
        settings.put(ctx.db(), name, value)
    except ValueError as exc:
        raise fail(exc) from None
    click.echo(f"{name} = {settings.get(ctx.db(), name)}")


@click.command()
@click.option("--build-only", is_flag=True, help="Build the demo database and exit without serving.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@with_db
def demo(ctx: Context, build_only: bool, host: str, port: int) -> None:
    """Build the demo school in a fresh database and serve it.

    \b
    Example:
      paperbridge demo          (then open http://127.0.0.1:5000)
    """
    if not ctx.explicit:
        ctx.path = database.instance_dir() / "demo.db"  # never mixed with the school's own data
    click.echo(f"Building the demo school in {ctx.path} ...")
    try:
        summary = demo_school.build(ctx.path, base_url=f"http://{host}:{port}")
    except ValueError as exc:
        raise fail(exc) from None
    click.echo(f"  {summary['families']} families, {summary['students']} students, "
               f"{summary['notices']} notices, {summary['events']} receipts so far")
    click.echo("  Staff sign-ins (user / password / role):")
    for username, password, role in summary["staff"]:
        click.echo(f"    {username:<10} {password:<13} {role}")
    click.echo(f"  A family's personal page: {summary['sample_link']}")
    if not build_only:
        _serve(ctx, host, port)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for the office network).")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--reminders/--no-reminders", default=True, show_default=True,
              help="Run reminder rounds (`followup run`) every 15 minutes while serving (answers, escalation "
              "of overdue concerns and retention run either way).")
@with_db
def serve(ctx: Context, host: str, port: int, reminders: bool) -> None:
    """Serve the staff web, family pages, phone webhooks and API with waitress.

    \b
    Example:
      paperbridge serve --host 0.0.0.0 --port 5000
    """
    ctx.db()
    _serve(ctx, host, port, reminders)


def _serve(ctx: Context, host: str, port: int, reminders: bool = False) -> None:
    import waitress  # start-up speed: the web stack loads only for commands that serve

    from server.app import create_app  # start-up speed: the web stack loads only for commands that serve
    from server.serving import proxy_settings  # start-up speed: the web stack loads only for commands that serve

    hops = int(os.environ.get("PAPERBRIDGE_PROXY_HOPS") or 0)
    proxy = proxy_settings(hops, os.environ.get("PAPERBRIDGE_TRUSTED_PROXY") or "127.0.0.1")
    app = create_app({"DATABASE": str(ctx.path), "PROXY_HANDLED_BY_SERVER": bool(proxy)})
    threading.Thread(target=scheduled_loop, args=(ctx.path,), kwargs={"reminders": reminders}, daemon=True).start()
    if proxy:
        click.echo(f"Behind {hops} reverse prox{'y' if hops == 1 else 'ies'}; trusting forwarded addresses "
                   f"from {proxy['trusted_proxy']} only.")
    click.echo(f"PaperBridge is running at http://{host}:{port}/  (Ctrl+C to stop)")
    waitress.serve(app, host=host, port=port, threads=8, connection_limit=1000, ident="PaperBridge", **proxy)


RETENTION_SECONDS = 24 * 3600


def scheduled_loop(path: Path, seconds: float = 900, stop: threading.Event | None = None, *,
                   reminders: bool = True) -> None:
    """The server's own round every ``seconds`` (reminders, answers, escalation; retention at the
    first round and then once a day: see server/cli/housekeeping.py); a failed round is logged and
    tried again at the next."""
    retained = [float("-inf")]  # monotonic time retention last ran

    def one_round() -> None:
        db = database.connect(path)
        try:
            daily = time.monotonic() - retained[0] >= RETENTION_SECONDS
            scheduled_round(db, reminders=reminders, retention=daily)
            if daily:
                retained[0] = time.monotonic()
        finally:
            db.close()

    loops.every(seconds, one_round, log=log, what="scheduled round", stop=stop)

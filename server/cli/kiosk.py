"""The help-desk kiosk: codes and revocation on the server; enrol, sync and serve on the kiosk."""

from __future__ import annotations

import click

from kiosk import store, sync
from server import devices
from server.cli.base import Context, emit, fail, format_option, plural, with_db
from server.errors import PaperBridgeError

KIOSK_DB = click.option("--kiosk-db", envvar="PAPERBRIDGE_KIOSK_DB", type=click.Path(dir_okay=False),
                        help="The kiosk's own database (default: $PAPERBRIDGE_KIOSK_DB, else instance/kiosk.db).")


def _kiosk_db(path: str | None):
    return store.connect(store.resolve_path(path))


@click.group("kiosk")
def kiosk_group() -> None:
    """The help-desk kiosk: enrol, serve its local UI, sync (and, on the server, codes and revocation).

    \b
    Example:
      paperbridge kiosk code "Lobby desk"          (on the server)
      paperbridge kiosk init --server http://192.168.1.10:5000 --enroll 48213957   (on the kiosk)
    """


@kiosk_group.command("code")
@click.argument("name")
@with_db
def kiosk_code(ctx: Context, name: str) -> None:
    """(Server) Make a one-time enrolment code for a kiosk.

    \b
    Example:
      paperbridge kiosk code "Lobby desk"
    """
    try:
        code = devices.new_code(ctx.db(), name)
    except ValueError as exc:
        raise fail(exc) from None
    click.echo(f"Enrolment code for {name}: {code} (valid 24 hours, once)")


@kiosk_group.command("revoke")
@click.argument("device_id")
@with_db
def kiosk_revoke(ctx: Context, device_id: str) -> None:
    """(Server) Switch a kiosk off: its token stops working at once.

    \b
    Example:
      paperbridge kiosk revoke 0193a1c2-7d4e-7f00-8a1b-2c3d4e5f6a7b
    """
    try:
        devices.revoke(ctx.db(), device_id)
    except PaperBridgeError as exc:
        raise fail(exc) from None
    click.echo(f"Kiosk {device_id} revoked.")


@kiosk_group.command("list")
@format_option
@with_db
def kiosk_list(ctx: Context, fmt: str) -> None:
    """(Server) Enrolled kiosks, last seen and whether revoked.

    \b
    Example:
      paperbridge kiosk list --format json
    """
    rows = list(ctx.db().query("SELECT id, name, enrolled_at, last_seen, revoked_at FROM devices ORDER BY enrolled_at"))
    emit(rows, ["id", "name", "enrolled_at", "last_seen", "revoked_at"], fmt)


@kiosk_group.command("init")
@click.option("--server", required=True, help="The school server's address, e.g. http://192.168.1.10:5000")
@click.option("--enroll", "code", required=True, help="The one-time code from `paperbridge kiosk code` on the server.")
@KIOSK_DB
def kiosk_init(server: str, code: str, kiosk_db: str | None) -> None:
    """(Kiosk) Enrol this kiosk with the school server and fetch the roster and notices.

    \b
    Example:
      paperbridge kiosk init --server http://192.168.1.10:5000 --enroll 48213957
    """
    db = _kiosk_db(kiosk_db)
    try:
        name = sync.enrol(db, server, code)
        result = sync.sync(db)
    except (sync.Offline, sync.Refused, sync.Revoked) as exc:
        raise click.ClickException(f"Enrolment failed: {exc}") from None
    families = db.execute("SELECT count(*) FROM families WHERE active = 1").fetchone()[0]
    click.echo(f"Enrolled as '{name}'. " + plural("%(n)s family", "%(n)s families", families) + " and "
               + plural("%(n)s page", "%(n)s pages", result.pulled_pages) + " of changes fetched.")


@kiosk_group.command("sync")
@KIOSK_DB
def kiosk_sync(kiosk_db: str | None) -> None:
    """(Kiosk) Send waiting receipts and fetch changes now.

    \b
    Example:
      paperbridge kiosk sync
    """
    db = _kiosk_db(kiosk_db)
    try:
        result = sync.sync(db)
    except sync.Offline as exc:
        raise click.ClickException(f"The school server cannot be reached ({exc}); "
                                   f"{store.waiting(db)} receipts are kept here and sent later.") from None
    except (sync.Revoked, sync.Refused) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("Sent " + plural("%(n)s receipt", "%(n)s receipts", result.pushed) + f" ({result.rejected} refused), "
               + plural("%(n)s page", "%(n)s pages", result.pulled_pages)
               + f" fetched; {result.bytes_sent} bytes up, {result.bytes_received} bytes down.")


@kiosk_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5050, show_default=True, type=int, help="Port to listen on.")
@KIOSK_DB
def kiosk_serve(host: str, port: int, kiosk_db: str | None) -> None:
    """(Kiosk) The volunteers' web UI on this machine; syncs in the background when the server is reachable.

    \b
    Example:
      paperbridge kiosk serve --port 5050
    """
    import waitress  # start-up speed: the web stack loads only for commands that serve

    from kiosk.app import create_kiosk_app  # start-up speed: the web stack loads only for commands that serve

    path = store.resolve_path(kiosk_db)
    db = _kiosk_db(kiosk_db)
    if not store.get(db, "token"):
        raise click.ClickException("This kiosk is not enrolled: run `paperbridge kiosk init --server URL --enroll CODE`.")
    db.close()
    click.echo(f"Help desk at http://{host}:{port}/  (Ctrl+C to stop)")
    waitress.serve(create_kiosk_app(path, background_sync=True), host=host, port=port, threads=4)

"""`paperbridge district ...`: the district roll-up on PostgreSQL (run on the district's server)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from server.cli.base import Context, emit, format_option, with_db

DATABASE_HELP = "The district's PostgreSQL database, postgresql://user@host:port/name (default: $PAPERBRIDGE_DISTRICT_DB)."
database_option = click.option("--database", "url", help=DATABASE_HELP)


@click.group("district")
def district_group() -> None:
    """The district roll-up: school nodes forward their ledgers to one PostgreSQL database.

    \b
    Example:
      paperbridge district init --database postgresql://paperbridge@db.example/district
      paperbridge district code "Riverside Primary" --database postgresql://paperbridge@db.example/district
    """


def _open(url: str | None):
    """The district database, or one sentence and exit 1."""
    from server.district import connect  # start-up speed: psycopg loads only for district commands

    try:
        return connect.connect(connect.url_from(url))
    except (ValueError, connect.Unreachable) as exc:
        raise click.ClickException(str(exc)) from None


@district_group.command("init")
@database_option
def district_init(url: str | None) -> None:
    """Create or update the district's tables (safe to run again).

    \b
    Example:
      paperbridge district init --database postgresql://paperbridge@127.0.0.1:5432/district
    """
    from server.district import schema  # start-up speed: psycopg loads only for district commands

    with _open(url) as conn:
        applied = schema.migrate(conn)
    click.echo(f"District database ready ({', '.join(applied)} applied)." if applied
               else "District database already up to date.")


@district_group.command("code")
@click.argument("name", required=False)
@click.option("--school", "school_id", type=int, help="A new code for this school already in the district.")
@database_option
def district_code(name: str | None, school_id: int | None, url: str | None) -> None:
    """Add a school and print its one-time enrolment code (valid 7 days); or, with --school,
    a new code for a school already here (a new server, or after `district revoke`).

    \b
    Example:
      paperbridge district code "Riverside Primary"
      paperbridge district code --school 3
    """
    from server.district import schools  # start-up speed: psycopg loads only for district commands

    if bool(name) == bool(school_id):
        raise click.UsageError("give a new school's name, or --school ID for one already in the district")
    with _open(url) as conn:
        try:
            if school_id:
                code, expires, name = schools.new_code_for(conn, school_id)
            else:
                school_id, code, expires = schools.add_school(conn, name or "")
        except (ValueError, LookupError) as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"School {school_id}: {' '.join((name or '').split())}\nEnrolment code: {code} "
               f"(one use, until {expires:%Y-%m-%d %H:%M %Z})\n"
               f"On the school's server: paperbridge district link --server URL --enroll {code}")


@district_group.command("schools")
@database_option
@format_option
def district_schools(url: str | None, fmt: str) -> None:
    """List the district's schools: when added, enrolled, revoked, last heard from.

    \b
    Example:
      paperbridge district schools --format csv
    """
    from server.district import schools  # start-up speed: psycopg loads only for district commands

    with _open(url) as conn:
        rows = schools.list_schools(conn)
    emit(rows, ["id", "name", "added_at", "enrolled_at", "revoked_at", "last_push_at"], fmt)


@district_group.command("notice")
@click.option("--text", "texts", type=(str, str, str), multiple=True, required=True, metavar="LANG TITLE BODY",
              help="The notice in one language (en, zh-Hans, zh-Hant); repeat for each language.")
@click.option("--reply", "replies", multiple=True, help="A reply option (attend, absent, yes, no ... or key:label); repeat.")
@click.option("--due", help="The date replies are due, YYYY-MM-DD.")
@click.option("--publish-at", help="When schools publish it (ISO time; default: as soon as each school pulls it).")
@click.option("--urgent", is_flag=True, help="Urgent: families who have not confirmed are chased sooner.")
@click.option("--no-confirmation", is_flag=True, help="For information only: families are not asked to confirm.")
@click.option("--by", "author", default="district", show_default=True, help="Who wrote it (kept with the notice).")
@database_option
def district_notice(texts: tuple[tuple[str, str, str], ...], replies: tuple[str, ...], due: str | None,
                    publish_at: str | None, urgent: bool, no_confirmation: bool, author: str, url: str | None) -> None:
    """Write a district-wide notice: every linked school pulls it in its next round and
    publishes it to its own families by paper, phone, texts and the desk.

    \b
    Example:
      paperbridge district notice --text en "Typhoon: schools closed" "All schools close on Friday." \\
        --text zh-Hans "台风停课" "周五全区停课。" --reply yes
    """
    from server.district import notices  # start-up speed: psycopg loads only for district commands

    with _open(url) as conn:
        try:
            notice_id = notices.add(conn, texts={lang: (title, body) for lang, title, body in texts},
                                    reply_options=list(replies), requires_confirmation=not no_confirmation,
                                    due_date=due, urgent=urgent, publish_at=publish_at, created_by=author)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"District notice {notice_id} written; schools publish it at their next round "
               f"(`paperbridge district status --notice {notice_id}` shows who has it).")


@district_group.command("notices")
@database_option
@format_option
def district_notices(url: str | None, fmt: str) -> None:
    """List the district-wide notices: id, title, when published, replies asked for.

    \b
    Example:
      paperbridge district notices --format json
    """
    from server.district import notices  # start-up speed: psycopg loads only for district commands

    with _open(url) as conn:
        rows = [{**n, "title": notices.title(n)} for n in notices.after(conn)]
    emit(rows, ["id", "title", "publish_at", "reply_options", "due_date", "created_by"], fmt)


@district_group.command("status")
@click.option("--notice", "notice_id", type=int, help="One district notice (default: all of them, per family and notice).")
@database_option
@format_option
def district_status(notice_id: int | None, url: str | None, fmt: str) -> None:
    """Per school: families addressed, how many confirmed, read or not, by which channel; events
    received and the last push (a school that has not pushed for a day is behind).

    \b
    Example:
      paperbridge district status --notice 3 --format csv
    """
    from server.district import ledger, report  # start-up speed: psycopg loads only for district commands

    with _open(url) as conn:
        ledger.derive_all(conn)  # pushes whose status the server's worker has not derived yet count too
        try:
            rows = report.school_rows(conn, notice_id)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
    emit(rows, list(report.SCHOOL_COLUMNS), fmt)


@district_group.group("user")
def district_user_group() -> None:
    """The district web's accounts: district administrators see every school, a school viewer one.

    \b
    Example:
      paperbridge district user add wang --role admin
      paperbridge district user add li --role viewer --school 3
    """


@district_user_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "viewer"]), required=True,
              help="admin: every school; viewer: one school's counts.")
@click.option("--school", "school_id", type=int, help="A viewer's school (its id in `paperbridge district schools`).")
@click.option("--name", "display_name", default="", help="Name shown on the pages.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Password, 8+ characters. Asked for when not given.")
@database_option
def district_user_add(username: str, role: str, school_id: int | None, display_name: str, password: str,
                      url: str | None) -> None:
    """Create an account for the district's pages.

    \b
    Example:
      paperbridge district user add li --role viewer --school 3 --name "Li (Riverside)"
    """
    from server.district import accounts  # start-up speed: psycopg loads only for district commands

    with _open(url) as conn:
        try:
            accounts.add_user(conn, username, password, role, school_id=school_id, display_name=display_name)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"Created district {'administrator' if role == 'admin' else 'school viewer'} {username}.")


@district_user_group.command("list")
@database_option
@format_option
def district_user_list(url: str | None, fmt: str) -> None:
    """The district's accounts: role, school (viewers), whether disabled or locked.

    \b
    Example:
      paperbridge district user list --format csv
    """
    from server.district import accounts  # start-up speed: psycopg loads only for district commands

    with _open(url) as conn:
        rows = accounts.list_users(conn)
    emit(rows, ["username", "display_name", "role", "school", "state"], fmt)


@district_user_group.command("disable")
@click.argument("username")
@database_option
def district_user_disable(username: str, url: str | None) -> None:
    """Disable an account (its open sessions end at once).

    \b
    Example:
      paperbridge district user disable li
    """
    from server.district import accounts  # start-up speed: psycopg loads only for district commands

    with _open(url) as conn:
        try:
            accounts.set_active(conn, username, False)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"District user {username} disabled.")


@district_group.command("revoke")
@click.argument("school_id", type=int)
@database_option
def district_revoke(school_id: int, url: str | None) -> None:
    """Stop taking pushes from a school (a lost or stolen server); its events stay.

    \b
    Example:
      paperbridge district revoke 3
    """
    from server.district import schools  # start-up speed: psycopg loads only for district commands

    with _open(url) as conn:
        try:
            name = schools.revoke(conn, school_id)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"School {school_id} ({name}) revoked: its pushes are refused. "
               f"`paperbridge district code --school {school_id}` makes a code to link it again.")


@district_group.command("serve")
@database_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every network).")
@click.option("--port", default=5100, show_default=True, help="Port to listen on.")
@click.option("--timezone", default="UTC", show_default=True, help="Time zone for times on the pages, e.g. Asia/Shanghai.")
def district_serve(url: str | None, host: str, port: int, timezone: str) -> None:
    """Serve the district with waitress: its pages for district staff (/district/) and its API
    for school nodes (enrolment, pushes, district notices).

    \b
    Example:
      paperbridge district serve --database postgresql://paperbridge@127.0.0.1/district --port 5100
    """
    import waitress  # start-up speed: the web stack loads only for commands that serve

    from server.app import create_district_app  # start-up speed: the web stack loads only for commands that serve
    from server.district import connect  # start-up speed: psycopg loads only for district commands

    with _open(url):  # a clear sentence now if the database cannot be reached
        pass
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown time zone {timezone!r}; e.g. Asia/Shanghai or UTC",
                                 param_hint="--timezone") from None
    app = create_district_app(connect.url_from(url), timezone=timezone)
    click.echo(f"PaperBridge district is running at http://{host}:{port}/district/  (Ctrl+C to stop)")
    waitress.serve(app, host=host, port=port, threads=8, ident="PaperBridge district")


@district_group.command("link")
@click.option("--server", required=True, help="The district's address, e.g. https://district.example.")
@click.option("--enroll", "code", required=True, help="The one-time code from `paperbridge district code`.")
@with_db
def district_link(ctx: Context, server: str, code: str) -> None:
    """Link this school to its district with a one-time code (run on the school's server).

    \b
    Example:
      paperbridge district link --server https://district.example --enroll K7QM-X2PD-9RTA
    """
    from server.district import link  # start-up speed: loads only for district commands

    try:
        linked = link.link(ctx.db(), server, code)
    except link.DistrictUnreachable as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Linked to {linked['server']} as school {linked['school_id']} ({linked['name']}). "
               "The server forwards the ledger every 15 minutes; `paperbridge district push` sends it now.")


@district_group.command("push")
@click.option("--batch", "batch_size", type=click.IntRange(1, 2000), default=500, show_default=True,
              help="Events per request (smaller for a slow or unreliable link).")
@with_db
def district_push(ctx: Context, batch_size: int) -> None:
    """Receive the district's new notices, then send the district what it does not have yet
    (exit 1 when it cannot be reached; nothing is lost).

    \b
    Example:
      paperbridge district push
    """
    from server.district import link  # start-up speed: loads only for district commands

    try:
        result = link.push(ctx.db(), batch_size=batch_size)
    except (link.DistrictUnreachable, LookupError) as exc:
        raise click.ClickException(str(exc)) from None
    if result.pulled:
        click.echo(f"Received {result.pulled} district notices, published to this school's families.")
    if result.families or result.notices:
        click.echo(f"Sent {result.families} changed families and {result.notices} notices.")
    click.echo(f"Sent {result.sent} events: {result.recorded} new at the district, {result.duplicates} it had already."
               if result.sent else "Nothing new to send: the district has the whole ledger.")
    if result.problem:
        raise click.ClickException(result.problem)

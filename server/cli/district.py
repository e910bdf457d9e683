"""`paperbridge district ...`: the district roll-up on PostgreSQL (run on the district's server)."""

from __future__ import annotations

import click

from server.cli.base import emit, format_option

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
    # start-up speed: psycopg loads only for district commands
    from server.district import connect

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
@click.argument("name")
@database_option
def district_code(name: str, url: str | None) -> None:
    """Add a school and print its one-time enrolment code (valid 7 days).

    \b
    Example:
      paperbridge district code "Riverside Primary"
    """
    from server.district import schools  # start-up speed: psycopg loads only for district commands

    with _open(url) as conn:
        try:
            school_id, code, expires = schools.add_school(conn, name)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"School {school_id}: {' '.join(name.split())}\nEnrolment code: {code} "
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

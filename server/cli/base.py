"""What every `paperbridge` command shares: the database context, --db, --format, errors.

Conventions (a meta-test in tests/server/test_cli_conventions.py holds them):
- every command has an ``Example:`` in a ``\\b`` paragraph, so click prints it as written;
- every option has a help line;
- commands that list or report data take ``--format table|csv|json``;
- ``--db`` is accepted before or after the command name;
- errors an office worker can fix are ``click.ClickException`` with one plain sentence.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlite_utils import Database

from server import db as database
from server import output, private, settings
from server.i18n import ngettext_for

F = TypeVar("F", bound=Callable[..., Any])
plural = ngettext_for("en")  # plural("%(n)s family", "%(n)s families", n)


class Context:
    """The database the command works on, opened on first use."""

    def __init__(self, path: str | None):
        self.explicit = bool(path)
        self.path = database.resolve_path(path)
        self._db: Database | None = None

    def use(self, path: str) -> None:
        self.explicit, self.path, self._db = True, Path(path), None

    def db(self, *, require_init: bool = True) -> Database:
        if self._db is None:
            self._db = database.connect(self.path)
        if require_init and not settings.is_initialized(self._db):
            raise click.ClickException(f"{self.path} has no school yet. Run `paperbridge init` first "
                                       "(or `paperbridge demo` for the demo school).")
        return self._db


class Group(click.Group):
    """Turns a locked database or a full disk into one plain sentence and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except private.SharedFiles as exc:
            raise click.ClickException(str(exc)) from None
        except (sqlite3.OperationalError, OSError) as exc:
            message = database.explain(exc, getattr(ctx.obj, "path", None))
            if message is None:
                raise
            raise click.ClickException(message) from None


def _use_db(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.ensure_object(Context).use(value)


DB_HELP = "Database file (default: $PAPERBRIDGE_DB, else instance/paperbridge.db)."
_db_option = click.option("--db", type=click.Path(dir_okay=False), expose_value=False, is_eager=True,
                          callback=_use_db, help=DB_HELP)
_pass_context = click.make_pass_decorator(Context, ensure=True)


def with_db(command: F) -> F:
    """Pass the Context and accept --db after the command name as well as before it."""
    return _db_option(_pass_context(command))  # type: ignore[return-value]


format_option = click.option("--format", "fmt", type=click.Choice(output.FORMATS), default="table",
                             show_default=True, help="table for people; csv or json for spreadsheets and programs.")


def emit(rows: Sequence[dict], columns: Sequence[str], fmt: str) -> None:
    """Rows as an aligned table, CSV or JSON."""
    if fmt == "json":
        click.echo(output.to_json(list(rows)))
    elif fmt == "csv":
        click.echo(output.to_csv(rows, columns), nl=False)
    else:
        flat = [{k: ", ".join(v) if isinstance(v, list) else v for k, v in r.items()} for r in rows]
        click.echo(output.table(flat, columns))


def fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))

"""Staff accounts and integration tokens: add, list, disable, enable, new password, new role, revoke."""

from __future__ import annotations

import sqlite3

import click

from server import users
from server.cli.base import Context, emit, fail, format_option, with_db


@click.group("user")
def user_group() -> None:
    """Staff accounts.

    \b
    Example:
      paperbridge user add chen --role teacher --class 3A
      paperbridge user list
      paperbridge user disable chen
    """


@user_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(users.ROLES), required=True, help="What the account may do.")
@click.option("--name", "display_name", default="", help="Name shown in the interface.")
@click.option("--class", "classes", multiple=True, help="A teacher's class (repeat).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Password (volunteers: a PIN of 6+ digits). Asked for when not given.")
@with_db
def user_add(ctx: Context, username, role, display_name, classes, password) -> None:
    """Create a staff account.

    \b
    Example:
      paperbridge user add chen --role teacher --class 3A
    """
    try:
        users.add_user(ctx.db(), username, password, role, display_name=display_name, classes=list(classes))
    except ValueError as exc:
        raise fail(exc) from None
    click.echo(f"Created {role} {username}.")


@user_group.command("list")
@format_option
@with_db
def user_list(ctx: Context, fmt: str) -> None:
    """Every staff account, disabled ones too: role, classes, whether it is locked after wrong passwords.

    \b
    Example:
      paperbridge user list --format csv > staff.csv
    """
    rows = [{**row, "state": "disabled" if not row["active"] else "locked" if row["locked"] else "active"}
            for row in users.list_users(ctx.db())]
    emit(rows, ["username", "display_name", "role", "classes", "state", "created_at"], fmt)


@user_group.command("disable")
@click.argument("username")
@with_db
def user_disable(ctx: Context, username: str) -> None:
    """Stop an account: signed out everywhere at once, cannot sign in (its history stays).

    \b
    Example:
      paperbridge user disable chen
    """
    _do(lambda: users.set_active(ctx.db(), username, False), f"{username} is disabled and signed out everywhere.")


@user_group.command("enable")
@click.argument("username")
@with_db
def user_enable(ctx: Context, username: str) -> None:
    """Let a disabled account sign in again.

    \b
    Example:
      paperbridge user enable chen
    """
    _do(lambda: users.set_active(ctx.db(), username, True), f"{username} can sign in again.")


@user_group.command("reset-password")
@click.argument("username")
@click.option("--password", prompt="New password", hide_input=True, confirmation_prompt=True,
              help="The new password (volunteers: a PIN of 6+ digits). Asked for when not given.")
@with_db
def user_reset_password(ctx: Context, username: str, password: str) -> None:
    """Give an account a new password: unlocks it and signs it out everywhere.

    \b
    Example:
      paperbridge user reset-password chen
    """
    _do(lambda: users.reset_password(ctx.db(), username, password),
        f"{username} has a new password and is signed out everywhere.")


@user_group.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice([r for r in users.ROLES if r != "volunteer"]))
@click.option("--class", "classes", multiple=True, help="A teacher's class (repeat); required for teacher.")
@with_db
def user_set_role(ctx: Context, username: str, role: str, classes: tuple[str, ...]) -> None:
    """Change what an account may do (and a teacher's classes); signs it out everywhere.

    \b
    Example:
      paperbridge user set-role chen teacher --class 3A --class 3B
    """
    _do(lambda: users.set_role(ctx.db(), username, role, list(classes)), f"{username} is now {role}.")


def _do(change, done: str) -> None:
    try:
        change()
    except ValueError as exc:
        raise fail(exc) from None
    click.echo(done)


@click.group("integration")
def integration_group() -> None:
    """Tokens for platforms that POST receipts to /api/receipts.

    \b
    Example:
      paperbridge integration add wechat
      paperbridge integration revoke wechat
    """


@integration_group.command("add")
@click.argument("name")
@with_db
def integration_add(ctx: Context, name: str) -> None:
    """Create a token (shown once).

    \b
    Example:
      paperbridge integration add wechat
    """
    try:
        token = users.add_integration(ctx.db(), name)
    except ValueError as exc:
        raise fail(exc) from None
    except sqlite3.IntegrityError:
        raise click.ClickException(f"integration {name!r} already exists") from None
    click.echo(token)


@integration_group.command("list")
@format_option
@with_db
def integration_list(ctx: Context, fmt: str) -> None:
    """Integration tokens by name, when made and when revoked (the tokens themselves are never kept).

    \b
    Example:
      paperbridge integration list
    """
    emit(users.list_integrations(ctx.db()), ["name", "created_at", "revoked_at"], fmt)


@integration_group.command("revoke")
@click.argument("name")
@with_db
def integration_revoke(ctx: Context, name: str) -> None:
    """Stop a token at once (the receipts it sent stay in the ledger).

    \b
    Example:
      paperbridge integration revoke wechat
    """
    _do(lambda: users.revoke_integration(ctx.db(), name), f"The {name} token no longer works.")

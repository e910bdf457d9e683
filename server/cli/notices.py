"""Notices and the ledger: add and list notices, combined status, imported read lists, voids."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from server import approval, ledger, notices, output, receipts, status
from server.cli.base import Context, emit, fail, format_option, plural, with_db
from server.errors import PaperBridgeError
from server.transaction import write_transaction


@click.group("notice")
def notice_group() -> None:
    """Write and list notices.

    \b
    Example:
      paperbridge notice list --week 2026-W48
    """


@notice_group.command("add")
@click.option("--title", required=True, help="Title in the main language.")
@click.option("--body", required=True, help="Text in the main language.")
@click.option("--lang", default="zh-Hans", show_default=True, type=click.Choice(["zh-Hans", "zh-Hant", "en"]),
              help="The main language.")
@click.option("--translation", nargs=3, multiple=True, metavar="LANG TITLE BODY", help="Another language version.")
@click.option("--class", "classes", multiple=True, help="Audience class (repeat); none means the whole school.")
@click.option("--reply", multiple=True, help="Reply option: yes, no, attend, absent, agree, disagree, or key:label.")
@click.option("--no-confirm", is_flag=True, help="Reading is enough; no confirmation asked.")
@click.option("--due", help="Answer-by date, YYYY-MM-DD.")
@click.option("--private", is_flag=True, help="Sensitive: never printed; read on the phone only after the family code.")
@click.option("--publish-at", help="Publish later (YYYY-MM-DD HH:MM, school time). Default: now.")
@click.option("--urgent", is_flag=True, help="Remind unconfirmed families sooner (setting urgent_delay_hours).")
@format_option
@with_db
def notice_add(ctx: Context, title, body, lang, translation, classes, reply, no_confirm, due, private, publish_at,
               urgent, fmt):
    """Add a notice and print its id.

    \b
    Example:
      paperbridge notice add --title 秋游 --body 周五去植物园 --class 3A --reply attend --reply absent \\
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
        raise fail(exc) from None
    if fmt == "json":
        click.echo(output.to_json({"id": notice_id}))
    else:
        emit([{"id": notice_id}], ["id"], "csv") if fmt == "csv" else click.echo(str(notice_id))


@notice_group.command("list")
@click.option("--week", help="Only this ISO week, e.g. 2026-W48.")
@click.option("--waiting", is_flag=True, help="Only notices waiting for approval.")
@format_option
@with_db
def notice_list(ctx: Context, week: str | None, waiting: bool, fmt: str) -> None:
    """List notices, newest first.

    \b
    Example:
      paperbridge notice list --week 2026-W48 --format json
    """
    try:
        found = notices.list_notices(ctx.db(), week=week)
    except ValueError as exc:
        raise fail(exc) from None
    rows = [{"id": n["id"], "week": n["week"], "title": notices.title_for(n, n["primary_language"]),
             "audience": "school" if n["whole_school"] else n["classes"],
             "languages": sorted(n["texts"]), "replies": [o["key"] for o in n["reply_options"]],
             "due": n["due_date"], "private": bool(n["private"]), "state": n["state"],
             "publish_at": n["requested_publish_at"] if n["approval"] in notices.HELD else n["publish_at"]}
            for n in found if not waiting or n["approval"] == "waiting"]
    emit(rows, ["id", "week", "title", "audience", "languages", "replies", "due", "private", "state", "publish_at"],
         fmt)


def _approver(db, username: str) -> dict:
    row = db.execute("SELECT username, role FROM users WHERE username = ? AND active = 1", [username]).fetchone()
    if row is None:
        raise click.ClickException(f"no active staff account {username!r}")
    return {"username": row[0], "role": row[1]}


@notice_group.command("approve")
@click.argument("notice_id", type=int)
@click.option("--by", "username", required=True, help="The office or admin account approving it.")
@with_db
def notice_approve(ctx: Context, notice_id: int, username: str) -> None:
    """Approve a teacher's notice: it is published at the time asked for (now, if that has passed).

    \b
    Example:
      paperbridge notice list --waiting
      paperbridge notice approve 12 --by office
    """
    db = ctx.db()
    user = _approver(db, username)
    try:
        with write_transaction(db):
            notice = approval.approve(db, notice_id, by=user["username"], role=user["role"])
    except (PaperBridgeError, ValueError, PermissionError) as exc:
        raise fail(exc) from None
    click.echo(f"Notice {notice_id} approved; published {notice['publish_at']}.")


@notice_group.command("send-back")
@click.argument("notice_id", type=int)
@click.option("--by", "username", required=True, help="The office or admin account sending it back.")
@click.option("--comment", required=True, help="What the teacher should change.")
@with_db
def notice_send_back(ctx: Context, notice_id: int, username: str, comment: str) -> None:
    """Send a teacher's notice back with a comment; it waits again once edited.

    \b
    Example:
      paperbridge notice send-back 12 --by office --comment "Please add the time of the meeting."
    """
    db = ctx.db()
    user = _approver(db, username)
    try:
        with write_transaction(db):
            approval.send_back(db, notice_id, by=user["username"], role=user["role"], comment=comment)
    except (PaperBridgeError, ValueError, PermissionError) as exc:
        raise fail(exc) from None
    click.echo(f"Notice {notice_id} sent back to {notices.get_notice(db, notice_id)['created_by']}.")


@click.command("status")
@click.option("--notice", "notice_id", required=True, type=int, help="Notice id (see `notice list`).")
@click.option("--class", "class_id", help="Only this class.")
@format_option
@with_db
def status_cmd(ctx: Context, notice_id: int, class_id: str | None, fmt: str) -> None:
    """Combined receipt status of a notice: per family, plus totals by channel.

    \b
    Example:
      paperbridge status --notice 12 --class 3A
    """
    try:
        report = status.notice_report(ctx.db(), notice_id, [class_id] if class_id else None)
    except PaperBridgeError as exc:
        raise fail(exc) from None
    columns = ["code", "classes", "students", "state", "first_at", "channels", "reply"]
    if fmt == "json":
        click.echo(output.to_json(report))
        return
    emit(report["families"], columns, fmt)
    if fmt == "table":
        t = report["totals"]
        click.echo(f"\n{report['notice']['title']}: {t['confirmed']} confirmed, {t['read']} read, "
                   f"{t['unread']} unread of " + plural("%(n)s family", "%(n)s families", t["families"]) + ".")
        click.echo("By channel: " + (", ".join(f"{k} {v}" for k, v in report["by_channel"].items()) or "none yet"))


@click.group("receipts")
def receipts_group() -> None:
    """Read receipts from other platforms.

    \b
    Example:
      paperbridge receipts import wechat-reads.csv
    """


@receipts_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@format_option
@with_db
def receipts_import(ctx: Context, file: Path, fmt: str) -> None:
    """Import a read list (CSV: student id, family code or phone; notice id or title; read time).

    Re-importing the same file records nothing new. Exit status: 0 all matched, 1 some unmatched, 2 none matched.

    \b
    Example:
      paperbridge receipts import wechat-reads.csv
    """
    try:
        report = receipts.import_file(ctx.db(), file)
    except (ValueError, PaperBridgeError) as exc:
        raise fail(exc) from None
    if fmt == "json":
        click.echo(output.to_json({"recorded": report.recorded, "duplicates": report.duplicates,
                                   "unmatched": report.unmatched, "exit_code": report.exit_code}))
    elif fmt == "csv":
        emit([{"unmatched": line} for line in report.unmatched], ["unmatched"], "csv")
    else:
        click.echo(plural("%(n)s receipt recorded", "%(n)s receipts recorded", report.recorded)
                   + f", {report.duplicates} already known, {len(report.unmatched)} unmatched.")
        for line in report.unmatched:
            click.echo(f"  unmatched {line}", err=True)
    sys.exit(report.exit_code)


@click.command("void")
@click.argument("event_id")
@click.option("--reason", required=True, help="Why this receipt is wrong.")
@click.option("--by", "actor", required=True, help="Who is correcting it.")
@with_db
def void_cmd(ctx: Context, event_id: str, reason: str, actor: str) -> None:
    """Cancel a mistaken receipt (the ledger keeps both, marked).

    \b
    Example:
      paperbridge void 0193a1c2-7d4e-7f00-8a1b-2c3d4e5f6a7b --reason "wrong family" --by office
    """
    try:
        result = ledger.void(ctx.db(), event_id, actor=actor, reason=reason)
    except (ValueError, PaperBridgeError) as exc:
        raise fail(exc) from None
    click.echo("Voided." if result.recorded else "Already voided.")

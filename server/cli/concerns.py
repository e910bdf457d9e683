"""The concerns register: families' questions, objections and call-back requests, and their answers."""

from __future__ import annotations

import click

from server import concerns
from server.cli.base import Context, emit, fail, format_option, with_db
from server.errors import PaperBridgeError
from server.transaction import write_transaction

LIST_COLUMNS = ["id", "received_at", "status", "overdue", "channel", "kind", "code", "family", "classes", "words",
                "assigned_to", "answer"]


@click.group("concern")
def concern_group() -> None:
    """Families' questions, objections and call-back requests from every channel.

    \b
    Example:
      paperbridge concern list --open
      paperbridge concern answer 12 --text "好的，已记下。"
    """


@concern_group.command("list")
@click.option("--open", "only_open", is_flag=True, help="Only entries not answered yet.")
@click.option("--overdue", is_flag=True, help="Only open entries past the response time (concern_response_hours).")
@click.option("--class", "classes", multiple=True, help="Only families with a student in these classes (repeat).")
@format_option
@with_db
def concern_list(ctx: Context, only_open: bool, overdue: bool, classes: tuple[str, ...], fmt: str) -> None:
    """List the register, oldest first; --format csv for a spreadsheet.

    \b
    Example:
      paperbridge concern list --overdue
      paperbridge concern list --format csv > concerns.csv
    """
    rows = concerns.listing(ctx.db(), status="open" if only_open else None, overdue=overdue,
                            class_ids=list(classes) or None)
    if fmt == "table":
        rows = [{**r, "overdue": "OVERDUE" if r["overdue"] else "", "words": _short(r["words"] or r["kind"]),
                 "answer": _short(r["answer"] or ""), "received_at": r["received_at"][:16].replace("T", " ")}
                for r in rows]
        if not rows:
            click.echo("No concerns" + (" overdue." if overdue else " open." if only_open else " yet."))
            return
    emit(rows, LIST_COLUMNS if fmt == "table" else [k for k, _ in concerns.COLUMNS], fmt)


def _short(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


@concern_group.command("answer")
@click.argument("concern_id", type=int)
@click.option("--text", required=True, help="The answer, as the family will hear or read it.")
@click.option("--by", default="office", show_default=True, help="Who answers (a staff username).")
@with_db
def concern_answer(ctx: Context, concern_id: int, text: str, by: str) -> None:
    """Answer an entry; the family hears or reads it on the channel it asked on.

    By text at once (outside quiet hours), on the phone line at its next call, on its family link,
    and on its next bulletin for a slip or the help desk.

    \b
    Example:
      paperbridge concern answer 12 --text "Yes, the trip goes ahead in the rain." --by chen
    """
    from ivr import answers  # start-up speed: the phone line loads only when an answer is texted

    db = ctx.db()
    try:
        with write_transaction(db):
            concern = concerns.answer(db, concern_id, text, by=by)
    except (PaperBridgeError, ValueError) as exc:
        raise fail(exc) from None
    sent = answers.send_texts(db) if concern["channel"] == "text" else 0
    where = {"text": "by text" if sent else "by text after quiet hours", "phone": "at the family's next call",
             "link": "on the family's link"}.get(concern["channel"], "on the family's next bulletin and its link")
    click.echo(f"Concern {concern_id} answered; the family is told {where}.")


@concern_group.command("close")
@click.argument("concern_id", type=int)
@click.option("--note", default="", help="Why (needed when it was never answered, e.g. 'called back').")
@click.option("--by", default="office", show_default=True, help="Who closes it (a staff username).")
@with_db
def concern_close(ctx: Context, concern_id: int, note: str, by: str) -> None:
    """Close an entry: it leaves the open list and takes no more answers.

    \b
    Example:
      paperbridge concern close 12 --note "called back, all clear" --by chen
    """
    db = ctx.db()
    try:
        with write_transaction(db):
            concerns.close(db, concern_id, by=by, note=note)
    except (PaperBridgeError, ValueError) as exc:
        raise fail(exc) from None
    click.echo(f"Concern {concern_id} closed.")

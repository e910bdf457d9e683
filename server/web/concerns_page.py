"""The concerns register page: families' questions and call-back requests, answered and closed,
with CSV/XLSX export and the families' voice messages. Teachers see their classes' families,
the office and admins everyone (overdue entries first)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from ivr import answers
from server import concerns, users
from server.errors import PaperBridgeError
from server.transaction import write_transaction
from server.web import STAFF, labels, login_required, spreadsheet, staff_user
from server.webtools import get_db

bp = Blueprint("concerns_page", __name__)
VIEWS = ("open", "overdue", "answered", "closed", "all")


def _scope() -> list[str] | None:
    return users.class_scope(staff_user())


def _rows(view: str) -> list[dict]:
    db = get_db()
    if view == "overdue":
        return concerns.listing(db, class_ids=_scope(), overdue=True)
    return concerns.listing(db, class_ids=_scope(), status=None if view == "all" else view)


@bp.route("/concerns")
@login_required(*STAFF)
def index():
    view = request.args.get("view", "open")
    if view not in VIEWS:
        abort(404)
    rows = _rows(view)
    rows.sort(key=lambda r: (not r["overdue"], r["received_at"]))
    return render_template("concerns.html", items=rows, view=view, views=VIEWS,
                           hours=concerns.response_hours(get_db()),
                           overdue=concerns.overdue_count(get_db(), _scope()))


@bp.route("/concerns.<fmt>")
@login_required(*STAFF)
def export(fmt: str):
    view = request.args.get("view", "all")
    if view not in VIEWS:
        abort(404)
    rows = labels.localized(concerns.export_rows(_rows(view)), language=labels.language)
    return spreadsheet(rows, concerns.COLUMNS, f"concerns-{view}", fmt)


def _mine(concern_id: int) -> dict:
    try:
        return concerns.get(get_db(), concern_id, _scope())
    except concerns.UnknownConcern:
        abort(404)  # no such entry, or not one of this teacher's families


@bp.route("/concerns/<int:concern_id>/answer", methods=["POST"])
@login_required(*STAFF)
def answer(concern_id: int):
    _mine(concern_id)
    db = get_db()
    try:
        with write_transaction(db):
            concern = concerns.answer(db, concern_id, request.form.get("text", ""), by=staff_user()["username"],
                                      told_via="call" if request.form.get("on_phone") else None)
    except (PaperBridgeError, ValueError) as exc:
        flash(labels.reason(str(exc)), "error")
        return redirect(url_for("concerns_page.index", view=request.args.get("view", "open")))
    if concern["channel"] == "text" and not concern["told_at"]:
        answers.send_texts(db)
    flash(_("Answered. The family hears or reads it: %(where)s.",
            where=labels.told_where(answers.where_told(concern["channel"]), bool(concern["told_at"]))), "ok")
    return redirect(url_for("concerns_page.index", view=request.args.get("view", "open")))


@bp.route("/concerns/<int:concern_id>/close", methods=["POST"])
@login_required(*STAFF)
def close(concern_id: int):
    _mine(concern_id)
    db = get_db()
    try:
        with write_transaction(db):
            concerns.close(db, concern_id, by=staff_user()["username"], note=request.form.get("note", ""))
    except (PaperBridgeError, ValueError) as exc:
        flash(labels.reason(str(exc)), "error")
    else:
        flash(_("Closed."), "ok")
    return redirect(url_for("concerns_page.index", view=request.args.get("view", "open")))


@bp.route("/concerns/<int:concern_id>/message.mp3")
@login_required(*STAFF)
def message(concern_id: int):
    path = concerns.message_path(get_db(), _mine(concern_id)["recording"])
    if path is None:
        abort(404)
    return send_file(path, mimetype="audio/mpeg", max_age=0)

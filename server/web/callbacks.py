"""Call-back requests ("please call me" on the slip, 9 on the phone): a to-do list with a done action."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from server import followups, users
from server.web import STAFF, login_required, staff_user
from server.webtools import get_db

bp = Blueprint("callbacks", __name__)


@bp.route("/callbacks")
@login_required(*STAFF)
def index():
    items = followups.open_items(get_db(), users.class_scope(staff_user()))
    return render_template("callbacks.html", items=items)


@bp.route("/callbacks/<int:item_id>/done", methods=["POST"])
@login_required(*STAFF)
def done(item_id: int):
    scope = users.class_scope(staff_user())
    if item_id not in {i["id"] for i in followups.open_items(get_db(), scope)}:
        abort(404)  # not open, or not one of this teacher's families
    followups.done(get_db(), item_id, actor=staff_user()["username"], note=request.form.get("note", ""))
    flash(_("Marked as called back."), "ok")
    return redirect(url_for("callbacks.index"))

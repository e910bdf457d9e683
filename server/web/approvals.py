"""Approval before sending: the office's queue of teachers' notices, approve or send back."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from server import approval
from server.transaction import write_transaction
from server.web import labels, login_required, staff_user, visible_notice
from server.webtools import get_db

bp = Blueprint("approvals", __name__)
log = logging.getLogger("paperbridge.web")


@bp.route("/approvals")
@login_required(*approval.APPROVERS)
def index():
    return render_template("approvals.html", waiting=approval.queue(get_db()))


@bp.route("/notices/<int:notice_id>/approve", methods=["POST"])
@login_required(*approval.APPROVERS)
def approve(notice_id: int):
    visible_notice(notice_id)
    return _decide(notice_id, lambda db, user: approval.approve(db, notice_id, by=user["username"], role=user["role"]),
                   _("Approved. It is published at the time the teacher chose (now, if that has passed)."))


@bp.route("/notices/<int:notice_id>/send-back", methods=["POST"])
@login_required(*approval.APPROVERS)
def send_back(notice_id: int):
    visible_notice(notice_id)
    comment = request.form.get("comment", "")
    return _decide(notice_id, lambda db, user: approval.send_back(db, notice_id, by=user["username"],
                                                                  role=user["role"], comment=comment),
                   _("Sent back to the teacher with your comment."))


def _decide(notice_id: int, act, done: str):
    db, user = get_db(), staff_user()
    try:
        with write_transaction(db):
            act(db, user)
    except (ValueError, PermissionError) as exc:
        flash(labels.reason(str(exc)), "error")
    else:
        log.info("notice %s: %s by %s", notice_id, request.endpoint, user["username"])
        flash(done, "ok")
    return redirect(request.form.get("back") == "queue" and url_for("approvals.index")
                    or url_for("dashboard.notice", notice_id=notice_id))

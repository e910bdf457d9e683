"""The admin's page for staff: add accounts, disable and enable them, set a new password or role,
and make or revoke integration tokens. The same rules as `paperbridge user` and `integration`."""

from __future__ import annotations

import logging
import sqlite3

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from server import users
from server.web import labels, login_required, staff_user
from server.webtools import get_db

bp = Blueprint("staff", __name__)
log = logging.getLogger("paperbridge.web")


@bp.route("/staff", methods=["GET", "POST"])
@login_required("admin")
def index():
    db = get_db()
    if request.method == "POST":
        form = request.form
        _try(lambda: users.add_user(db, form.get("username", ""), form.get("password", ""), form.get("role", ""),
                                    display_name=form.get("display_name", ""), classes=_classes()),
             _("Account %(name)s created.", name=form.get("username", "")), "add user %s", form.get("username", ""))
        return redirect(url_for("staff.index"))
    classes = [r[0] for r in db.execute("SELECT id FROM classes ORDER BY id").fetchall()]
    return render_template("staff.html", people=users.list_users(db), integrations=users.list_integrations(db),
                           roles=users.ROLES, classes=classes)


@bp.route("/staff/<int:user_id>", methods=["POST"])
@login_required("admin")
def change(user_id: int):
    db, me, form = get_db(), staff_user()["id"], request.form
    row = db.execute("SELECT username FROM users WHERE id = ?", [user_id]).fetchone()
    if row is None:
        flash(_("There is no such account."), "error")
        return redirect(url_for("staff.index"))
    name, action = row[0], form.get("action")
    actions = {
        "disable": (lambda: users.set_active(db, name, False, by=me), _("%(name)s is disabled and signed out.", name=name)),
        "enable": (lambda: users.set_active(db, name, True, by=me), _("%(name)s can sign in again.", name=name)),
        "password": (lambda: users.reset_password(db, name, form.get("password", "")),
                     _("%(name)s has a new password and is signed out everywhere.", name=name)),
        "role": (lambda: users.set_role(db, name, form.get("role", ""), _classes(), by=me),
                 _("%(name)s has a new role and is signed out everywhere.", name=name)),
    }
    if action not in actions:
        flash(_("Unknown action."), "error")
    else:
        _try(actions[action][0], actions[action][1], f"{action} %s", name)
    return redirect(url_for("staff.index"))


@bp.route("/staff/integrations", methods=["POST"])
@login_required("admin")
def add_integration():
    name = request.form.get("name", "").strip()
    try:
        token = users.add_integration(get_db(), name)
    except ValueError as exc:
        flash(labels.reason(str(exc)), "error")
    except sqlite3.IntegrityError:
        flash(_("An integration called %(name)s already exists.", name=name), "error")
    else:
        log.info("integration %s added by %s", name, staff_user()["username"])
        flash(_("Token for %(name)s (shown only now; copy it into the platform): %(token)s", name=name, token=token),
              "ok")
    return redirect(url_for("staff.index"))


@bp.route("/staff/integrations/<name>/revoke", methods=["POST"])
@login_required("admin")
def revoke_integration(name: str):
    _try(lambda: users.revoke_integration(get_db(), name), _("The %(name)s token no longer works.", name=name),
         "revoke integration %s", name)
    return redirect(url_for("staff.index"))


def _classes() -> list[str]:
    return [c for c in request.form.getlist("classes") if c]


def _try(change, done: str, what: str, name: str) -> None:
    try:
        change()
    except ValueError as exc:
        flash(labels.reason(str(exc)), "error")
        return
    log.info(f"staff: {what} by %s", name, staff_user()["username"])
    flash(done, "ok")

"""Signing in and out, and switching the interface language."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from server import ratelimit, users, webtools
from server.web import current_user, start_session
from server.webtools import choose_language, fresh_session, get_db, local_path

bp = Blueprint("auth", __name__)
log = logging.getLogger("paperbridge.web")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        guard, address = webtools.limiter(ratelimit.LOGIN), webtools.client_address()
        wait = guard.hit(address)  # taken before the password is checked, given back when it was right
        if wait:
            minutes = ratelimit.minutes(wait)
            flash(ngettext("Too many sign-in attempts from this computer. Try again in %(n)s minute.",
                           "Too many sign-in attempts from this computer. Try again in %(n)s minutes.",
                           minutes, n=minutes), "error")
            return render_template("login.html"), 429, {"Retry-After": str(wait)}
        user = users.authenticate(get_db(), request.form.get("username", ""), request.form.get("password", ""))
        if user is None:
            log.warning("sign-in failed for %r from %s", request.form.get("username", "")[:40], address)
            flash(_("Wrong user name or password, or the account is locked for 15 minutes after 5 tries."), "error")
            return render_template("login.html"), 401
        guard.give_back(address)
        log.info("sign-in: %s (%s) from %s", user["username"], user["role"], address)
        start_session(user)
        return redirect(local_path(request.args.get("next"), url_for("dashboard.index")))
    return render_template("login.html")


@bp.route("/logout", methods=["POST"])
def logout():
    user = current_user()
    if user is not None:
        users.end_sessions(get_db(), user["id"])  # a copy of this cookie opens nothing either
        log.info("sign-out: %s", user["username"])
    fresh_session()
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str):
    return choose_language(code, url_for("dashboard.index"))

"""The district's web pages (its own accounts, server/district/accounts.py): the district-wide
notices; for one, each school's share confirmed, by channel and over time, the schools behind;
school -> grade -> class counts; the table as CSV or XLSX. A school viewer sees its own school
only. Same look and languages as the school's pages."""

from __future__ import annotations

import datetime as dt
import functools
import logging

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from server import charts, clock, exports, ledger, ratelimit, webtools
from server.district import accounts, report, schools
from server.district import ledger as district_ledger
from server.district import notices as district_notices
from server.web import labels
from server.webtools import local_path

bp = Blueprint("district_pages", __name__, url_prefix="/district")
log = logging.getLogger("paperbridge.district")
BEHIND = dt.timedelta(hours=24)  # a school that has not pushed for this long is behind
TEXT_LANGUAGE = {"zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant", "en": "en"}


def _pool():
    return current_app.extensions["district_pool"]


def current_user() -> dict | None:
    """The signed-in district account while its session is good (disabling it or signing out ends it)."""
    if "district_user" not in g:
        user = None
        if session.get("district_user"):
            with _pool().connection() as conn:
                user = accounts.get_user(conn, session["district_user"])
            if user is not None and session.get("v") != user["session_version"]:
                user = None
        g.district_user = user
    return g.district_user


def signed_in(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_user() is None:
            return redirect(url_for("district_pages.login", next=request.full_path))
        return view(*args, **kwargs)
    return wrapped


def _allowed(school_id: int) -> bool:
    user = current_user()
    return user is not None and (user["role"] == "admin" or user["school_id"] == school_id)


@bp.app_context_processor
def _helpers():
    return {"district_user": current_user, "channel_name": labels.channel, "CHANNELS": ledger.CHANNELS}


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        guard, address = webtools.limiter(ratelimit.LOGIN), webtools.client_address()
        wait = guard.hit(address)
        if wait:
            flash(_("Too many sign-in attempts from this computer. Try again in %(n)s minutes.",
                    n=ratelimit.minutes(wait)), "error")
            return render_template("login.html", base="district/base.html"), 429, {"Retry-After": str(wait)}
        with _pool().connection() as conn:
            user = accounts.authenticate(conn, request.form.get("username", ""), request.form.get("password", ""))
        if user is None:
            log.warning("district sign-in failed for %r from %s", request.form.get("username", "")[:40], address)
            flash(_("Wrong user name or password, or the account is locked for 15 minutes after 5 tries."), "error")
            return render_template("login.html", base="district/base.html"), 401
        guard.give_back(address)
        webtools.fresh_session(district_user=user["id"], v=user["session_version"])
        return redirect(local_path(request.args.get("next"), url_for("district_pages.index")))
    return render_template("login.html", base="district/base.html")


@bp.route("/logout", methods=["POST"])
def logout():
    user = current_user()
    if user is not None:
        with _pool().connection() as conn:
            accounts.end_sessions(conn, user["id"])
    webtools.fresh_session()
    return redirect(url_for("district_pages.login"))


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str):
    return webtools.choose_language(code, url_for("district_pages.index"))


@bp.route("/")
@signed_in
def index():
    with _pool().connection() as conn:
        found = district_notices.after(conn)
        health = _school_health(conn)
    return render_template("district/index.html", notices=[_titled(n) for n in reversed(found)], schools=health)


@bp.route("/notices/<int:notice_id>")
@signed_in
def notice(notice_id: int):
    with _pool().connection() as conn:
        found, rows = _notice_rows(conn, notice_id)
        counting = district_ledger.queued(conn)
    return render_template("district/notice.html", notice=_titled(found), rows=rows, totals=_totals(rows),
                           behind=_behind_ids(rows), counting=counting)


@bp.route("/notices/<int:notice_id>/schools/<int:school_id>")
@signed_in
def school(notice_id: int, school_id: int):
    if not _allowed(school_id):
        abort(403)
    grade = request.args.get("grade") or None
    with _pool().connection() as conn:
        found = _get_notice(conn, notice_id)
        whole = report.school_rows(conn, notice_id, school_id)
        if not whole:
            abort(404)
        parts = report.drill(conn, notice_id, school_id, grade)
        totals = whole[0] if grade is None else next(  # each family once, whatever its classes
            (row for row in report.drill(conn, notice_id, school_id) if row["name"] == grade), None)
        counting = district_ledger.queued(conn)
    if totals is None:
        abort(404)
    totals = _shares(totals)
    return render_template("district/school.html", notice=_titled(found), school_id=school_id,
                           school=whole[0]["school"], grade=grade, parts=[_shares(p) for p in parts], totals=totals,
                           counting=counting)


@bp.route("/notices/<int:notice_id>/export.<fmt>")
@signed_in
def export(notice_id: int, fmt: str):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    with _pool().connection() as conn:
        found, rows = _notice_rows(conn, notice_id)
    columns = [("school", _("School")), ("published", _("Published")), ("families", _("Families")),
               ("confirmed", _("Confirmed")), ("share", _("Share confirmed (%)")), ("read", _("Read only")),
               ("unread", _("Not read")), *((c, labels.channel(c)) for c in ledger.CHANNELS),
               ("events_received", _("Events received")), ("last_push_at", _("Last push (UTC)"))]
    name = f"district-notice-{notice_id}"
    if fmt == "csv":
        return Response(exports.csv_bytes(rows, columns), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    body = exports.xlsx_bytes(rows, columns, _titled(found)["title"][:31])
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


@bp.route("/notices/<int:notice_id>/chart/<kind>.svg")
@signed_in
def chart(notice_id: int, kind: str):
    user = current_user()
    assert user is not None
    with _pool().connection() as conn:
        _found, rows = _notice_rows(conn, notice_id)
        if kind == "channels":
            totals = _totals(rows)
            svg = charts.channels_bar({c: totals[c] for c in ledger.CHANNELS}, totals["unread"],
                                      {**{c: labels.channel(c) for c in ledger.CHANNELS}, "unread": _("not read yet")},
                                      _("Families by the channels they read it on"))
        elif kind == "days":
            days = report.over_time(conn, notice_id, user["school_id"])
            svg = charts.share_by_day([d["day"] for d in days],
                                      [round(100 * d["confirmed"] / max(d["families"], 1), 1) for d in days],
                                      _("Share of families confirmed, day by day"), _("% confirmed"))
        else:
            abort(404)
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "private, max-age=60"})


def _get_notice(conn, notice_id: int) -> dict:
    try:
        return district_notices.get(conn, notice_id)
    except LookupError:
        abort(404)


def _notice_rows(conn, notice_id: int) -> tuple[dict, list[dict]]:
    """The notice and its per-school rows the signed-in account may see."""
    found = _get_notice(conn, notice_id)
    user = current_user()
    only = None if user is None or user["role"] == "admin" else user["school_id"]
    rows = [_shares(r) for r in report.school_rows(conn, notice_id, only) if _allowed(r["school_id"])]
    return found, rows


def _shares(row: dict) -> dict:
    return {**row, "share": round(100 * row["confirmed"] / row["families"], 1) if row["families"] else 0.0}


def _totals(rows: list[dict]) -> dict:
    keys = ("families", *report.STATES, *ledger.CHANNELS)
    totals = {k: sum(r[k] for r in rows) for k in keys}
    return _shares(totals)


def _behind_ids(rows: list[dict]) -> set[int]:
    cutoff = clock.now() - BEHIND
    return {r["school_id"] for r in rows if not r["last_push_at"] or clock.parse(r["last_push_at"]) < cutoff}


def _school_health(conn) -> list[dict]:
    """Each school the account may see: when it last pushed, and whether it is behind."""
    cutoff = clock.now() - BEHIND
    out = []
    for row in schools.list_schools(conn):
        if not _allowed(row["id"]):
            continue
        last = row["last_push_at"]
        out.append({**row, "behind": row["revoked_at"] is None and (not last or clock.parse(last) < cutoff)})
    return out


def _titled(notice: dict) -> dict:
    """The notice with its title in the page's language (else its first language)."""
    language = TEXT_LANGUAGE.get(str(get_locale()), "en")
    return {**notice, "title": district_notices.title(notice, language)}

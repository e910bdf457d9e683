"""Reading-time insight pages: school -> grade -> class -> family, with charts, PDF and Excel.

Aggregates of the school and a grade are open to all staff; a class's page (its families by
name) only to its teachers and the office."""

from __future__ import annotations

import base64
import datetime as dt

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _

from print.insight_pdf import pdf_bytes
from server import charts, clock, exports, insight, settings, users
from server.web import STAFF, labels, login_required, spreadsheet, staff_user
from server.webtools import get_db

bp = Blueprint("insight_page", __name__)


def _weekdays() -> list[str]:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


def _scope(level: str, key: str) -> tuple[list[str] | None, str]:
    """The classes of this page and its heading; 404 for what does not exist or is not yours."""
    db = get_db()
    mine = users.class_scope(staff_user())
    if level == "school" and not key:
        return None, _("Whole school")
    if level == "grade" and insight.grade_classes(db, key):
        return insight.grade_classes(db, key), _("Grade %(grade)s", grade=key)
    if level == "class" and key in insight.all_classes(db) and (mine is None or key in mine):
        return [key], _("Class %(name)s", name=key)
    abort(404)


def _weeks() -> int:
    weeks = request.args.get("weeks", insight.WEEKS, type=int)
    return weeks if 1 <= weeks <= 52 else insight.WEEKS


@bp.route("/insight", defaults={"level": "school", "key": ""})
@bp.route("/insight/<level>/<key>")
@login_required(*STAFF)
def page(level: str, key: str):
    classes, heading = _scope(level, key)
    db, weeks = get_db(), _weeks()
    report = insight.report(db, classes, weeks=weeks, name=heading)
    child = {"school": "grade", "grade": "class", "class": None}[level]
    rows = insight.rollup(db, level, key, weeks=weeks, classes=users.class_scope(staff_user()), report_of=report)
    zone = settings.zone(db)
    recent = [clock.iso_week(clock.now() - dt.timedelta(days=7 * i), zone) for i in range(4)] if level == "class" else []
    return render_template("insight.html", report=report, rows=rows, level=level, key=key, child=child,
                           heading=heading, weeks=weeks, recent=recent, grade=insight.grade_of(key) if key else "",
                           mine=users.class_scope(staff_user()), charts=_charts(report, rows, level))


def _charts(report: dict, rows: list[dict], level: str) -> dict[str, str]:
    """The page's charts as data: URIs (an SVG in <img> runs nothing), drawn from the one report."""
    names = {code: labels.channel(code) for code in charts.CHANNEL_COLOURS}
    drawn = {"heat": charts.reading_heat(report["heat"]["read"], _weekdays(), _("When families first read (local time)")),
             "channels": charts.channel_medians(report["channels"], names, _("Median hours to confirm, by channel"))}
    if level != "class":
        drawn["compare"] = charts.class_comparison(rows, (_("within 24 hours"), _("within 72 hours")),
                                                   _("Share confirmed"))
    return {name: "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode() for name, svg in drawn.items()}


@bp.route("/insight.<fmt>", defaults={"level": "school", "key": ""})
@bp.route("/insight/<level>/<key>.<fmt>")
@login_required(*STAFF)
def export(level: str, key: str, fmt: str):
    classes, heading = _scope(level, key)
    db, weeks = get_db(), _weeks()
    report = insight.report(db, classes, weeks=weeks, name=heading)
    rows = insight.rollup(db, level, key, weeks=weeks, classes=users.class_scope(staff_user()), report_of=report)
    name = f"reading-times-{level}{'-' + key if key else ''}"
    if fmt == "pdf":
        data = pdf_bytes(report, rows, settings.get(db, "school_name"), _weekdays(), labels.channel)
        return Response(data, mimetype="application/pdf", headers={"Content-Disposition": f"attachment; filename={name}.pdf"})
    if fmt == "xlsx":
        return Response(exports.xlsx_sheets(insight.sheets(report, rows, _weekdays(), labels.channel)),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f"attachment; filename={name}.xlsx"})
    return spreadsheet(rows, insight.COLUMNS, name, fmt)


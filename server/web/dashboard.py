"""Staff pages: notices with their combined receipt status, new notices, families."""

from __future__ import annotations

import datetime as dt
import tempfile
from io import BytesIO
from pathlib import Path

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _

from ivr import chase
from print.bulletin import print_bulletins
from print.report_pdf import pdf_bytes
from print.retention import apply_rules
from server import (
    charts,
    clock,
    concerns,
    delivery,
    exports,
    ledger,
    links,
    notice_versions,
    notices,
    retention,
    roster,
    settings,
    status,
    users,
)
from server import reports as class_reports
from server import unreached as finder
from server.errors import PaperBridgeError
from server.languages import LANGUAGES, TEXT_LANGUAGES
from server.web import STAFF, labels, login_required, notice_audio, spreadsheet, staff_user, visible_notice
from server.webtools import get_db

bp = Blueprint("dashboard", __name__)
PAGE_SIZE = 100  # families per page on the notice view


def _scope() -> list[str] | None:
    return users.class_scope(staff_user())


WEEKS_PER_PAGE = 4  # the notice list shows a month at a time; a school year is ~40 weeks


@bp.route("/")
@login_required(*STAFF)
def index():
    db = get_db()
    listed = notices.list_notices(db, class_ids=_scope())
    weeks = sorted({n["week"] for n in listed}, reverse=True)
    page = max(request.args.get("page", 0, type=int), 0)
    shown = set(weeks[page * WEEKS_PER_PAGE:(page + 1) * WEEKS_PER_PAGE])
    rows = [{"notice": notice, "title": notices.title_for(notice, _ui_language()),
             "totals": status.notice_totals(db, notice, _scope())} for notice in listed if notice["week"] in shown]
    return render_template("notices.html", rows=rows, page=page,
                           older=len(weeks) > (page + 1) * WEEKS_PER_PAGE)


@bp.route("/notices/<int:notice_id>")
@login_required(*STAFF)
def notice(notice_id: int):
    notice = visible_notice(notice_id)
    show = request.args.get("show", "all") if request.args.get("show") in ("all", "open", "done") else "all"
    page = max(request.args.get("page", 0, type=int), 0)
    report = status.notice_report(get_db(), notice_id, _scope(), show=show, page=page, size=PAGE_SIZE)
    families = report["families"]
    pages = max((report["matching"] - 1) // PAGE_SIZE + 1, 1)
    title, body, _lang = notices.text_for(notice, _ui_language())
    reply_labels = {o["key"]: notices.reply_label(notice, o["key"], _ui_language()) for o in notice["reply_options"]}
    chase_rows = _unconfirmed(get_db(), notice, report) if show == "open" else []  # this page's families
    return render_template("notice.html", notice=notice, title=title, body=body, report=report,
                           families=families, show=show, reply_labels=reply_labels, chase_rows=chase_rows, page=page, pages=pages,
                           page_links=_page_links(page, pages), failed_states=delivery.FAILED,
                           published=notices.is_published(notice), versions=notice_versions.history(get_db(), notice_id),
                           may_change=_may_change(notice), languages=TEXT_LANGUAGES,
                           read_aloud=notice_audio.rows(get_db(), notice))


def _may_change(notice: dict) -> bool:
    """Office and admin change any notice; a teacher the notices of their own classes only."""
    scope = _scope()
    return scope is None or (not notice["whole_school"] and set(notice["classes"]) <= set(scope))


def _page_links(page: int, pages: int, around: int = 4) -> list[int | None]:
    """Page numbers to link: the first, the last and a few around the current one (None: a gap)."""
    wanted = sorted({0, pages - 1, *range(max(page - around, 0), min(page + around + 1, pages))})
    links: list[int | None] = []
    for number in wanted:
        if links and number - links[-1] > 1:
            links.append(None)
        links.append(number)
    return links


def _unconfirmed(db, notice: dict, report: dict | None = None) -> list[dict]:
    """The notice view's chase list: families not done, with phone (staff only) and reminders so far."""
    report = report or status.notice_report(db, notice["id"], _scope())
    tries = chase.attempts(db, notice["id"])
    phones_by_family: dict[int, list[str]] = {}
    for row in db.query("SELECT family_id, phone FROM guardians WHERE active = 1 AND phone IS NOT NULL"):
        phones_by_family.setdefault(row["family_id"], []).append(row["phone"])
    asked = concerns.open_count_by_family(db)
    open_families = [f for f in report["families"] if not f["done"]]
    if asked:  # families who confirmed but asked for a call stay on the list until someone calls
        open_families += status.notice_report(db, notice["id"], _scope(), show="done", only=set(asked))["families"]
    details = delivery.detail(db, notice, [f["family_id"] for f in open_families])
    rows = []
    for family in open_families:
        attempt = tries.get(family["family_id"], {})
        detail = details[family["family_id"]]
        rows.append({**family, "phone": phones_by_family.get(family["family_id"], []),
                     "call_back": asked.get(family["family_id"], 0),
                     "attempts": attempt.get("count", 0), "delivery": detail,
                     "failures": labels.failures(detail)})
    return rows


@bp.route("/notices/<int:notice_id>/unread.<fmt>")
@login_required(*STAFF)
def unread_export(notice_id: int, fmt: str):
    notice = visible_notice(notice_id)
    rows = _unconfirmed(get_db(), notice)
    name = f"unread-notice-{notice_id}"
    if request.args.get("failed"):
        rows, name = [r for r in rows if r["failures"]], f"failed-notice-{notice_id}"
    rows = labels.localized(rows, state=labels.state, preferred_channel=labels.channel, language=labels.language)
    return spreadsheet(rows, exports.UNREAD_COLUMNS, name, fmt)


@bp.route("/notices/<int:notice_id>/<chart>.svg")
@login_required(*STAFF)
def chart(notice_id: int, chart: str):
    notice = visible_notice(notice_id)
    report = status.notice_report(get_db(), notice_id, _scope(), page=0, size=0)  # counts only
    names = {code: labels.channel(code) for code in charts.CHANNEL_COLOURS} | {"unread": _("not reached yet")}
    if chart == "channels":
        svg = charts.channels_bar(report["by_channel"], report["totals"]["unread"], names,
                                  _("Families by the channel they first read it on"))
    elif chart == "curve":
        svg = charts.confirmation_curve(notice["publish_at"], report["confirmed_times"], report["totals"]["families"],
                                        _("Families confirmed, first 72 hours"), _("hours after publishing"),
                                        _("% of families confirmed"))
    else:
        abort(404)
    response = Response(svg, mimetype="image/svg+xml")
    # Shown through <img>, where an SVG cannot run scripts; its own inline styles are allowed.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@bp.route("/notices/<int:notice_id>/chase", methods=["POST"])
@login_required(*STAFF)
def chase_families(notice_id: int):
    notice = visible_notice(notice_id)
    if request.form.get("action") not in chase.ACTIONS:
        abort(400)
    if not notices.is_published(notice):
        flash(_("This notice is not published yet: nothing can be sent or recorded before %(when)s.",
                when=notice["publish_at"]), "error")
        return redirect(url_for("dashboard.notice", notice_id=notice_id, show="open"))
    allowed = {f["family_id"] for f in _unconfirmed(get_db(), notice)}
    chosen = [int(f) for f in request.form.getlist("family") if f.isdigit() and int(f) in allowed]
    if not chosen:
        flash(_("Tick at least one family first."), "error")
        return redirect(url_for("dashboard.notice", notice_id=notice_id, show="open"))
    result = chase.chase(get_db(), notice, chosen, request.form.get("action", ""), staff_user()["username"],
                         request.form.get("note", ""))
    done = ngettext("Done for %(n)s family.", "Done for %(n)s families.", len(result.done), n=len(result.done))
    skipped = "; ".join(f"{code}: {labels.reason(why)}" for code, why in result.skipped)
    flash(done + (" " + skipped if skipped else ""), "ok" if not result.skipped else "error")
    return redirect(url_for("dashboard.notice", notice_id=notice_id, show="open"))


@bp.route("/reports")
@login_required(*STAFF)
def reports():
    db = get_db()
    classes = [r[0] for r in db.execute("SELECT id FROM classes ORDER BY id").fetchall()]
    scope = _scope()
    if scope is not None:
        classes = [c for c in classes if c in scope]
    now, zone = clock.now(), settings.zone(db)
    weeks = [clock.iso_week(now - dt.timedelta(days=7 * i), zone) for i in range(4)]
    return render_template("reports.html", classes=classes, weeks=weeks)


@bp.route("/reports/class/<class_id>/<week>.<fmt>")
@login_required(*STAFF)
def class_report(class_id: str, week: str, fmt: str):
    scope = _scope()
    if (scope is not None and class_id not in scope) or not get_db().execute(
            "SELECT 1 FROM classes WHERE id = ?", [class_id]).fetchone():
        abort(404)
    try:
        report = class_reports.class_week(get_db(), class_id, week)
    except ValueError:
        abort(404)
    name = f"{class_id}-{report['week']}"
    if fmt == "html":
        return render_template("class_report.html", report=report)
    rows, columns = class_reports.flat_rows(report, labels.state, labels.channel)
    if fmt in ("csv", "xlsx"):
        return spreadsheet(rows, columns, name, fmt)
    if fmt == "pdf":
        return Response(pdf_bytes(report, settings.get(get_db(), "school_name")), mimetype="application/pdf",
                        headers={"Content-Disposition": f"attachment; filename={name}.pdf"})
    abort(404)


@bp.route("/unreached")
@login_required(*STAFF)
def unreached():
    rows = finder.families(get_db(), _scope())
    return render_template("unreached.html", unreached=[r for r in rows if r["kind"] == "unreached"],
                           read_only=[r for r in rows if r["kind"] == "read_only"],
                           threshold=finder.THRESHOLD_HOURS, weeks=finder.WEEKS)


@bp.route("/unreached.<fmt>")
@login_required(*STAFF)
def unreached_export(fmt: str):
    """The hard-to-reach list for a spreadsheet, with phones and the suggested next step."""
    rows = labels.localized(finder.export_rows(finder.families(get_db(), _scope())), kind=labels.reach,
                            suggestion=labels.suggestion, preferred_channel=labels.channel, language=labels.language)
    return spreadsheet(rows, exports.UNREACHED_COLUMNS, "hard-to-reach", fmt)


EDITABLE = ("followup_delay_hours", "urgent_delay_hours", "max_attempts", "quiet_hours", "office_hours", "office_phone", "phone_line",
            "school_name", "school_name_en", "default_region", "default_language", "session_hours",
            "concern_response_hours", "approval_required", "whole_school_senders", "keep_slip_images_days",
            "keep_recordings_days", "keep_ledger_years")


@bp.route("/settings", methods=["GET", "POST"])
@login_required("admin", "office")
def school_settings():
    """Follow-up rules and school details, validated as on the command line."""
    db = get_db()
    if request.method == "POST":
        try:
            for name in EDITABLE:
                if name in request.form:
                    settings.put(db, name, request.form[name])
        except ValueError as exc:
            flash(labels.reason(str(exc)), "error")
        else:
            flash(_("Settings saved."), "ok")
        return redirect(url_for("dashboard.school_settings"))
    rows = [{"name": s.name, "help": s.help, "value": settings.get(db, s.name)} for s in settings.SETTINGS
            if s.name in EDITABLE]
    return render_template("settings.html", rows=rows, removed=retention.log_entries(db, 10))


@bp.route("/settings/retention", methods=["POST"])
@login_required("admin", "office")
def apply_retention():
    """The school's retention rules now: a dry run says what would go, then apply."""
    dry = request.form.get("action") != "apply"
    result = apply_rules(get_db(), dry_run=dry, actor=staff_user()["username"])
    flash((_("Would remove:") if dry else _("Removed:")) + " " + _(
        "%(images)s slip images, %(messages)s voice messages; %(families)s families that left anonymised.",
        images=result["slip_images"]["deleted"], messages=result["voice_messages"]["files"],
        families=result["families_anonymised"]["families"]), "ok")
    return redirect(url_for("dashboard.school_settings"))


@bp.route("/families")
@login_required(*STAFF)
def families():
    scope = _scope()
    rows = roster.list_families(get_db())
    if scope is not None:
        rows = [f for f in rows if any(s["class_id"] in scope for s in f["students"])]
    query = request.args.get("q", "").strip()
    if query:
        rows = [f for f in rows if query == f["code"] or any(query in s["name"] for s in f["students"])
                or query in f["display_name"]]
    return render_template("families.html", families=rows, query=query, languages=LANGUAGES)


@bp.route("/families/<int:family_id>")
@login_required(*STAFF)
def family(family_id: int):
    db = get_db()
    found = [f for f in roster.list_families(db, include_inactive=True) if f["id"] == family_id]
    scope = _scope()
    if not found or (scope is not None and not any(s["class_id"] in scope and s["active"] for s in found[0]["students"])):
        abort(404)
    fam = found[0]
    class_ids = sorted({s["class_id"] for s in fam["students"] if s["active"]})
    statuses = ledger.family_status(db, family_id)
    rows = []
    for notice in notices.list_notices(db, class_ids=class_ids):
        state = statuses.get(notice["id"], ledger.Status())
        rows.append({"notice": notice, "title": notices.title_for(notice, _ui_language()), "status": state,
                     "reply_label": notices.reply_label(notice, state.reply, _ui_language()) if state.reply else ""})
    events = list(ledger.events_for(db, family_id=family_id))
    voided = {e.voids for e in events if e.voids}
    link = links.url(db, family_id) if staff_user()["role"] in ("admin", "office") else None
    phones = [g["phone"] for g in fam["guardians"] if g["phone"]]
    prefs = {r["phone"]: r for r in db.query(
        f"SELECT * FROM phone_prefs WHERE phone IN ({','.join('?' * len(phones)) or 'NULL'})", phones)}
    return render_template("family.html", family=fam, rows=rows, events=events, voided=voided, link=link,
                           prefs=prefs, languages=LANGUAGES)


@bp.route("/families/<int:family_id>/bulletin.pdf")
@login_required("admin", "office")
def reprint(family_id: int):
    """A fresh bulletin for one family (new slip serial), for the office to print and hand over."""


    db = get_db()
    rows = list(db.query("SELECT * FROM families WHERE id = ?", [family_id]))
    if not rows:
        abort(404)
    family = rows[0]
    week = request.args.get("week") or clock.iso_week(clock.now(), settings.zone(db))
    with tempfile.TemporaryDirectory() as folder:
        try:
            out = print_bulletins(db, week, out=Path(folder) / "bulletin.pdf", family_code=family["code"]).out
        except (PaperBridgeError, ValueError) as exc:
            flash(labels.reason(str(exc)), "error")
            return redirect(url_for("dashboard.family", family_id=family_id))
        data = out.read_bytes()
    return send_file(BytesIO(data), mimetype="application/pdf", as_attachment=True,
                     download_name=f"bulletin-{family['code']}-{week}.pdf")


def _ui_language() -> str:
    return {"zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant"}.get(str(get_locale()), "en")

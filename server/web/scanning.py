"""Scanning in the browser: upload scans, see batches, and work the review queue."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.utils import secure_filename

from print import evidence, review
from print.scan import scan_paths
from server import clock, notices, settings, users
from server.errors import BadCode, PaperBridgeError
from server.web import STAFF, login_required, staff_user
from server.webtools import get_db

bp = Blueprint("scanning", __name__)
OFFICE = ("admin", "office")
MAX_UPLOAD_FILES = 50


@bp.route("/scans", methods=["GET", "POST"])
@login_required(*OFFICE)
def scans():
    db = get_db()
    if request.method == "POST":
        files = [f for f in request.files.getlist("scans") if f.filename][:MAX_UPLOAD_FILES]
        if not files:
            flash(_("Choose one or more scanned files first."), "error")
            return redirect(url_for("scanning.scans"))
        with tempfile.TemporaryDirectory() as folder:
            paths = []
            for upload in files:
                path = Path(folder) / (secure_filename(upload.filename or "") or "scan")
                upload.save(path)
                paths.append(path)
            report = scan_paths(db, paths, origin=f"web:{staff_user()['username']}")
        return redirect(url_for("scanning.batch", batch_id=report.batch_id))
    batches = list(db.query("SELECT * FROM scan_batches ORDER BY started_at DESC LIMIT 50"))
    waiting = db.execute("SELECT count(*) FROM review_items WHERE status = 'open'").fetchone()[0]
    return render_template("scans.html", batches=batches, waiting=waiting)


@bp.route("/scans/<batch_id>")
@login_required(*OFFICE)
def batch(batch_id: str):
    db = get_db()
    rows = list(db.query("SELECT * FROM scan_batches WHERE id = ?", [batch_id]))
    if not rows:
        abort(404)
    pages = list(db.query("SELECT p.*, f.code, f.display_name FROM scan_pages p LEFT JOIN families f"
                          " ON f.id = p.family_id WHERE batch_id = ? ORDER BY p.id", [batch_id]))
    for page in pages:
        page["file"] = Path(page["file"]).name
    return render_template("scan_batch.html", batch=rows[0], pages=pages)


@bp.route("/review")
@login_required(*OFFICE)
def queue():
    items = review.open_items(get_db())
    for item in items:
        item["file"] = Path(item["file"]).name
    return render_template("review_list.html", items=items)


@bp.route("/review/<int:item_id>", methods=["GET", "POST"])
@login_required(*OFFICE)
def item(item_id: int):
    db = get_db()
    found = review.get_item(db, item_id)
    if found is None:
        abort(404)
    typed = request.values.get("family_code", "")
    week = request.values.get("week") or _slip_week(db, found) or clock.iso_week(clock.now(), settings.zone(db))
    family, problem = _family(db, found, typed)
    if request.method == "POST" and found["status"] == "open":
        try:
            return _act(db, found, family, problem)
        except (PaperBridgeError, ValueError) as exc:
            flash(str(exc), "error")
    rows = review.candidate_notices(db, found, family["id"] if family else None, week)
    language = "zh-Hans"
    return render_template("review_item.html", item=found, family=family, problem=problem, typed=typed, week=week,
                           notices=[{"notice": n, "title": notices.title_for(n, language),
                                     "options": [(o["key"], notices.reply_label(n, o["key"], language))
                                                 for o in n["reply_options"]]} for n in rows],
                           marks=found["marks"], file=Path(found["file"]).name)


def _slip_week(db, item: dict) -> str | None:
    if item["slip_serial"]:
        row = db.execute("SELECT week FROM slips WHERE id = ?", [item["slip_serial"]]).fetchone()
        return row[0] if row else None
    return None


def _family(db, item: dict, typed: str):
    if typed.strip():
        try:
            return review.family_for_code(db, typed), ""
        except BadCode as exc:
            return None, str(exc)
    if item["family_id"]:
        return db.table("families").get(item["family_id"]), ""
    return None, ""


def _act(db, item: dict, family: dict | None, problem: str):
    actor = staff_user()["username"]
    if request.form.get("action") == "discard":
        review.discard(db, item["id"], actor=actor)
        flash(_("Discarded: nothing was recorded."), "ok")
        return redirect(url_for("scanning.queue"))
    if family is None:
        raise ValueError(problem or _("Type the family code printed on the slip."))
    marks = {}
    for key in request.form:
        if key.startswith("notice_"):
            notice_id = int(key.removeprefix("notice_"))
            marks[notice_id] = {"read": request.form.get(f"read_{notice_id}") == "on",
                                "reply": request.form.get(f"reply_{notice_id}") or None}
    if not marks:
        raise ValueError(_("There is no notice to record for this family and week."))
    recorded = review.resolve(db, item["id"], family_id=family["id"], marks=marks,
                              call_me=request.form.get("call_me") == "on", actor=actor)
    flash(ngettext("Recorded %(n)s receipt for family %(code)s.", "Recorded %(n)s receipts for family %(code)s.",
                   recorded, n=recorded, code=family["code"]), "ok")
    return redirect(url_for("scanning.queue"))


@bp.route("/evidence/<name>")
@login_required(*STAFF)
def evidence_file(name: str):
    db = get_db()
    if not evidence.is_evidence_name(name):
        abort(404)
    scope = users.class_scope(staff_user())
    if scope is not None and not _teacher_may_see(db, name, scope):
        abort(404)
    path = evidence.path_for(db, name)
    if path is None:
        return _("This image was deleted under the retention rule; the receipt itself is kept."), 410
    return send_file(path, mimetype="image/webp" if name.endswith(".webp") else "image/jpeg", max_age=3600)


def _teacher_may_see(db, name: str, scope: list[str]) -> bool:
    """Teachers see slip crops of their own classes' families, and never review page images."""
    families = {r[0] for r in db.execute("SELECT family_id FROM scan_pages WHERE evidence = ?", [name]).fetchall()}
    if not families:
        return False
    marks = ",".join("?" * len(scope))
    allowed = {r[0] for r in db.execute(
        f"SELECT DISTINCT family_id FROM students WHERE active = 1 AND class_id IN ({marks})", scope).fetchall()}
    return bool(families & allowed)

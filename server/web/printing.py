"""Printing in the browser: the week's bulletins for some classes or the whole school, laid out
in the background with a progress bar, then downloaded; and "handed out" recorded afterwards.

A job lives in this process (the office's server is one process) and its PDF in the private
uploads folder; a job's page refreshes itself until the PDF is ready."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from print.bulletin import mark_sent, print_bulletins, printed_weeks
from server import clock, roster, settings
from server import db as database
from server.errors import PaperBridgeError
from server.web import login_required, staff_user
from server.webtools import get_db

bp = Blueprint("printing", __name__)
log = logging.getLogger("paperbridge.web")
OFFICE = ("admin", "office")
KEEP_JOBS = 20  # finished PDFs kept for download; older ones are removed


@dataclass
class Job:
    id: str
    owner: str
    week: str
    classes: list[str] | None
    total: int
    out: Path
    done: int = 0
    state: str = "running"  # running, done, failed
    message: str = ""
    summary: dict = field(default_factory=dict)


_jobs: dict[str, Job] = {}
_lock = threading.Lock()


@bp.route("/print", methods=["GET", "POST"])
@login_required(*OFFICE)
def index():
    db = get_db()
    if request.method == "POST":
        return _start(db)
    zone = settings.zone(db)
    now = clock.now()
    weeks = [clock.iso_week(now + dt.timedelta(days=7 * i), zone) for i in (-1, 0, 1)]
    classes = [r[0] for r in db.execute("SELECT DISTINCT class_id FROM students WHERE active = 1 ORDER BY class_id")]
    return render_template("print.html", weeks=weeks, this_week=weeks[1], classes=classes,
                           printed=printed_weeks(db), jobs=_recent_jobs())


def _start(db):
    form = request.form
    week, whole = form.get("week", ""), form.get("scope") == "school"
    classes = None if whole else [c for c in form.getlist("classes") if c]
    if not whole and not classes:
        flash(_("Choose one or more classes, or the whole school."), "error")
        return redirect(url_for("printing.index"))
    try:
        clock.parse_week(week)
    except ValueError:
        flash(_("Choose a week such as 2026-W48."), "error")
        return redirect(url_for("printing.index"))
    total = len(roster.families_in_classes(db, classes))
    out = database.upload_dir(db) / f"print-{secrets.token_hex(16)}.pdf"
    job = Job(id=secrets.token_hex(8), owner=staff_user()["username"], week=week, classes=classes, total=total, out=out)
    with _lock:
        _jobs[job.id] = job
        for old in list(_jobs.values())[:-KEEP_JOBS]:
            if old.state != "running":
                old.out.unlink(missing_ok=True)
                del _jobs[old.id]
    options = {"paper": form.get("paper", "a4"), "large_print": form.get("large_print") == "on"}
    threading.Thread(target=_run, args=(job, current_app.config["DATABASE"], options), daemon=True,
                     name=f"print-{job.id}").start()
    log.info("printing %s for %s started by %s", week, classes or "the whole school", job.owner)
    return redirect(url_for("printing.job", job_id=job.id))


def _run(job: Job, path: str, options: dict) -> None:
    db = database.connect(path, migrate=False)
    try:
        summary = print_bulletins(db, job.week, out=job.out, classes=job.classes, progress=lambda: _advance(job),
                                  **options)
        job.summary = {"families": summary.families, "pages": summary.pages, "slips": summary.slips,
                       "without_notices": summary.without_notices}
        job.state = "done"
    except (PaperBridgeError, ValueError) as exc:
        job.state, job.message = "failed", str(exc)
    except Exception:  # noqa: BLE001 - the page must say it failed; the log has the detail
        log.exception("printing %s failed", job.week)
        job.state = "failed"  # no message: the page says it in the reader's language
    finally:
        db.close()


def _advance(job: Job) -> None:
    job.done += 1


def _recent_jobs() -> list[Job]:
    with _lock:
        return list(_jobs.values())[-5:][::-1]


def _job_or_404(job_id: str) -> Job:
    job = _jobs.get(job_id)
    if job is None:
        abort(404)
    return job


@bp.route("/print/jobs/<job_id>")
@login_required(*OFFICE)
def job(job_id: str):
    return render_template("print_job.html", job=_job_or_404(job_id))


@bp.route("/print/jobs/<job_id>.pdf")
@login_required(*OFFICE)
def job_pdf(job_id: str):
    job = _job_or_404(job_id)
    if job.state != "done" or not job.out.exists():
        abort(404)
    scope = "-".join(job.classes) if job.classes else "school"
    return send_file(BytesIO(job.out.read_bytes()), mimetype="application/pdf", as_attachment=True,
                     download_name=f"bulletins-{scope}-{job.week}.pdf")


@bp.route("/print/handed-out", methods=["POST"])
@login_required(*OFFICE)
def handed_out():
    week = request.form.get("week", "")
    classes = [c for c in request.form.getlist("classes") if c] or None
    try:
        result = mark_sent(get_db(), week, classes, actor=staff_user()["username"])
    except (PaperBridgeError, ValueError) as exc:
        flash(str(exc), "error")
    else:
        flash(ngettext("%(n)s notice recorded as handed out on paper", "%(n)s notices recorded as handed out on paper",
                       result.recorded, n=result.recorded)
              + (" " + _("(%(n)s already were)", n=result.duplicates) if result.duplicates else "") + ".", "ok")
    return redirect(url_for("printing.index"))

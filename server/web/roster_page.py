"""The roster in the browser: upload a file, see what it would change, then apply it.

The upload is kept in a private folder beside the database under a random name; the preview
is a dry run of the same import the command line runs, and "Apply" imports that same file
with the same choice of "whole school". Nothing is written before "Apply"."""

from __future__ import annotations

import logging
import re
import secrets
import time
from pathlib import Path

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from print import text_runs
from server import roster
from server.db import upload_dir
from server.errors import PaperBridgeError
from server.web import login_required, staff_user
from server.webtools import get_db

bp = Blueprint("roster_page", __name__)
log = logging.getLogger("paperbridge.web")
SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".zip")
KEEP_SECONDS = 24 * 3600  # an upload nobody applied is removed a day later
_STAGED = re.compile(r"^roster-[0-9a-f]{32}\.(csv|txt|tsv|xlsx|zip)$")


@bp.route("/roster", methods=["GET"])
@login_required("admin", "office")
def index():
    return render_template("roster.html", report=None)


@bp.route("/roster/preview", methods=["POST"])
@login_required("admin", "office")
def preview():
    upload = request.files.get("roster")
    suffix = Path(upload.filename or "").suffix.lower() if upload else ""
    if not upload or not upload.filename:
        flash(_("Choose the roster file first."), "error")
        return redirect(url_for("roster_page.index"))
    if suffix not in SUFFIXES:
        flash(_("A roster is an Excel file (.xlsx), a CSV or text file, or a OneRoster zip; %(name)s is none of"
                " these.", name=upload.filename), "error")
        return redirect(url_for("roster_page.index"))
    folder = upload_dir(get_db())
    _clear_old(folder)
    staged = folder / f"roster-{secrets.token_hex(16)}{suffix}"
    upload.save(staged)
    return _run(staged, original=upload.filename, full=request.form.get("full") == "on", dry_run=True)


@bp.route("/roster/apply", methods=["POST"])
@login_required("admin", "office")
def apply():
    name = request.form.get("staged", "")
    staged = upload_dir(get_db()) / name
    if not _STAGED.match(name) or not staged.is_file():
        flash(_("That upload is gone (it is kept for a day). Upload the file again."), "error")
        return redirect(url_for("roster_page.index"))
    response = _run(staged, original=request.form.get("original", name), full=request.form.get("full") == "1",
                    dry_run=False)
    staged.unlink(missing_ok=True)
    return response


def _run(staged: Path, *, original: str, full: bool, dry_run: bool):
    sheet = request.form.get("sheet", "").strip() or None
    try:
        report = roster.import_roster(get_db(), staged, full=full, dry_run=dry_run, sheet=sheet,
                                      unprintable=text_runs.name_check())
    except PaperBridgeError as exc:
        staged.unlink(missing_ok=True)
        flash(str(exc).replace(staged.name, original), "error")  # the office knows the file by its own name
        return render_template("roster.html", report=None), 400
    report.source = original
    if not dry_run:
        log.info("roster %s imported by %s: %s new, %s updated, %s left", original, staff_user()["username"],
                 report.students_added, report.students_updated, report.students_deactivated)
        flash(ngettext("The roster is applied: %(n)s student imported.", "The roster is applied: %(n)s students"
                       " imported.", report.imported_rows, n=report.imported_rows), "ok")
    return render_template("roster.html", report=report, staged=staged.name if dry_run else None, full=full,
                           sheet=sheet or "")


def _clear_old(folder: Path) -> None:
    for old in folder.glob("roster-*"):
        if old.stat().st_mtime < time.time() - KEEP_SECONDS:
            old.unlink(missing_ok=True)

"""The office's changes from a family's page: consent to automated calls per number (with who
gave it and how), voiding a receipt recorded by mistake (the trail stays in the ledger), and
everything the school holds on the family, for a parent who asks (PDF + JSON)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _

from print.family_record import pdf_bytes
from server import family_record, ledger, output
from server.consent import set_consent
from server.errors import UnknownEvent, UnknownFamily
from server.web import login_required, staff_user
from server.webtools import get_db

bp = Blueprint("family_admin", __name__)
log = logging.getLogger("paperbridge.web")
OFFICE = ("admin", "office")


@bp.route("/families/<int:family_id>/record.<fmt>")
@login_required(*OFFICE)
def record(family_id: int, fmt: str):
    """The family's own record (`paperbridge family export`), as a readable PDF or as JSON."""
    row = get_db().execute("SELECT code FROM families WHERE id = ?", [family_id]).fetchone()
    if row is None or fmt not in ("pdf", "json"):
        abort(404)
    try:
        data = family_record.gather(get_db(), row[0])
    except UnknownFamily:
        abort(404)
    log.info("family %s: its record exported (%s) by %s", row[0], fmt, staff_user()["username"])
    body = pdf_bytes(data) if fmt == "pdf" else output.to_json(data).encode()
    return Response(body, mimetype="application/pdf" if fmt == "pdf" else "application/json",
                    headers={"Content-Disposition": f"attachment; filename={row[0]}-record.{fmt}"})


@bp.route("/families/<int:family_id>/consent", methods=["POST"])
@login_required(*OFFICE)
def consent(family_id: int):
    db, form = get_db(), request.form
    phone = form.get("phone", "")
    if not db.execute("SELECT 1 FROM guardians WHERE family_id = ? AND phone = ? AND active = 1",
                      [family_id, phone]).fetchone():
        abort(404)  # only this family's own numbers
    given = form.get("consent") == "1"
    try:
        set_consent(db, phone, given, form.get("note", ""))
    except ValueError:
        flash(_("Say who gave consent and how, e.g. \u201cgrandmother, by phone, 20 Nov\u201d."), "error")
    else:
        log.info("call consent %s for a number of family %s by %s", "given" if given else "withdrawn", family_id,
                 staff_user()["username"])
        flash(_("Consent to calls recorded.") if given else _("Consent to calls withdrawn: this number is no"
                                                              " longer called automatically."), "ok")
    return redirect(url_for("dashboard.family", family_id=family_id))


@bp.route("/families/<int:family_id>/events/<event_id>/void", methods=["POST"])
@login_required(*OFFICE)
def void(family_id: int, event_id: str):
    db = get_db()
    if not db.execute("SELECT 1 FROM events WHERE id = ? AND family_id = ?", [event_id, family_id]).fetchone():
        abort(404)
    try:
        ledger.void(db, event_id, actor=staff_user()["username"], reason=request.form.get("reason", ""))
    except (ValueError, UnknownEvent):
        flash(_("Say why this receipt is a mistake; the reason stays on record."), "error")
    else:
        log.info("event %s of family %s voided by %s", event_id, family_id, staff_user()["username"])
        flash(_("The receipt is cancelled. It stays in the record, marked as cancelled."), "ok")
    return redirect(url_for("dashboard.family", family_id=family_id))

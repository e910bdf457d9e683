"""Writing and changing notices: new, edit before publication, correct or withdraw after.

A published notice is never changed in place (server.notice_versions); families who had read
it are told on their channel (ivr.followup.tell_readers)."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from ivr.followup import tell_readers
from server import approval, clock, notice_versions, notices, settings, users
from server.languages import TEXT_LANGUAGES
from server.web import STAFF, changeable_notice, labels, login_required, staff_user
from server.webtools import get_db

bp = Blueprint("notice_forms", __name__)
log = logging.getLogger("paperbridge.web")


@bp.route("/notices/new", methods=["GET", "POST"])
@login_required(*STAFF)
def new_notice():
    if request.method == "POST":
        try:
            held = approval.required(get_db(), staff_user()["role"])
            notice_id = notices.add_notice(get_db(), **_notice_form(_scope()), created_by=staff_user()["username"],
                                           held=held)
        except ValueError as exc:
            flash(labels.reason(str(exc)), "error")
            return _form_page(request.form, None), 400
        flash(_("Notice saved. It waits for the office to approve it.") if held else _("Notice saved."), "ok")
        return redirect(url_for("dashboard.notice", notice_id=notice_id))
    return _form_page(MultiDict({"requires_confirmation": "on"}), None)


@bp.route("/notices/<int:notice_id>/edit", methods=["GET", "POST"])
@login_required(*STAFF)
def edit(notice_id: int):
    notice = changeable_notice(notice_id)
    if notices.is_published(notice):
        flash(_("This notice is published: correct it or withdraw it, so families who read it are told."), "error")
        return redirect(url_for("dashboard.notice", notice_id=notice_id))
    if request.method == "POST":
        try:
            notice_versions.edit_notice(get_db(), notice_id, **_notice_form(_scope()),
                                        held=approval.required(get_db(), staff_user()["role"]))
        except ValueError as exc:
            flash(labels.reason(str(exc)), "error")
            return _form_page(request.form, notice), 400
        held = notices.get_notice(get_db(), notice_id)["approval"] in notices.HELD
        flash(_("Notice saved. It waits for the office to approve it.") if held else _("Notice saved."), "ok")
        return redirect(url_for("dashboard.notice", notice_id=notice_id))
    return _form_page(_as_form(notice), notice)


@bp.route("/notices/<int:notice_id>/correct", methods=["POST"])
@login_required(*STAFF)
def correct(notice_id: int):
    changeable_notice(notice_id)
    texts = _texts(request.form)
    return _replace(notice_id, lambda: notice_versions.correct_notice(
        get_db(), notice_id, texts=texts, reason=request.form.get("reason", ""), created_by=staff_user()["username"]),
        _("The corrected notice is published."))


@bp.route("/notices/<int:notice_id>/withdraw", methods=["POST"])
@login_required(*STAFF)
def withdraw(notice_id: int):
    changeable_notice(notice_id)
    return _replace(notice_id, lambda: notice_versions.withdraw_notice(
        get_db(), notice_id, reason=request.form.get("reason", ""), created_by=staff_user()["username"]),
        _("The notice is withdrawn; families are told."))


def _replace(notice_id: int, make, done: str):
    db = get_db()
    try:
        new_id = make()
    except ValueError as exc:
        flash(labels.reason(str(exc)), "error")
        return redirect(url_for("dashboard.notice", notice_id=notice_id))
    told = tell_readers(db, notice_id, notices.get_notice(db, new_id))
    log.info("notice %s replaced by %s (%s) by %s", notice_id, new_id, request.endpoint, staff_user()["username"])
    flash(done + " " + _("Families who had read it: %(sms)s told by text, %(voice)s by phone call, %(other)s see it"
                         " where they read (app, bulletin, help desk).", sms=told["sms"], voice=told["voice"],
                         other=told["elsewhere"]), "ok")
    return redirect(url_for("dashboard.notice", notice_id=new_id))


def _scope() -> list[str] | None:
    return users.class_scope(staff_user())


def _form_page(form, notice: dict | None):
    db = get_db()
    scope = _scope()
    classes = [r[0] for r in db.execute("SELECT id FROM classes ORDER BY id").fetchall()]
    if scope is not None:
        classes = [c for c in classes if c in scope]
    choices = [(key, f"{labels['zh-Hans']} / {labels['en']}") for key, labels in notices.REPLY_VOCABULARY.items()]
    for option in (notice or {}).get("reply_options", []):
        if option["key"] not in notices.REPLY_VOCABULARY:
            label = option["labels"].get("zh-Hans") or next(iter(option["labels"].values()))
            choices.append((f"{option['key']}:{label}", label))
    return render_template("notice_new.html", classes=classes, form=form, chosen=form.getlist("classes"),
                           replies=form.getlist("reply"), languages=TEXT_LANGUAGES, choices=choices, notice=notice)


def _as_form(notice: dict) -> MultiDict:
    """The notice's values as the form sends them back."""
    values: list[tuple[str, str]] = []
    for lang, text in notice["texts"].items():
        values += [(f"title_{lang}", text["title"]), (f"body_{lang}", text["body"])]
    values.append(("audience", "school" if notice["whole_school"] else "classes"))
    values += [("classes", c) for c in notice["classes"]]
    for option in notice["reply_options"]:
        custom = option["key"] not in notices.REPLY_VOCABULARY
        label = option["labels"].get("zh-Hans") or next(iter(option["labels"].values()))
        values.append(("reply", f"{option['key']}:{label}" if custom else option["key"]))
    for flag in ("requires_confirmation", "urgent", "private"):
        if notice[flag]:
            values.append((flag, "on"))
    asked = notice["requested_publish_at"] if notice["approval"] in notices.HELD else notice["publish_at"]
    local = clock.parse(asked).astimezone(settings.zone(get_db()))
    values += [("due_date", notice["due_date"] or ""), ("publish_at", local.strftime("%Y-%m-%dT%H:%M"))]
    return MultiDict(values)


def _texts(form) -> dict[str, tuple[str, str]]:
    return {lang: (form.get(f"title_{lang}", ""), form.get(f"body_{lang}", ""))
            for lang in TEXT_LANGUAGES if form.get(f"title_{lang}", "").strip() or form.get(f"body_{lang}", "").strip()}


def _notice_form(scope: list[str] | None) -> dict:
    form = request.form
    whole_school = form.get("audience") == "school"
    if whole_school and scope is not None and settings.get(get_db(), "whole_school_senders") != "staff":
        raise ValueError(_("Teachers send notices to their own classes."))
    chosen = form.getlist("classes")
    if scope is not None and set(chosen) - set(scope):
        raise ValueError(_("Teachers send notices to their own classes."))
    return {
        "texts": _texts(form), "classes": None if whole_school else chosen,
        "requires_confirmation": form.get("requires_confirmation") == "on",
        "reply_options": form.getlist("reply"), "due_date": form.get("due_date") or None,
        "private": form.get("private") == "on", "publish_at": form.get("publish_at") or None,
        "urgent": form.get("urgent") == "on",
    }

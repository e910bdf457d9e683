"""A notice read aloud, on the notice page: hear each spoken language's clip, record the notice in
your own voice (the browser's microphone, or a file a phone saved), or go back to the offline voice.

Whoever may change the notice may record it (office, admin, the teacher of its classes)."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _

from server import speech
from server.errors import BadRecording, NoSpeech
from server.web import STAFF, changeable_notice, labels, login_required, staff_user, visible_notice
from server.webtools import get_db

bp = Blueprint("notice_audio", __name__)
log = logging.getLogger("paperbridge.web")
MAX_UPLOAD = 20 * 1024 * 1024  # five minutes of any phone's recording fits well within this
FAMILY_LANGUAGE = {"cmn": "zh-Hans", "yue": "yue-Hant", "en": "en"}  # whose clip each spoken language is


def rows(db, notice: dict) -> list[dict]:
    """One row per spoken language families may hear this notice in: its name, and the recording."""
    kept = speech.recordings(db, notice["id"])
    voices = {speech.spoken(notice, language)[1] for language in speech.FAMILY_LANGUAGES} if notice["texts"] else set()
    return [{"voice": v, "name": speech.SPOKEN[v], "lang": FAMILY_LANGUAGE[v], "recording": kept.get(v)}
            for v in speech.VOICES if v in voices]


@bp.route("/notices/<int:notice_id>/audio/<voice>.ogg")
@login_required(*STAFF)
def clip(notice_id: int, voice: str):
    """What families of that spoken language hear (rendered now if it was not yet)."""
    notice = visible_notice(notice_id)
    if voice not in speech.VOICES:
        abort(404)
    try:
        found = speech.clip_for(get_db(), notice, FAMILY_LANGUAGE[voice])
    except NoSpeech as exc:
        log.warning("read aloud: %s", exc)
        found = None
    if found is None or found.voice != voice:
        abort(404)
    return send_file(found.path, mimetype="audio/ogg", max_age=0, etag=found.sha)


@bp.route("/notices/<int:notice_id>/audio/<voice>", methods=["POST"])
@login_required(*STAFF)
def record(notice_id: int, voice: str):
    notice = changeable_notice(notice_id)
    upload = request.files.get("recording")
    if voice not in speech.VOICES:
        abort(404)
    try:
        if upload is None or not upload.filename:
            raise BadRecording("choose a recording first (or record one with the microphone)")
        speech.save_recording(get_db(), notice, voice, upload.read(MAX_UPLOAD + 1)[:MAX_UPLOAD],
                              actor=staff_user()["username"])
    except (BadRecording, NoSpeech) as exc:
        flash(labels.reason(str(exc)), "error")
        return redirect(url_for("dashboard.notice", notice_id=notice_id) + "#read-aloud"), 303
    log.info("notice %s: %s recorded it in %s", notice_id, staff_user()["username"], voice)
    flash(_("Your recording is saved: families hear it at the help desk, on their link and on the phone line."), "ok")
    return redirect(url_for("dashboard.notice", notice_id=notice_id) + "#read-aloud"), 303


@bp.route("/notices/<int:notice_id>/audio/<voice>/delete", methods=["POST"])
@login_required(*STAFF)
def delete(notice_id: int, voice: str):
    changeable_notice(notice_id)
    if speech.delete_recording(get_db(), notice_id, voice):
        flash(_("The recording is no longer used; the offline voice reads the notice again."), "ok")
    return redirect(url_for("dashboard.notice", notice_id=notice_id) + "#read-aloud"), 303

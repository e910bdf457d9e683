"""Who may do what: every role against every route of the school server, as one table.

A role presents its own credential: a staff session, the family's own link, a kiosk
device token (live or revoked), or Twilio's signature. A route added to the app
without a row here fails ``test_every_route_is_in_the_matrix``.
"""

import json

import pytest

from ivr.simulator import Phone
from print import evidence
from server import clock, concerns, devices, links, settings
from server.db import messages_dir, upload_dir
from server.web import printing
from tests.builders import make_notice
from tests.conftest import csrf_token

ROLES = ("anonymous", "family", "volunteer", "teacher_other", "teacher", "office", "admin", "device", "revoked",
         "twilio")
LOGINS = {"volunteer": ("vol", "246813"), "teacher_other": ("t3b", "teacher-pass"), "teacher": ("t3a", "teacher-pass"),
          "office": ("office", "office-pass"), "admin": ("admin", "admin-pass")}

IVR_FORM = {"CallSid": "CAmatrix", "From": "+8613800138001", "To": "+1", "Digits": ""}
# (method, route, body) -> expected status per role, in ROLES order.
# 302 from a staff page: sent to sign in. 404: not yours to know about. 403: known but not allowed.
# POSTs send a CSRF token and a harmless body; 400 means "allowed in, but that body is wrong".
#                     anon  fam  vol  t-oth teach office admin dev  revok twilio
MATRIX = {
    ("GET", "/"):                                   (302, 302, 302, 200, 200, 200, 200, 302, 302, 302),
    ("GET", "/api/health"):                         (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/concerns"):                           (302, 302, 302, 200, 200, 200, 200, 302, 302, 302),
    ("GET", "/concerns.xlsx"):                      (302, 302, 302, 200, 200, 200, 200, 302, 302, 302),
    ("GET", "/concerns/{concern}/message.mp3"):     (302, 302, 302, 404, 200, 200, 200, 302, 302, 302),
    ("POST", "/concerns/{concern}/answer"):         (302, 302, 302, 404, 302, 302, 302, 302, 302, 302),
    ("POST", "/concerns/{concern}/close"):          (302, 302, 302, 404, 302, 302, 302, 302, 302, 302),
    ("GET", "/api/openapi.json"):                   (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/receipts"):                      (401, 401, 401, 401, 401, 401, 401, 401, 401, 401),
    ("POST", "/api/sync/enroll"):                   (403, 403, 403, 403, 403, 403, 403, 403, 403, 403),
    ("GET", "/api/sync/pull"):                      (401, 401, 401, 401, 401, 401, 401, 200, 401, 401),
    ("GET", "/api/sync/audio"):                     (401, 401, 401, 401, 401, 401, 401, 200, 401, 401),
    ("GET", "/api/sync/audio/{sha}.ogg"):           (401, 401, 401, 401, 401, 401, 401, 404, 401, 401),
    ("GET", "/ivr/audio/{sha}.mp3"):                (404, 404, 404, 404, 404, 404, 404, 404, 404, 405),  # twilio: only POSTs here
    ("POST", "/api/sync/push"):                     (401, 401, 401, 401, 401, 401, 401, 200, 401, 401),
    ("GET", "/evidence/{evidence}"):                (302, 302, 302, 404, 200, 200, 200, 302, 302, 302),
    ("GET", "/f/{token}"):                          (404, 200, 404, 404, 404, 404, 404, 404, 404, 404),
    ("GET", "/f/{token}/n/{notice}"):               (404, 200, 404, 404, 404, 404, 404, 404, 404, 404),
    ("POST", "/f/{token}/n/{notice}"):              (404, 302, 404, 404, 404, 404, 404, 404, 404, 404),
    ("POST", "/f/{token}/question"):                (404, 302, 404, 404, 404, 404, 404, 404, 404, 404),
    ("GET", "/f/{token}/n/{notice}/audio.ogg"):     (404, 200, 404, 404, 404, 404, 404, 404, 404, 404),
    ("GET", "/families"):                           (302, 302, 302, 200, 200, 200, 200, 302, 302, 302),
    ("GET", "/families/{family}"):                  (302, 302, 302, 404, 200, 200, 200, 302, 302, 302),
    ("POST", "/families/{family}/consent"):         (302, 302, 302, 403, 403, 302, 302, 302, 302, 302),
    ("POST", "/families/{family}/events/nope/void"): (302, 302, 302, 403, 403, 404, 404, 302, 302, 302),
    ("GET", "/families/{family}/bulletin.pdf"):     (302, 302, 302, 403, 403, 200, 200, 302, 302, 302),
    ("POST", "/ivr/sms"):                           (403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    ("POST", "/ivr/sms/status"):                    (403, 403, 403, 403, 403, 403, 403, 403, 403, 204),
    ("POST", "/ivr/status"):                        (403, 403, 403, 403, 403, 403, 403, 403, 403, 204),
    ("POST", "/ivr/voice"):                         (403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    ("POST", "/ivr/voice/all"):                     (403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    ("POST", "/ivr/voice/code"):                    (403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    ("POST", "/ivr/voice/dialled"):                 (403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    ("POST", "/ivr/voice/end"):                     (403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    ("POST", "/ivr/voice/message"):                 (403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    ("POST", "/ivr/voice/key"):                     (403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    ("POST", "/ivr/voice/language"):                (403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    ("POST", "/ivr/voice/next"):                    (403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    ("POST", "/ivr/voice/outbound"):                (403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    ("POST", "/ivr/voice/pin"):                     (403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    ("POST", "/lang/en"):                           (302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    ("GET", "/login"):                              (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/login"):                             (401, 401, 401, 401, 401, 401, 401, 401, 401, 401),
    ("POST", "/logout"):                            (302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    ("GET", "/notices/{notice}"):                   (302, 302, 302, 404, 200, 200, 200, 302, 302, 302),
    ("GET", "/notices/{notice}/channels.svg"):      (302, 302, 302, 404, 200, 200, 200, 302, 302, 302),
    ("GET", "/notices/{notice}/audio/cmn.ogg"):     (302, 302, 302, 404, 200, 200, 200, 302, 302, 302),
    ("POST", "/notices/{notice}/audio/cmn"):        (302, 302, 302, 404, 303, 303, 303, 302, 302, 302),
    ("POST", "/notices/{notice}/audio/cmn/delete"): (302, 302, 302, 404, 303, 303, 303, 302, 302, 302),
    ("GET", "/notices/{notice}/edit"):              (302, 302, 302, 404, 302, 302, 302, 302, 302, 302),
    ("POST", "/notices/{notice}/edit"):             (302, 302, 302, 404, 302, 302, 302, 302, 302, 302),
    ("POST", "/notices/{notice}/correct"):          (302, 302, 302, 404, 302, 302, 302, 302, 302, 302),
    ("POST", "/notices/{notice}/withdraw"):         (302, 302, 302, 404, 302, 302, 302, 302, 302, 302),
    ("POST", "/notices/{notice}/chase"):            (302, 302, 302, 404, 302, 302, 302, 302, 302, 302),
    ("GET", "/notices/{notice}/unread.csv"):        (302, 302, 302, 404, 200, 200, 200, 302, 302, 302),
    ("GET", "/insight"):                            (302, 302, 302, 200, 200, 200, 200, 302, 302, 302),
    ("GET", "/insight/class/3A"):                   (302, 302, 302, 404, 200, 200, 200, 302, 302, 302),
    ("GET", "/insight/grade/3"):                    (302, 302, 302, 200, 200, 200, 200, 302, 302, 302),
    ("GET", "/insight.pdf"):                        (302, 302, 302, 200, 200, 200, 200, 302, 302, 302),
    ("GET", "/insight/class/3A.xlsx"):              (302, 302, 302, 404, 200, 200, 200, 302, 302, 302),
    ("GET", "/families/{family}/record.pdf"):       (302, 302, 302, 403, 403, 200, 200, 302, 302, 302),
    ("GET", "/families/{family}/record.json"):      (302, 302, 302, 403, 403, 200, 200, 302, 302, 302),
    ("GET", "/approvals"):                          (302, 302, 302, 403, 403, 200, 200, 302, 302, 302),
    ("POST", "/notices/{notice}/approve"):          (302, 302, 302, 403, 403, 302, 302, 302, 302, 302),
    ("POST", "/notices/{notice}/send-back"):        (302, 302, 302, 403, 403, 302, 302, 302, 302, 302),
    ("GET", "/notices/new"):                        (302, 302, 302, 200, 200, 200, 200, 302, 302, 302),
    ("POST", "/notices/new"):                       (302, 302, 302, 400, 400, 400, 400, 302, 302, 302),
    ("GET", "/print"):                              (302, 302, 302, 403, 403, 200, 200, 302, 302, 302),
    ("POST", "/print"):                             (302, 302, 302, 403, 403, 302, 302, 302, 302, 302),
    ("POST", "/print/handed-out"):                  (302, 302, 302, 403, 403, 302, 302, 302, 302, 302),
    ("GET", "/print/jobs/{job}"):                   (302, 302, 302, 403, 403, 200, 200, 302, 302, 302),
    ("GET", "/print/jobs/{job}.pdf"):               (302, 302, 302, 403, 403, 200, 200, 302, 302, 302),
    ("GET", "/roster"):                             (302, 302, 302, 403, 403, 200, 200, 302, 302, 302),
    ("POST", "/roster/preview"):                    (302, 302, 302, 403, 403, 302, 302, 302, 302, 302),
    ("POST", "/roster/apply"):                      (302, 302, 302, 403, 403, 302, 302, 302, 302, 302),
    ("GET", "/reports"):                            (302, 302, 302, 200, 200, 200, 200, 302, 302, 302),
    ("GET", "/reports/class/3A/{week}.html"):       (302, 302, 302, 404, 200, 200, 200, 302, 302, 302),
    ("GET", "/review"):                             (302, 302, 302, 403, 403, 200, 200, 302, 302, 302),
    ("GET", "/review/{item}"):                      (302, 302, 302, 403, 403, 200, 200, 302, 302, 302),
    ("POST", "/review/{item}"):                     (302, 302, 302, 403, 403, 302, 302, 302, 302, 302),
    ("GET", "/scans"):                              (302, 302, 302, 403, 403, 200, 200, 302, 302, 302),
    ("POST", "/scans"):                             (302, 302, 302, 403, 403, 302, 302, 302, 302, 302),
    ("GET", "/scans/{batch}"):                      (302, 302, 302, 403, 403, 200, 200, 302, 302, 302),
    ("GET", "/settings"):                           (302, 302, 302, 403, 403, 200, 200, 302, 302, 302),
    ("POST", "/settings"):                          (302, 302, 302, 403, 403, 302, 302, 302, 302, 302),
    ("POST", "/settings/retention"):                (302, 302, 302, 403, 403, 302, 302, 302, 302, 302),
    ("GET", "/staff"):                              (302, 302, 302, 403, 403, 403, 200, 302, 302, 302),
    ("POST", "/staff"):                             (302, 302, 302, 403, 403, 403, 302, 302, 302, 302),
    ("POST", "/staff/{user}"):                      (302, 302, 302, 403, 403, 403, 302, 302, 302, 302),
    ("POST", "/staff/integrations"):                (302, 302, 302, 403, 403, 403, 302, 302, 302, 302),
    ("POST", "/staff/integrations/matrix/revoke"):  (302, 302, 302, 403, 403, 403, 302, 302, 302, 302),
    ("GET", "/static/style.css"):                   (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/unreached.csv"):                      (302, 302, 302, 200, 200, 200, 200, 302, 302, 302),
    ("GET", "/unreached"):                          (302, 302, 302, 200, 200, 200, 200, 302, 302, 302),
}
BODIES = {
    "/api/receipts": {"json": {"receipts": []}},
    "/api/sync/enroll": {"json": {"code": "00000000"}},
    "/api/sync/push": {"json": {"events": []}},
    "/f/{token}/n/{notice}": {"data": {"choice": "attend"}},
    "/f/{token}/question": {"data": {"words": "孩子那天发烧不能去"}},
    "/concerns/{concern}/answer": {"data": {"text": "好的，已记下。"}},
    "/notices/{notice}/chase": {"data": {"action": "told", "family": "{family}", "note": "matrix"}},
    "/login": {"data": {"username": "nobody", "password": "wrong"}},
    "/review/{item}": {"data": {"action": "discard"}},
    "/families/{family}/consent": {"data": {"phone": "+8613800138001", "consent": "1", "note": ""}},  # refused: no note
    "/print/handed-out": {"data": {"week": "2020-W01"}},  # nothing printed then: a message
    "/settings": {"data": {"office_hours": "08:00-17:00"}},
    "/staff": {"data": {"username": "", "password": "", "role": "office"}},  # refused with a message
    "/staff/{user}": {"data": {"action": "enable"}},
    "/staff/integrations": {"data": {"name": ""}},
}


@pytest.fixture
def world(app, staff, db, school):
    """One notice for 3A, a family in 3A, a slip image of theirs, a review item, a kiosk and its revoked twin."""
    notice = make_notice(db, classes=["3A"])
    name = evidence.store(db, b"slip image", "webp")
    db["scan_batches"].insert({"id": "batch-1", "origin": "test", "started_at": clock.now_iso()})
    db["scan_pages"].insert({"batch_id": "batch-1", "file": "a.pdf", "page": 1, "outcome": "recorded",
                             "family_id": school["S1"], "evidence": name})
    item = db["review_items"].insert({"fingerprint": "f", "batch_id": "batch-1", "file": "a.pdf", "page": 2,
                                      "reason": "test", "page_image": name, "created_at": clock.now_iso()}).last_pk
    live = devices.enrol(db, devices.new_code(db, "desk"))[1]
    revoked_id, revoked, _ = devices.enrol(db, devices.new_code(db, "old desk"))
    devices.revoke(db, revoked_id)
    message = "0" * 32 + ".mp3"
    (messages_dir(db) / message).write_bytes(b"ID3 matrix")
    concern = concerns.add(db, family_id=school["S1"], notice_id=notice, channel="phone", kind="message",
                           recording_url="https://api.twilio.com/x", source="call:CA1", actor="family", key="matrix")
    db.execute("UPDATE concerns SET recording = ? WHERE id = ?", [message, concern])
    user = db.execute("SELECT id FROM users WHERE username = 'office'").fetchone()[0]
    out = upload_dir(db) / "print-matrix.pdf"
    out.write_bytes(b"%PDF-1.4 matrix")
    printing._jobs["matrixjob"] = printing.Job(id="matrixjob", owner="office", week="2026-W01", classes=["3A"],
                                               total=1, out=out, done=1, state="done",
                                               summary={"families": 1, "pages": 1, "slips": 1, "without_notices": 0})
    return {"sha": "0" * 64, "job": "matrixjob", "user": user, "concern": concern, "notice": notice, "family": school["S1"], "evidence": name, "item": item, "batch": "batch-1",
            "week": clock.iso_week(clock.now(), settings.zone(db)), "live": live, "revoked": revoked,
            "link": links.make_token(db, school["S1"])}


def _client(app, role: str, fresh: bool):
    """One signed-in client per role (signing in is slow); a fresh one where a route ends the session."""
    cache = app.extensions.setdefault("matrix_clients", {})
    if fresh or role not in cache:
        client = app.test_client()
        if role in LOGINS:
            username, password = LOGINS[role]
            client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(client)})
        if fresh:
            return client
        cache[role] = client
    return cache[role]


def _request(app, role: str, method: str, route: str, world: dict):
    values = {**world, "token": world["link"] if role == "family" else "not-a-link"}
    url = route.format(**values)
    if role == "twilio":
        form = json.loads(json.dumps(IVR_FORM))
        if url.startswith("/ivr/"):
            return Phone(app, IVR_FORM["From"], sid=IVR_FORM["CallSid"]).post(url, form).status_code
    fresh = route in ("/logout", "/login")
    if fresh:  # signing out ends every session of the account: the cached client signs in again
        app.extensions.setdefault("matrix_clients", {}).pop(role, None)
    client = _client(app, role, fresh=fresh)
    headers = {"Authorization": f"Bearer {world['live' if role == 'device' else 'revoked']}"} \
        if role in ("device", "revoked") else {}
    if method == "GET":
        reply = client.get(url, headers=headers)
        reply.close()
        return reply.status_code
    body = {k: ({f: v.format(**values) for f, v in b.items()} if isinstance(b, dict) and k == "data" else b)
            for k, b in BODIES.get(route, {}).items()}
    if url.startswith("/ivr/"):
        body = {"data": IVR_FORM}
    if "json" not in body:
        body.setdefault("data", {})["csrf_token"] = csrf_token(client)
    return client.post(url, headers=headers, **body).status_code


@pytest.mark.parametrize("role", ROLES)
def test_the_matrix(app, world, role):
    got = {key: _request(app, role, *key, world) for key in MATRIX}
    expected = {key: codes[ROLES.index(role)] for key, codes in MATRIX.items()}
    assert got == expected


def test_every_route_is_in_the_matrix(app):
    sample = {"token": "t", "notice": 1, "family": 1, "evidence": "e", "item": 1, "batch": "b", "week": "2026-W01",
              "concern": 1, "user": 1, "job": "j", "sha": "0" * 64}
    adapter = app.url_map.bind("localhost")
    covered = {(method, adapter.match(route.format(**sample), method)[0]) for method, route in MATRIX}
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, rule.endpoint) in covered, f"{method} {rule.rule} has no row in MATRIX"


def test_volunteers_and_devices_never_see_phone_numbers(app, world, db):
    client = app.test_client()
    pulled = client.get("/api/sync/pull?cursor=0.0", headers={"Authorization": f"Bearer {world['live']}"})
    assert pulled.status_code == 200 and b"13800138001" not in pulled.data and b"+86" not in pulled.data


def test_security_headers_on_every_kind_of_answer(app, world):
    client = app.test_client()
    for url in ("/login", "/", "/api/health", "/f/nope", "/static/style.css", f"/f/{world['link']}"):
        reply = client.get(url)
        reply.close()
        headers = reply.headers
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], url
        assert headers["Referrer-Policy"] == "no-referrer", url


def test_bad_form_values_are_400_not_500(app, world):
    client = app.test_client()
    client.post("/login", data={"username": "office", "password": "office-pass", "csrf_token": csrf_token(client)})
    reply = client.post(f"/notices/{world['notice']}/chase", data={"action": "shout", "family": world["family"],
                                                                   "csrf_token": csrf_token(client)})
    assert reply.status_code == 400
    signed = Phone(app, IVR_FORM["From"]).post("/ivr/voice/outbound?f=999999", dict(IVR_FORM))
    assert signed.status_code == 200 and b"<Hangup" in signed.data

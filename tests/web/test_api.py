"""POST /api/receipts over real HTTP, through a waitress server on loopback."""

import json
import urllib.error
import urllib.request

import pytest

from server import ledger, users
from tests.builders import days_ago, make_notice


def post(base, body, token=None, raw=None):
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(base + "/api/receipts", data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.fixture
def token(db):
    return users.add_integration(db, "wechat")


def test_receipts_are_recorded_and_replays_are_duplicates(live_server, db, school, token):
    notice_id = make_notice(db, publish_at=days_ago(3))
    body = {"receipts": [{"notice": str(notice_id), "student_id": "S1", "read_at": days_ago(1)},
                         {"notice": notice_id, "phone": "13800138002", "kind": "confirmed"},
                         {"notice": notice_id, "student_id": "S404"}]}
    status, answer = post(live_server, body, token)
    assert status == 200 and (answer["recorded"], answer["duplicates"]) == (2, 0)
    assert "S404" in answer["unmatched"][0]
    status, answer = post(live_server, body, token)
    assert (answer["recorded"], answer["duplicates"]) == (0, 2)
    assert ledger.notice_status(db, notice_id)[school["S2"]].state == "confirmed"


@pytest.mark.parametrize("body, raw, code", [
    (None, b"not json", "bad_request"),
    ({"receipts": "nope"}, None, "bad_request"),
    ({"receipts": [["a"]]}, None, "bad_request"),
    ({"receipts": [{"notice": {"x": 1}, "student_id": "S1"}]}, None, "bad_request"),
])
def test_bad_bodies_get_one_error_shape(live_server, db, school, token, body, raw, code):
    status, answer = post(live_server, body, token, raw)
    assert status == 400 and answer["error"]["code"] == code and answer["error"]["message"]


def test_tokens_are_required_and_revocable(live_server, db, school, token):
    assert post(live_server, {"receipts": []})[0] == 401
    assert post(live_server, {"receipts": []}, "pbi_wrong")[0] == 401
    db.execute("UPDATE integrations SET revoked_at = '2026-11-23T00:00:00Z'")
    status, answer = post(live_server, {"receipts": []}, token)
    assert status == 401 and answer["error"]["code"] == "unauthorized"


def test_oversized_batches_are_refused(live_server, db, school, token):
    status, answer = post(live_server, {"receipts": [{"notice": "1", "student_id": "S1"}] * 5001}, token)
    assert status == 413 and answer["error"]["code"] == "too_large"


def call(base, method, path, body=None, token=None, content_type="application/json"):
    request = urllib.request.Request(base + path, data=body, method=method, headers={"Content-Type": content_type})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_every_api_error_has_the_one_json_shape_and_is_described(app, live_server, token, db):
    from server.web.api import MAX_RECEIPTS, OPENAPI

    app.config["MAX_CONTENT_LENGTH"] = 100_000  # the body limit of routes without their own (1 MB in production)
    too_many = json.dumps({"receipts": [{}] * (MAX_RECEIPTS + 1)}).encode()
    spec = json.loads(OPENAPI.read_text(encoding="utf-8"))
    cases = [  # (method, path, body, token, status, documented operation or None)
        ("GET", "/api/nope", None, None, 404, None),
        ("DELETE", "/api/receipts", None, token, 405, None),
        ("POST", "/api/receipts", b"{not json", token, 400, "/api/receipts"),
        ("POST", "/api/receipts", b"[]", None, 401, "/api/receipts"),
        ("POST", "/api/receipts", too_many, token, 413, "/api/receipts"),
        ("POST", "/api/receipts", b" " * 200_000, token, 413, "/api/receipts"),
        ("GET", "/api/sync/pull", None, "not-a-device", 401, "/api/sync/pull"),
    ]
    for method, path, body, bearer, status, operation in cases:
        got, headers, raw = call(live_server, method, path, body, bearer)
        assert got == status, (method, path, raw[:200])
        assert headers["Content-Type"].startswith("application/json"), (method, path)
        error = json.loads(raw)["error"]
        assert set(error) == {"code", "message"} and error["code"] and error["message"], (method, path)
        if operation:
            assert str(status) in spec["paths"][operation][method.lower()]["responses"], (method, path, status)
    assert "POST" in call(live_server, "DELETE", "/api/receipts", None, token)[1]["Allow"]


def test_staff_pages_keep_their_html_error_pages(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response.content_type.startswith("text/html")


def post_bytes(base: str, path: str, size: int, token: str | None = None, form: bool = False) -> int:
    """POST ``size`` bytes to ``path``; the status."""
    headers = {"Content-Type": "application/x-www-form-urlencoded" if form else "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        with urllib.request.urlopen(urllib.request.Request(base + path, data=b"a=" + b"b" * (size - 2), method="POST",
                                                           headers=headers), timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize("path, form", [("/api/sync/enroll", False), ("/api/receipts", False), ("/ivr/voice", True),
                                        ("/login", True)])
def test_a_body_larger_than_the_route_takes_is_refused_unread(live_server, token, path, form):
    """The web server spools a body to disk; the app refuses it by its declared length, never
    reading it into memory (before: a 190 MB enrolment post took 493 MB)."""
    assert post_bytes(live_server, path, 3 * 1024 * 1024, token=token, form=form) == 413


def test_bodies_within_each_routes_limit_still_arrive(live_server, db, school, token):
    status, answer = post(live_server, {"receipts": [{"notice": "1", "student_id": "S1"}] * 5001}, token)
    assert status == 413 and answer["error"]["code"] == "too_large"  # ~250 KB: read, then judged by count
    assert post_bytes(live_server, "/api/sync/push", 4 * 1024 * 1024) == 401  # a kiosk's big push: read, then no token


@pytest.mark.parametrize("cursor", ["0.0.999999999999999999", "0.0.99999999999", "5.7.1"])
def test_a_kiosk_cursor_from_the_far_future_is_no_server_error(live_server, db, school, cursor):
    from server import devices

    _device_id, token, _name = devices.enrol(db, devices.new_code(db, "Lobby desk"))
    status, _headers, raw = call(live_server, "GET", f"/api/sync/pull?cursor={cursor}", None, token)
    assert status == 200 and json.loads(raw)["cursor"]

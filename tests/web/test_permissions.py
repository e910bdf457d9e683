"""Who may open what: every role against every staff route, as a table."""

import pytest

from server import devices
from tests.builders import make_notice
from tests.conftest import csrf_token

ROLES = ("anonymous", "teacher_other", "teacher", "office", "admin")
LOGINS = {"teacher_other": ("t3b", "teacher-pass"), "teacher": ("t3a", "teacher-pass"),
          "office": ("office", "office-pass"), "admin": ("admin", "admin-pass")}

# route -> expected status per role, in ROLES order (302: sent to sign in)
MATRIX = {
    "/":                                   (302, 200, 200, 200, 200),
    "/notices/{notice}":                   (302, 404, 200, 200, 200),
    "/notices/{notice}/unread.csv":        (302, 404, 200, 200, 200),
    "/notices/{notice}/channels.svg":      (302, 404, 200, 200, 200),
    "/families":                           (302, 200, 200, 200, 200),
    "/families/{family}":                  (302, 404, 200, 200, 200),
    "/families/{family}/bulletin.pdf":     (302, 403, 403, 200, 200),
    "/reports/class/3A/{week}.html":       (302, 404, 200, 200, 200),
    "/unreached":                          (302, 200, 200, 200, 200),
    "/scans":                              (302, 403, 403, 200, 200),
    "/review":                             (302, 403, 403, 200, 200),
    "/settings":                           (302, 403, 403, 200, 200),
    "/notices/new":                        (302, 200, 200, 200, 200),
}


@pytest.mark.parametrize("role", ROLES)
def test_the_matrix(app, staff, db, school, role):
    from server import clock, settings

    notice = make_notice(db, classes=["3A"])
    values = {"notice": notice, "family": school["S1"], "week": clock.iso_week(clock.now(), settings.zone(db))}
    client = app.test_client()
    if role in LOGINS:
        username, password = LOGINS[role]
        client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(client)})
    got = {route: client.get(route.format(**values)).status_code for route in MATRIX}
    expected = {route: codes[ROLES.index(role)] for route, codes in MATRIX.items()}
    assert got == expected


def test_volunteers_and_devices_never_get_the_staff_web_or_phone_numbers(app, staff, db, school):
    client = app.test_client()
    assert client.post("/login", data={"username": "vol", "password": "2468",
                                       "csrf_token": csrf_token(client)}).status_code == 403
    assert client.get("/families").status_code == 302
    _id, token, _name = devices.enrol(db, devices.new_code(db, "desk"))
    pulled = client.get("/api/sync/pull?cursor=0.0", headers={"Authorization": f"Bearer {token}"})
    assert pulled.status_code == 200 and b"13800138001" not in pulled.data and b"+86" not in pulled.data
    devices.revoke(db, _id)
    assert client.get("/api/sync/pull?cursor=0.0", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/api/sync/pull?cursor=0.0").status_code == 401

"""The help desk: who may open what, and slowing down PIN and family-code guessing."""

import pytest

from kiosk import sync
from kiosk.app import create_kiosk_app
from server import ratelimit
from tests.builders import make_notice
from tests.conftest import csrf_token


@pytest.fixture
def kiosk_client(kiosk_db, tmp_path):
    return create_kiosk_app(tmp_path / "kiosk.db").test_client()


def test_kiosk_pins_and_family_codes(kiosk_client, db, school):
    token = csrf_token(kiosk_client)
    for _ in range(ratelimit.PIN.attempts):
        kiosk_client.post("/login", data={"username": "vol", "pin": "0000", "csrf_token": token})
    blocked = kiosk_client.post("/login", data={"username": "vol", "pin": "246813", "csrf_token": token})
    assert blocked.status_code == 429
    kiosk_client.post("/login", data={"username": "vol", "pin": "246813", "csrf_token": token},
                      environ_base={"REMOTE_ADDR": "10.3.3.3"})
    real = db["families"].get(school["S1"])["code"]
    assert real in kiosk_client.get(f"/?q={real}").get_data(as_text=True)
    for wrong in range(ratelimit.FAMILY_CODE.attempts):
        kiosk_client.get(f"/?q={wrong:05d}")
    page = kiosk_client.get(f"/?q={real}").get_data(as_text=True)
    assert "家庭编号错误次数过多" in page and f"/family/{school['S1']}" not in page


# route -> (anonymous, volunteer); 302 for anonymous: sent to the PIN page
KIOSK_MATRIX = {
    ("GET", "/login"): (200, 200),
    ("POST", "/login"): (401, 401),
    ("POST", "/lang/en"): (302, 302),
    ("GET", "/"): (302, 200),
    ("GET", "/family/{family}"): (302, 200),
    ("POST", "/family/{family}/notice/{notice}"): (302, 302),
    ("POST", "/family/{family}/undo"): (302, 302),
    ("POST", "/family/{family}/concern"): (302, 302),
    ("GET", "/audio/{sha}.ogg"): (302, 404),  # signed in: no such clip on this kiosk
    ("POST", "/sync"): (302, 302),
    ("POST", "/scan-frame"): (302, 200),
    ("GET", "/static/kiosk.css"): (200, 200),
    ("POST", "/logout"): (302, 302),  # last: it ends the session
}


def test_the_kiosk_matrix_covers_every_route(kiosk_db, tmp_path, db, school):
    notice = make_notice(db, reply_options=[])
    sync.sync(kiosk_db)
    app = create_kiosk_app(tmp_path / "kiosk.db")
    values = {"family": school["S1"], "notice": notice, "sha": "0" * 64}
    for role in ("anonymous", "volunteer"):
        client = app.test_client()
        token = csrf_token(client)
        if role == "volunteer":
            client.post("/login", data={"username": "vol", "pin": "246813", "csrf_token": token})
        for (method, route), codes in KIOSK_MATRIX.items():
            url = route.format(**values)
            if method == "GET":
                reply = client.get(url)
                reply.close()
            else:
                body = {"username": "vol", "pin": "0000"} if route == "/login" else {}
                reply = client.post(url, data={**body, "csrf_token": token})
            assert reply.status_code == codes[role == "volunteer"], (role, method, url)
            assert reply.headers["X-Content-Type-Options"] == "nosniff", url
            assert "frame-ancestors 'none'" in reply.headers["Content-Security-Policy"], url
    adapter = app.url_map.bind("localhost")
    covered = {(m, adapter.match(r.format(**values), m)[0]) for m, r in KIOSK_MATRIX}
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, rule.endpoint) in covered, f"{method} {rule.rule} has no row in KIOSK_MATRIX"


def test_next_never_leaves_the_site(kiosk_client):
    token = csrf_token(kiosk_client)
    kiosk_client.post("/login", data={"username": "vol", "pin": "246813", "csrf_token": token})
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        reply = kiosk_client.post("/lang/en", data={"next": target, "csrf_token": token})
        assert reply.headers["Location"] in ("/", "http://localhost/")


def test_hostile_names_and_notices_are_text_at_the_desk(kiosk_client, kiosk_db, db, school):
    db.execute("UPDATE families SET display_name = '<script>alert(1)</script>' WHERE id = ?", [school["S1"]])
    db.execute("UPDATE students SET name = '<img src=x onerror=alert(2)>' WHERE family_id = ?", [school["S1"]])
    make_notice(db, texts={"zh-Hans": ("<b>bold</b> & co", "<svg onload=alert(3)>")}, reply_options=["attend"])
    sync.sync(kiosk_db)
    token = csrf_token(kiosk_client)
    kiosk_client.post("/login", data={"username": "vol", "pin": "246813", "csrf_token": token})
    pages = [kiosk_client.get("/?q=" + db["families"].get(school["S1"])["code"]).get_data(as_text=True),
             kiosk_client.get(f"/family/{school['S1']}").get_data(as_text=True)]
    for page in pages:
        for raw in ("<script>alert", "<img src=x", "<svg onload", "<b>bold"):
            assert raw not in page
    assert "&lt;svg onload=alert(3)&gt;" in pages[1] and "&lt;script&gt;" in pages[0]

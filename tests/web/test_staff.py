from urllib.parse import urlsplit

import pytest

from server import ledger
from tests.builders import make_notice
from tests.conftest import csrf_token


def test_pages_need_sign_in(client, staff):
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_wrong_password_and_lockout(client, login, staff, db):
    assert login("office", "nope").status_code == 401
    for _ in range(5):
        login("office", "nope")
    assert login("office", "office-pass").status_code == 401  # locked now
    db.execute("UPDATE users SET locked_until = NULL WHERE username = 'office'")
    assert login("office", "office-pass").status_code == 302


def test_volunteers_use_the_kiosk_not_the_staff_web(login, staff):
    assert login("vol", "246813").status_code == 401  # unknown here: the same answer and cost as any wrong name


def test_forms_need_a_csrf_token(client, staff):
    response = client.post("/login", data={"username": "office", "password": "office-pass"})
    assert response.status_code == 400


def test_teacher_sees_only_own_classes(client, login, staff, db, school):
    own = make_notice(db, classes=["3A"])
    other = make_notice(db, classes=["3B"], texts={"en": ("Other class trip", "x")})
    whole = make_notice(db, classes=None, texts={"en": ("Whole school day", "x")})
    login("t3a", "teacher-pass")
    index = client.get("/").get_data(as_text=True)
    assert "Other class trip" not in index and "Whole school day" in index
    assert client.get(f"/notices/{own}").status_code == 200
    assert client.get(f"/notices/{other}").status_code == 404
    page = client.get(f"/notices/{whole}").get_data(as_text=True)
    assert "Amy Lee" not in page and "王小明" in page  # 3B's family is not shown to 3A's teacher
    assert client.get(f"/families/{school['S1']}").status_code == 200
    assert client.get(f"/families/{school['S3']}").status_code == 404
    assert "Amy Lee" not in client.get("/families").get_data(as_text=True)


def test_office_writes_a_notice_through_the_form(client, login, staff, db):
    login("office", "office-pass")
    token = csrf_token(client, "/notices/new")
    response = client.post("/notices/new", data={
        "csrf_token": token, "title_zh-Hans": "家长会", "body_zh-Hans": "周三下午", "audience": "classes",
        "classes": ["3A", "3B"], "requires_confirmation": "on", "reply": ["yes", "no"]})
    assert response.status_code == 302
    notice_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert "家长会" in page and "0</b> / 3" in page


def test_a_bad_notice_form_keeps_what_was_typed(client, login, staff):
    login("office", "office-pass")
    token = csrf_token(client, "/notices/new")
    response = client.post("/notices/new", data={"csrf_token": token, "title_en": "Only a title", "audience": "classes",
                                                  "classes": ["3A"]})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "版本需要同时有标题和正文" in page and 'value="Only a title"' in page


def test_teacher_cannot_send_to_the_whole_school(client, login, staff):
    login("t3a", "teacher-pass")
    token = csrf_token(client, "/notices/new")
    response = client.post("/notices/new", data={"csrf_token": token, "title_en": "T", "body_en": "B",
                                                  "audience": "school"})
    assert response.status_code == 400
    response = client.post("/notices/new", data={"csrf_token": token, "title_en": "T", "body_en": "B",
                                                  "audience": "classes", "classes": ["3B"]})
    assert response.status_code == 400


def test_notice_page_shows_combined_status(client, login, staff, db, school):
    notice_id = make_notice(db)
    ledger.record(db, [ledger.new_event(notice_id, school["S1"], "digital", "read"),
                       ledger.new_event(notice_id, school["S2"], "paper", "reply", payload={"choice": "attend"})])
    login("office", "office-pass")
    page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert "1</b> / 2" in page  # one done of two
    assert "“参加”: <b>1</b>" in page
    open_only = client.get(f"/notices/{notice_id}?show=open").get_data(as_text=True)
    assert "王小明" in open_only and "陳美玲" not in open_only


def test_language_switch(client, login, staff):
    login("office", "office-pass")
    token = csrf_token(client, "/")
    client.post("/lang/zh_Hant", data={"csrf_token": token, "next": "/"})
    assert "登出" in client.get("/").get_data(as_text=True)
    client.post("/lang/en", data={"csrf_token": token, "next": "/"})
    assert "Sign out" in client.get("/").get_data(as_text=True)


def test_security_headers(client):
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_names_are_escaped(client, login, staff, db, school):
    db.execute("UPDATE families SET display_name = '<script>alert(1)</script>' WHERE id = ?", [school["S1"]])
    make_notice(db, texts={"en": ("<img src=x onerror=alert(1)>", "body")})
    login("office", "office-pass")
    assert "<script>alert" not in client.get("/families").get_data(as_text=True)
    assert "<img src=x" not in client.get("/").get_data(as_text=True)


HOSTILE_NEXT = ["//evil.example/x", "/%09/evil.example", "/\t/evil.example", "/\\evil.example", "/%5Cevil.example",
                "https://evil.example/", "/%0d%0aSet-Cookie:%20x=1", "/\r\nLocation: //evil.example", "/ /evil.example",
                "javascript:alert(1)", "/\x7f/evil.example"]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_open_redirect_is_refused(client, staff, target):
    token = csrf_token(client)
    response = client.post("/login", query_string={"next": target},
                           data={"username": "office", "password": "office-pass", "csrf_token": token})
    assert response.status_code == 302 and stays_on_site(response.headers["Location"])


def stays_on_site(location: str) -> bool:
    """What a browser would not take off the site (it drops tabs and newlines, reads \\ as /)."""
    cleaned = "".join(c for c in location if c not in "\t\r\n").replace("\\", "/")
    return cleaned.startswith("/") and not cleaned.startswith("//") and not urlsplit(cleaned).netloc \
        and all(ord(c) > 32 for c in location)


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_the_language_switch_redirects_only_within_the_site(client, target):
    token = csrf_token(client)
    response = client.post("/lang/en", query_string={"next": target}, data={"csrf_token": token, "next": target})
    assert response.status_code == 302 and stays_on_site(response.headers["Location"])


def test_a_path_on_the_site_is_still_followed(client, staff):
    token = csrf_token(client)
    response = client.post("/login", query_string={"next": "/notices?page=2"},
                           data={"username": "office", "password": "office-pass", "csrf_token": token})
    assert response.headers["Location"] == "/notices?page=2"


def test_sign_out(client, login, staff):
    login("office", "office-pass")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert client.get("/").status_code == 302

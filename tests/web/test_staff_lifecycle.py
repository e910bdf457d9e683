"""Staff come and go: list, disable, enable, new password, new role, revoked tokens; a session
ends when the account signs out, changes or is disabled, and after `session_hours`."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from server import clock, settings, users
from server import db as database
from server.cli import cli
from tests.conftest import csrf_token


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def cookie(client) -> str:
    return client.get_cookie("session").value


def test_a_cookie_kept_after_sign_out_opens_nothing(client, login, staff):
    login("office", "office-pass")
    kept = cookie(client)
    assert signed_in(client)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    client.set_cookie("session", kept)
    assert client.get("/").status_code == 302  # sent to sign in


@pytest.mark.parametrize("change", [
    lambda db: users.set_active(db, "office", False),
    lambda db: users.reset_password(db, "office", "a-new-password"),
    lambda db: users.set_role(db, "office", "teacher", ["3A"]),
])
def test_a_change_to_the_account_ends_its_sessions(client, login, db, staff, change):
    login("office", "office-pass")
    assert signed_in(client)
    change(db)
    assert not signed_in(client)


def test_a_session_lasts_session_hours(client, login, db, staff, monkeypatch):
    settings.put(db, "session_hours", "2")
    login("office", "office-pass")
    assert signed_in(client)
    later = clock.now() + dt.timedelta(hours=2, minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert not signed_in(client)


def test_a_disabled_account_cannot_sign_in_and_enabled_again_can(client, login, db, staff):
    users.set_active(db, "office", False)
    assert login("office", "office-pass").status_code == 401
    users.set_active(db, "office", True)
    assert login("office", "office-pass").status_code == 302


def test_a_new_password_replaces_the_old_and_unlocks(client, login, db, staff):
    for _ in range(users.MAX_FAILED_LOGINS):
        login("office", "wrong-password")
    users.reset_password(db, "office", "a-new-password")
    assert login("office", "office-pass").status_code == 401
    assert login("office", "a-new-password").status_code == 302


@pytest.mark.parametrize("action, reason", [
    (lambda db: users.set_active(db, "admin", False), "last active admin"),
    (lambda db: users.set_role(db, "admin", "office"), "last active admin"),
    (lambda db: users.set_active(db, "nobody", False), "no user 'nobody'"),
    (lambda db: users.reset_password(db, "office", "short"), "at least 8"),
    (lambda db: users.reset_password(db, "vol", "12ab"), "PIN"),
    (lambda db: users.set_role(db, "office", "teacher"), "needs at least one class"),
    (lambda db: users.set_role(db, "office", "teacher", ["9Z"]), "unknown class 9Z"),
    (lambda db: users.set_role(db, "vol", "office"), "add a new account"),
])
def test_changes_that_would_lock_the_school_out_are_refused(db, staff, action, reason):
    before = list(db.query("SELECT username, role, active, password_hash, session_version FROM users ORDER BY id"))
    with pytest.raises(ValueError, match=reason):
        action(db)
    after = list(db.query("SELECT username, role, active, password_hash, session_version FROM users ORDER BY id"))
    assert after == before


def test_an_admin_cannot_disable_themselves_even_with_another_admin(db, staff):
    users.add_user(db, "admin2", "admin-pass", "admin")
    me = db.execute("SELECT id FROM users WHERE username = 'admin'").fetchone()[0]
    with pytest.raises(ValueError, match="your own account"):
        users.set_active(db, "admin", False, by=me)
    assert users.set_active(db, "admin", False) is None  # by the command line, with another admin left: fine


def test_the_command_line_lifecycle(db, staff):
    path, runner = str(database.file_of(db)), CliRunner()

    def run(*args: str, stdin: str | None = None):
        return runner.invoke(cli, [*args, "--db", path], input=stdin)

    listed = json.loads(run("user", "list", "--format", "json").stdout)
    assert {u["username"]: u["role"] for u in listed} == {
        "admin": "admin", "office": "office", "t3a": "teacher", "t3b": "teacher", "vol": "volunteer"}
    assert run("user", "disable", "t3a").exit_code == 0
    assert {u["username"]: u["state"] for u in json.loads(run("user", "list", "--format", "json").stdout)}["t3a"] \
        == "disabled"
    assert run("user", "enable", "t3a").exit_code == 0
    assert run("user", "reset-password", "t3a", stdin="brand-new-pw\nbrand-new-pw\n").exit_code == 0
    assert users.authenticate(db, "t3a", "brand-new-pw") is not None
    assert run("user", "set-role", "t3a", "teacher", "--class", "3A", "--class", "3B").exit_code == 0
    assert users.get_user(db, users.authenticate(db, "t3a", "brand-new-pw")["id"])["classes"] == ["3A", "3B"]
    refused = run("user", "disable", "admin")
    assert refused.exit_code == 1 and "last active admin" in refused.stderr and "Traceback" not in refused.output


def test_a_revoked_integration_token_stops_at_once(client, db, staff):
    token = users.add_integration(db, "wechat")
    path, runner = str(database.file_of(db)), CliRunner()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/receipts", json={"receipts": []}, headers=headers).status_code != 401
    assert runner.invoke(cli, ["integration", "revoke", "wechat", "--db", path]).exit_code == 0
    assert client.post("/api/receipts", json={"receipts": []}, headers=headers).status_code == 401
    listed = json.loads(runner.invoke(cli, ["integration", "list", "--format", "json", "--db", path]).stdout)
    assert [(i["name"], bool(i["revoked_at"])) for i in listed] == [("wechat", True)]
    again = runner.invoke(cli, ["integration", "revoke", "wechat", "--db", path])
    assert again.exit_code == 1 and "no active integration" in again.stderr


def test_the_admin_page_does_the_same(app, db, staff):
    admin, office = app.test_client(), app.test_client()
    for client, (name, password) in ((admin, ("admin", "admin-pass")), (office, ("office", "office-pass"))):
        client.post("/login", data={"username": name, "password": password, "csrf_token": csrf_token(client)})
    admin.post("/lang/en", data={"csrf_token": csrf_token(admin, "/")})
    page = admin.get("/staff").get_data(as_text=True)
    assert "office" in page and "t3a" in page
    ids = {r[0]: r[1] for r in db.execute("SELECT username, id FROM users").fetchall()}

    def post(url: str, **form):
        return admin.post(url, data={**form, "csrf_token": csrf_token(admin, "/staff")}, follow_redirects=True)

    assert signed_in(office)
    assert "disabled" in post(f"/staff/{ids['office']}", action="disable").get_data(as_text=True)
    assert not signed_in(office)
    assert "your own account" in post(f"/staff/{ids['admin']}", action="disable").get_data(as_text=True)
    post(f"/staff/{ids['office']}", action="enable")
    post(f"/staff/{ids['t3a']}", action="role", role="teacher", classes=["3A", "3B"])
    assert users.get_user(db, ids["t3a"])["classes"] == ["3A", "3B"]
    assert "at least 8" in post(f"/staff/{ids['t3b']}", action="password", password="short").get_data(as_text=True)
    post("/staff", username="wang", display_name="王老师", role="teacher", classes=["3B"], password="wang-pass-1")
    assert users.authenticate(db, "wang", "wang-pass-1")["classes"] == ["3B"]
    shown = post("/staff/integrations", name="class-app").get_data(as_text=True)
    token = shown.split("pbi_", 1)[1].split("<", 1)[0].split()[0]
    assert users.integration_for_token(db, "pbi_" + token) == "class-app"
    post("/staff/integrations/class-app/revoke")
    assert users.integration_for_token(db, "pbi_" + token) is None


def test_only_the_admin_sees_the_staff_page(client, login, staff):
    login("office", "office-pass")
    assert client.get("/staff").status_code == 403
    assert "/staff" not in client.get("/").get_data(as_text=True)

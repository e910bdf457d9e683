"""`paperbridge doctor` tells a school's IT person what is wrong with an installation, and how to fix it."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server import backup, clock, settings
from server.cli.doctor import backup_age, file_modes, proxy, secret_age, twilio, volunteer_pins

PB = str(Path(sys.executable).parent / "paperbridge")


def states(findings) -> list[tuple[str, str]]:
    return [(f.check, f.state) for f in findings]


@pytest.mark.parametrize("env, base_url, state, words", [
    ({}, "http://127.0.0.1:5000", "ok", "no proxy"),
    ({}, "https://school.example.org", "warn", "PAPERBRIDGE_PROXY_HOPS is not set"),
    ({"PAPERBRIDGE_PROXY_HOPS": "1"}, "https://school.example.org", "ok", "1 proxy hop"),
    ({"PAPERBRIDGE_PROXY_HOPS": "one"}, "https://school.example.org", "fail", "not a number"),
    ({}, "http://192.168.1.20:5000", "warn", "unencrypted"),
])
def test_proxy_settings(db, env, base_url, state, words):
    settings.put(db, "base_url", base_url)
    [finding] = proxy(db, env)
    assert finding.state == state and words in finding.found


@pytest.mark.parametrize("env, state, words", [
    ({}, "ok", "dry run"),
    ({"TWILIO_AUTH_TOKEN": "abc"}, "fail", "without TWILIO_ACCOUNT_SID"),
    ({"TWILIO_ACCOUNT_SID": "AC123"}, "fail", "without TWILIO_AUTH_TOKEN"),
    ({"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": "abc"}, "fail", "cannot reach"),
    ({"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": "abc", "TWILIO_NUMBER": "+85230000000",
      "PAPERBRIDGE_PUBLIC_URL": "https://school.example.org"}, "ok", "live"),
    ({"PAPERBRIDGE_IVR_INSECURE": "1"}, "fail", "not checked"),
])
def test_twilio_settings(db, env, state, words):
    findings = twilio(db, env)
    assert findings[0].state == state and words in findings[0].found, findings


def test_secret_and_backup_age(db, tmp_path, monkeypatch):
    assert states(secret_age(db, {})) == [("school secret", "ok")]
    assert states(backup_age(db, {})) == [("backups", "warn")]
    backup.backup(db, tmp_path / "b.db")
    assert states(backup_age(db, {})) == [("backups", "ok")]
    later = clock.now() + dt.timedelta(days=400)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert states(backup_age(db, {})) == [("backups", "warn")]
    assert "400 days old" in secret_age(db, {})[0].found
    settings.rotate_secret(db)
    assert states(secret_age(db, {})) == [("school secret", "ok")]


def test_a_secret_from_before_the_record_is_a_warning(db):
    db.execute("DELETE FROM settings WHERE key LIKE 'secret_made:%'")
    assert states(secret_age(db, {})) == [("school secret", "warn")]


def test_a_missing_backup_disk_is_a_warning(db, tmp_path):
    backup.backup(db, tmp_path / "usb" / "b.db")
    (tmp_path / "usb" / "b.db").unlink()
    assert "not there any more" in backup_age(db, {})[0].found


def test_file_modes_are_read_before_the_database_is_opened(db_path, db):
    os.chmod(db_path, 0o644)
    assert states(file_modes(db_path)) == [("database files", "fail")]
    os.chmod(db_path, 0o600)
    assert states(file_modes(db_path)) == [("database files", "ok")]


def test_the_command_fails_on_what_must_be_fixed_and_says_how(db_path, db):
    os.chmod(db_path, 0o644)
    env = {**os.environ, "TWILIO_AUTH_TOKEN": "abc"}
    env.pop("TWILIO_ACCOUNT_SID", None)
    result = subprocess.run([PB, "--db", str(db_path), "doctor", "--format", "json"], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 1
    found = {f["check"]: f for f in json.loads(result.stdout)}
    assert found["database files"]["state"] == "fail" and found["phone line"]["state"] == "fail"
    assert "TWILIO_ACCOUNT_SID" in found["phone line"]["fix"]
    assert oct(os.stat(db_path).st_mode)[-3:] == "600"  # and opening it fixed the mode
    env.pop("TWILIO_AUTH_TOKEN")
    again = subprocess.run([PB, "--db", str(db_path), "doctor"], capture_output=True, text=True, env=env, timeout=60)
    assert again.returncode == 0 and "backups" in again.stdout


def test_volunteer_pins_the_kiosks_hold_are_long_and_costly(db, school):
    from server import users
    with pytest.raises(ValueError, match="at least 6 digits"):
        users.add_user(db, "short", "2468", "volunteer")
    users.add_user(db, "vol", "246813", "volunteer")
    stored = db.execute("SELECT password_hash FROM users WHERE username = 'vol'").fetchone()[0]
    assert stored.startswith("scrypt:65536:8:1$")
    assert states(volunteer_pins(db, {})) == [("volunteer PINs", "ok")]
    db.execute("UPDATE users SET password_hash = 'scrypt:32768:8:1$old$hash' WHERE username = 'vol'")  # made before
    [finding] = volunteer_pins(db, {})
    assert finding.state == "warn" and "vol" in finding.found and "reset-password" in finding.fix

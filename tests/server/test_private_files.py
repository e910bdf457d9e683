"""The school's files are owner-only: another account on the office PC must not read the secret."""

import logging
import os
import stat
import subprocess
import sys

import pytest

from kiosk import store
from server import db as database
from server import private

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX; Windows uses ACLs (docs)")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def paperbridge(*args, cwd):
    """The real command, in its own process, with the usual umask of a desktop session (022)."""
    code = "import os, sys; os.umask(0o022); from server.cli import main; sys.argv = ['paperbridge', *sys.argv[1:]]; main()"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_init_and_backup_write_owner_only_files(tmp_path):
    school = tmp_path / "school.db"
    made = paperbridge("--db", str(school), "init", "--school-name", "Riverside", "--school-id", "RSP",
                       "--region", "HK", "--timezone", "Asia/Hong_Kong", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    backed = paperbridge("--db", str(school), "backup", str(tmp_path / "copy.db"), cwd=tmp_path)
    assert backed.returncode == 0, backed.stderr
    written = [p for p in tmp_path.iterdir() if p.is_file()]
    assert {p.name for p in written} >= {"school.db", "copy.db"}
    assert {p.name: mode(p) for p in written} == {p.name: 0o600 for p in written}


def test_a_new_database_its_wal_and_its_evidence_folder_are_private(tmp_path):
    old = os.umask(0o022)
    try:
        db = database.connect(tmp_path / "new.db")
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (1)")
        folder = database.evidence_dir(db)
        for name in ("new.db", "new.db-wal", "new.db-shm"):
            assert mode(tmp_path / name) == 0o600, name
        assert mode(folder) == 0o700
        db.close()
    finally:
        os.umask(old)


def test_an_existing_shared_database_is_made_private_with_a_log_line(tmp_path, caplog):
    path = tmp_path / "old.db"
    database.connect(path).close()
    for name in ("old.db", "old.db-wal", "old.db-shm"):
        if (tmp_path / name).exists():
            os.chmod(tmp_path / name, 0o644)
    with caplog.at_level(logging.WARNING, logger="paperbridge.files"):
        database.connect(path).close()
    assert mode(path) == 0o600
    assert "could be read by other accounts" in caplog.text and "old.db" in caplog.text


def test_the_kiosk_database_with_its_device_token_is_private(tmp_path):
    old = os.umask(0o022)
    try:
        store.connect(tmp_path / "kiosk.db").close()
    finally:
        os.umask(old)
    assert mode(tmp_path / "kiosk.db") == 0o600


def test_a_shared_database_that_cannot_be_fixed_stops_the_program_with_a_sentence(tmp_path, monkeypatch):
    path = tmp_path / "school.db"
    database.connect(path).close()
    os.chmod(path, 0o644)

    def not_the_owner(*_args, **_kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(private.os, "chmod", not_the_owner)  # root can chmod anything; a user cannot
    with pytest.raises(private.SharedFiles, match=r"other accounts .* `chmod 600 .*school\.db`"):
        database.connect(path)
    from click.testing import CliRunner

    from server.cli import cli
    result = CliRunner().invoke(cli, ["--db", str(path), "notice", "list"])
    assert result.exit_code == 1 and "chmod 600" in result.output and "Traceback" not in result.output

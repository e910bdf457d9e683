"""Shared fixtures: a real SQLite file per test, the Flask app, a live WSGI server, Chromium."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from server import db as database
from server import settings, users
from server.app import create_app
from server.serving import BackgroundServer
from tests.builders import small_school

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "school.db"


@pytest.fixture
def db(db_path: Path):
    connection = database.connect(db_path)
    settings.initialize(connection, school_id="TEST", default_region="CN", timezone="Asia/Shanghai")
    yield connection
    connection.close()


@pytest.fixture
def school(db, tmp_path):
    """A small school: three families in classes 3A and 3B. Returns family ids by student id."""
    return small_school(db, tmp_path)


@pytest.fixture
def staff(db, school):
    """Staff of every role (password hashing is slow: only tests that sign in use this)."""
    users.add_user(db, "admin", "admin-pass", "admin")
    users.add_user(db, "office", "office-pass", "office")
    users.add_user(db, "t3a", "teacher-pass", "teacher", classes=["3A"])
    users.add_user(db, "t3b", "teacher-pass", "teacher", classes=["3B"])
    users.add_user(db, "vol", "246813", "volunteer")
    return school


@pytest.fixture
def app(db, db_path):
    return create_app({"DATABASE": str(db_path), "TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(client, url: str = "/login") -> str:
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def signed_in_page(browser, base: str, username: str, password: str, **options):
    """A Chromium context and page signed in as ``username`` (the caller closes the context)."""
    options = {"viewport": {"width": 1366, "height": 900}, "locale": "zh-CN", **options}
    context = browser.new_context(**options)
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button.primary")
    return context, page


@pytest.fixture
def login(client):
    def do(username: str, password: str):
        token = csrf_token(client)
        return client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    return do


@pytest.fixture
def live_server(app):
    """The app behind a real waitress server on a free loopback port."""
    with BackgroundServer(app) as server:
        yield server.url


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run ./run.sh test, which installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    from server import demo

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    demo.build(path)
    return path


@pytest.fixture
def school_copy(demo_db, tmp_path):
    """A private copy of the demo school (scans write to the ledger)."""
    import shutil

    from server import db as database

    path = tmp_path / "school.db"
    shutil.copy(demo_db, path)
    connection = database.connect(path)
    yield connection
    connection.close()


@pytest.fixture
def printed_4a(school_copy, tmp_path):
    """Class 4A's bulletins for this week, as printed."""
    from print.bulletin import print_bulletins
    from server import clock, settings

    week = clock.iso_week(clock.now(), settings.zone(school_copy))
    return print_bulletins(school_copy, week, out=tmp_path / "4A.pdf", classes=["4A"]).out


def pytest_report_header(config):
    from server import clock

    if os.environ.get(clock.ENV_VAR):
        return f"clock started at {os.environ[clock.ENV_VAR]} (PAPERBRIDGE_NOW): now reads {clock.now_iso()}"
    return None
